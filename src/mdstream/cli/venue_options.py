"""mdstream serve's paper venue: --paper-venue, --accounts FILE.toml,
--venue-latency, --queue-position, and the accounts file.

The accounts file is TOML, a table per account with the fields of
mdstream.venue.Account (any left out keep Account's default)::

    [accounts.paper]
    fee_bps = 1.0
    max_order_qty = 1000
    max_orders_per_s = 20

    [accounts.desk2]
    max_position = 5000
    price_collar_bps = 500

Errors name the file and the key: ``accounts.toml: accounts.paper:
unknown setting 'fee_bp'; did you mean 'fee_bps'?``,
``accounts.toml: accounts.desk2.max_position: expected a number, got "5k"``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import math
from typing import Any

from mdstream.cli import options
from mdstream.cli.process import CommandError

__all__ = ["add_venue_options", "venue_config", "load_accounts"]


def add_venue_options(p: argparse.ArgumentParser) -> None:
    """--paper-venue and its options (serve)."""
    g = p.add_argument_group("paper trading (orders matched against the engine's market data)")
    g.add_argument("--paper-venue", action="store_true",
                   help="take orders (the Trade, GetOrders and GetPositions RPCs; mdstream order, "
                        "mdstream positions) and match them against the feed's quotes and trades "
                        "(default: off, the server takes no orders)")
    g.add_argument("--accounts", default=None, metavar="FILE.toml",
                   help="the venue's accounts and their limits: a TOML file of [accounts.NAME] "
                        "tables with the fields of mdstream.venue.Account (fee_bps, "
                        "max_order_qty, max_notional, max_position, max_open_orders, "
                        "price_collar_bps, max_orders_per_s) (default: one account 'paper' "
                        "without limits)")
    g.add_argument("--venue-latency", type=options.duration(zero=True), default=0.0,
                   metavar="DURATION",
                   help="delay every order request by this much event time before the venue "
                        "sees it (seconds or with a unit: 5ms) (default: 0)")
    g.add_argument("--queue-position", action="store_true",
                   help="a resting limit order waits behind the size quoted at its price when it "
                        "arrived before trades at that price fill it (default: off, it fills at "
                        "the first trade at its price)")


def venue_config(args: argparse.Namespace) -> Any:
    """The PaperVenue of --paper-venue and its options, or None without it.
    CommandError for options of the venue without --paper-venue, or a bad
    accounts file (the message names the file and the key)."""
    given = [flag for flag, value in (("--accounts", getattr(args, "accounts", None)),
                                      ("--venue-latency", getattr(args, "venue_latency", 0.0) or None),
                                      ("--queue-position",
                                       getattr(args, "queue_position", False) or None))
             if value is not None]
    if not getattr(args, "paper_venue", False):
        if given:
            raise CommandError(f"{', '.join(given)}: options of --paper-venue; add --paper-venue "
                               "to take orders")
        return None
    from mdstream.errors import InvalidArgumentError
    from mdstream.venue import PaperVenue

    kwargs: dict[str, Any] = {"latency_ns": round(args.venue_latency * 1e9),
                              "queue_position": bool(args.queue_position)}
    if args.accounts is not None:
        kwargs["accounts"] = load_accounts(args.accounts)
    try:
        return PaperVenue(**kwargs)
    except InvalidArgumentError as exc:
        raise CommandError(f"--paper-venue: {exc}") from None


def _number(path: str, where: str, value: Any, field: dataclasses.Field) -> Any:
    """An Account field's value from TOML: a number (a whole number for an
    integer field such as max_open_orders)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(f"{path}: {where}: expected a number, got {value!r}")
    kind = str(field.type)
    if "int" in kind and "float" not in kind:
        if isinstance(value, float):
            if not value.is_integer():
                raise CommandError(f"{path}: {where}: expected a whole number, got {value!r}")
            value = int(value)
    if isinstance(value, float) and math.isnan(value):
        raise CommandError(f"{path}: {where}: expected a number, got nan")
    return value


def load_accounts(path: str) -> dict[str, Any]:
    """The Accounts of an accounts file, by name (see the module).
    CommandError naming the file and the key for anything wrong."""
    from mdstream.cli.settings import SettingsError, read_file
    from mdstream.errors import InvalidArgumentError
    from mdstream.venue import Account

    try:
        table = read_file(path)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    extra = sorted(set(table) - {"accounts"})
    if extra:
        raise CommandError(f"{path}: unknown table {extra[0]!r}: an accounts file holds "
                           "[accounts.NAME] tables only")
    accounts = table.get("accounts")
    if not isinstance(accounts, dict) or not accounts:
        raise CommandError(f"{path}: no accounts: add a table per account, e.g. "
                           "[accounts.paper] with fee_bps = 1.0")
    fields = {f.name: f for f in dataclasses.fields(Account)}
    out = {}
    for name, entry in accounts.items():
        where = f"accounts.{name}"
        if not isinstance(entry, dict):
            raise CommandError(f"{path}: {where}: expected a table ([{where}]) of "
                               f"{', '.join(fields)}, got {entry!r}")
        values = {}
        for key, value in entry.items():
            field = fields.get(key)
            if field is None:
                near = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                hint = (f"; did you mean {near[0]!r}?" if near
                        else f"; an account's settings are {', '.join(fields)}")
                raise CommandError(f"{path}: {where}: unknown setting {key!r}{hint}")
            values[key] = _number(path, f"{where}.{key}", value, field)
        try:
            out[name] = Account(**values)
        except (InvalidArgumentError, ValueError, TypeError) as exc:
            raise CommandError(f"{path}: {where}: {exc}") from None
    return out
