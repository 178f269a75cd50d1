"""mdstream order and mdstream positions: paper trading from the command line.

    mdstream order --account paper --symbol AAPL buy 100 --limit 189.50
    mdstream order --account paper --symbol AAPL sell 50             # a market order
    mdstream order --account paper cancel 1764512345678              # by its cl_ord_id
    mdstream order --account paper cancel --all [--symbol AAPL]
    mdstream positions [--account paper] [--json]

``order`` sends one request over a Trade call and prints the execution
reports of its order until the order is done (filled, cancelled, rejected,
expired) or --wait passes; an order still open then stays open (the session
does not cancel on disconnect). ``cancel --all`` prints the CANCELED report
of each order that was open. Exit status 0 when the venue took the request,
1 when it was rejected (or the server could not take it).
"""

from __future__ import annotations

import argparse
import enum
import json
import time
from typing import TYPE_CHECKING, Any

from mdstream.cli import options
from mdstream.cli.output import amount, px, qty
from mdstream.cli.process import EXIT_ERROR, error, sigterm_as_interrupt, usage_error
from mdstream.text import printable

if TYPE_CHECKING:
    from mdstream.venue import ExecutionReport, OrderState, Position

__all__ = ["add_parser", "run_order", "run_positions", "report_line", "next_cl_ord_id"]

ORDER_DESCRIPTION = (
    "Send one order (buy or sell QTY of --symbol: a market order, or --limit/--stop) or a "
    "cancel to a server's paper venue (mdstream serve --paper-venue), and print the execution "
    "reports of the order until it is done or --wait passes.")
POSITIONS_DESCRIPTION = (
    "Print the open orders and the positions (with mark and unrealized P&L) of an account of a "
    "server's paper venue, or of every account.")

#: OrdStatus values (FIX 39) of an order that is done.
_DONE = (2, 4, 8, 12)
_REJECTED = 8
_MAX_CL_ORD_ID = 2**47 - 1
#: --tif's choices: mdstream.grpc.trade_wire.TIFS (not imported to build the
#: parser: grpc loads only when a command needs it).
TIFS = ("day", "gtc", "ioc", "fok", "gtd")


def next_cl_ord_id() -> int:
    """A fresh cl_ord_id: the wall clock in microseconds, within 1..2**47-1."""
    return time.time_ns() // 1000 % _MAX_CL_ORD_ID or 1


def _cl_ord_id(text: str) -> int:
    value = options.positive_int(text)
    if value > _MAX_CL_ORD_ID:
        raise argparse.ArgumentTypeError(f"a cl_ord_id is 1 to {_MAX_CL_ORD_ID}, got {text}")
    return value


def add_parser(sub) -> None:
    """Add the order and positions commands to the subparsers ``sub``."""
    p = sub.add_parser("order", help="send an order (or a cancel) to a paper venue",
                       description=ORDER_DESCRIPTION)
    options.add_target_option(p)
    p.add_argument("action", choices=("buy", "sell", "cancel"),
                   help="buy or sell QTY, or cancel CL_ORD_ID (or --all)")
    p.add_argument("value", nargs="?", default=None, metavar="QTY|CL_ORD_ID",
                   help="buy/sell: the quantity; cancel: the cl_ord_id of the order to cancel")
    p.add_argument("--account", default="paper",
                   help="the venue's account (default: paper)")
    p.add_argument("--symbol", default=None, help="the symbol to trade (buy, sell; cancel --all: "
                                                   "only this symbol's orders)")
    p.add_argument("--limit", type=float, default=None, metavar="PX",
                   help="a limit order at this price (with --stop: a stop-limit) "
                        "(default: a market order)")
    p.add_argument("--stop", type=float, default=None, metavar="PX",
                   help="a stop order triggered when this price trades (default: none)")
    p.add_argument("--tif", choices=TIFS, default="gtc",
                   help="time in force (default: gtc)")
    p.add_argument("--expire", type=int, default=None, metavar="NS",
                   help="with --tif gtd: the expiry, ns since the epoch in event time")
    p.add_argument("--post-only", action="store_true",
                   help="reject a limit order that would cross the quote (default: off)")
    p.add_argument("--cl-ord-id", type=_cl_ord_id, default=None, metavar="N",
                   help="the order's (or the cancel's) cl_ord_id, unique per account "
                        "(default: the clock in microseconds)")
    p.add_argument("--all", action="store_true",
                   help="cancel: every open order of the account (of --symbol)")
    p.add_argument("--wait", type=options.duration(zero=True), default=5.0, metavar="SECONDS",
                   help="print the order's reports until it is done or this long has passed, "
                        "in seconds or with a unit (default: 5)")
    p.set_defaults(func=run_order)

    q = sub.add_parser("positions", help="the open orders and positions of a paper venue",
                       description=POSITIONS_DESCRIPTION)
    options.add_target_option(q)
    q.add_argument("--account", default=None,
                   help="only this account (default: every account the caller may trade)")
    q.add_argument("--json", action="store_true",
                   help="print one JSON object {orders: [...], positions: [...]} instead of tables")
    q.set_defaults(func=run_positions)


# -- printing ------------------------------------------------------------------------

def _name(code: Any) -> str:
    """The name of a code (mdstream.venue.codes), '-' for none."""
    return "-" if code is None else code.name


def report_line(r: "ExecutionReport") -> str:
    """One execution report, for a person."""
    exec_type = _name(r.exec_type)
    status = _name(r.ord_status)
    side = _name(r.side).lower()
    ord_type = _name(r.ord_type).lower()
    tif = _name(r.tif).lower()
    if r.ord_type:
        what = f"{side} {qty(r.quantity)} {printable(r.symbol)} {ord_type}"
        if r.ord_type in (2, 4):                    # limit, stop-limit: the limit price
            what += f" {px(r.price)}"
        if r.ord_type == 3:                         # stop: its trigger price
            what += f" {px(r.stop_price)}"
        if r.ord_type == 4:
            what += f" stop {px(r.stop_price)}"
        what += f" {tif}"
    else:
        what = "(no such order)"                    # a refused cancel of an unknown order
    line = (f"[exec_id {r.seq}] {exec_type:<12} {what}  order_id {r.order_id} "
            f"cl_ord_id {r.cl_ord_id}")
    if r.orig_cl_ord_id:
        line += f" orig_cl_ord_id {r.orig_cl_ord_id}"
    if exec_type in ("PARTIAL_FILL", "FILL"):
        line += f"  last_qty {qty(r.last_qty)} last_px {px(r.last_px)}"
    line += (f"  ord_status {status} cum_qty {qty(r.cum_qty)} leaves_qty {qty(r.leaves_qty)}"
             f" avg_px {amount(r.avg_px) if r.cum_qty else '-'}")
    if r.reject_reason:
        reason = _name(r.reject_reason)
        text = getattr(r, "text", "") or ""
        line += f"  reject_reason {reason}" + (f": {printable(text)}" if text else "")
    line += (f"  position {qty(r.position, 12)} @ {amount(r.position_avg_px)}"
             f" realized_pnl {amount(r.realized_pnl)} fees {amount(r.fees)}")
    return line


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in
                        enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)


def _record(obj: Any) -> dict:
    import dataclasses

    def plain(v: Any) -> Any:
        if isinstance(v, enum.Enum):
            return v.name                   # "BUY", "LIMIT": the codes' names
        return None if isinstance(v, float) and v != v else v     # NaN: null

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: plain(v) for k, v in dataclasses.asdict(obj).items()}
    return {k: plain(v) for k, v in vars(obj).items()}


# -- the commands -----------------------------------------------------------------------

def _order_args(args: argparse.Namespace) -> tuple[float, dict]:
    """(quantity, submit_order keyword arguments) of the options (ValueError: what is wrong)."""
    if args.value is None:
        raise ValueError(f"{args.action} needs a quantity: mdstream order --symbol S "
                         f"{args.action} QTY")
    if args.symbol is None:
        raise ValueError("--symbol is required for buy and sell")
    if args.all:
        raise ValueError("--all is an option of cancel")
    try:
        quantity = float(args.value)
    except ValueError:
        raise ValueError(f"QTY must be a number, got {args.value!r}") from None
    if args.stop is not None:
        ord_type = "stop_limit" if args.limit is not None else "stop"
    else:
        ord_type = "limit" if args.limit is not None else "market"
    return quantity, {"ord_type": ord_type, "price": args.limit, "stop_price": args.stop,
                      "tif": args.tif, "post_only": args.post_only, "expire_ns": args.expire}


def run_order(args: argparse.Namespace) -> int:
    """mdstream order: one request, then its order's reports; the exit status."""
    from mdstream.errors import InvalidArgumentError, MDStreamError
    from mdstream.grpc.client import Client, RemoteError
    from mdstream.grpc.trade_wire import RequestError

    cl_ord_id = args.cl_ord_id or next_cl_ord_id()
    kwargs: dict[str, Any] = {}
    quantity = 0.0
    target: int | None = None
    try:
        if args.action == "cancel":
            if args.value is None and not args.all:
                raise ValueError("cancel needs the order's CL_ORD_ID, or --all")
            if args.value is not None and args.all:
                raise ValueError("cancel takes a CL_ORD_ID or --all, not both")
            target = _cl_ord_id(args.value) if args.value is not None else None
        else:
            quantity, kwargs = _order_args(args)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        return usage_error("order", exc)
    try:
        client = Client(args.target, **options.client_security_kwargs(args))
    except MDStreamError as exc:
        return error(str(exc))
    sigterm_as_interrupt()
    status = 0
    try:
        client.wait_ready(args.connect_timeout)
        with client.trade(args.account) as session:
            if args.action == "cancel" and target is None:
                return _cancel_all(client, session, args)
            elif args.action == "cancel":
                assert target is not None
                session.cancel_order(target, cl_ord_id=cl_ord_id)
                watched = target
            else:
                session.submit_order(cl_ord_id, args.symbol, args.action, quantity, **kwargs)
                watched = cl_ord_id
                print(f"cl_ord_id {cl_ord_id}: {args.action} {qty(quantity)} "
                      f"{printable(args.symbol)} ({kwargs['ord_type']}) submitted to {args.target} "
                      f"for account {printable(args.account)}; its answer:", flush=True)
            status = _follow(session, args, watched, cl_ord_id, RequestError)
    except KeyboardInterrupt:
        return 130
    except RemoteError as exc:
        if exc.code.name == "UNAVAILABLE":
            return error(f"cannot reach an mdstream server at {args.target}: {exc.details}")
        return error(str(exc.details or exc))
    except (InvalidArgumentError, MDStreamError) as exc:
        return error(str(exc))
    finally:
        client.close()
    return status


def _follow(session: Any, args: argparse.Namespace, watched: int, own: int,
            request_error: Any) -> int:
    """Print the reports of the order ``watched`` until it is done or --wait
    passes; the exit status."""
    deadline = time.monotonic() + args.wait
    ids = {own, watched}
    order_id = None
    status = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        item = session.read(left)
        if item is None:
            if session.ended:
                break
            continue
        if isinstance(item, request_error):
            if item.cl_ord_id in ids or item.orig_cl_ord_id in ids:
                print(f"mdstream: error: {printable(item.message)} ({item.code.name})", flush=True)
                return EXIT_ERROR
            continue
        ours = (item.cl_ord_id in ids or item.orig_cl_ord_id in ids
                or (order_id is not None and item.order_id == order_id))
        if not ours:
            continue
        print(report_line(item), flush=True)
        if item.order_id and order_id is None:
            order_id = item.order_id
        if item.exec_type == _REJECTED:
            status = EXIT_ERROR
            if item.cl_ord_id == own:
                return status
        if item.cl_ord_id != own and item.exec_type == 5:       # REPLACED elsewhere
            ids.add(item.cl_ord_id)
        if item.ord_status in _DONE and item.exec_type != _REJECTED:
            return status
    if args.action != "cancel":
        print(f"cl_ord_id {watched}: still open after --wait {args.wait:g} s (it stays open; "
              f"mdstream order --account {args.account} cancel {watched})", flush=True)
    return status


def _cancel_all(client: Any, session: Any, args: argparse.Namespace) -> int:
    """cancel --all: the account's open orders (of --symbol) cancelled, their
    CANCELED reports printed as they come (until --wait passes)."""
    where = f" on {printable(args.symbol)}" if args.symbol else ""
    open_ids = {o.order_id for o in client.orders(args.account)
                if args.symbol is None or o.symbol == args.symbol}
    if not open_ids:
        print(f"account {printable(args.account)} has no open orders{where}: nothing to cancel",
              flush=True)
        return 0
    session.cancel_all(args.symbol)
    deadline = time.monotonic() + args.wait
    while open_ids:
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"{len(open_ids)} of the orders not reported cancelled after --wait "
                  f"{args.wait:g} s", flush=True)
            return EXIT_ERROR
        item = session.read(left)
        if item is None:
            if session.ended:
                break
            continue
        if getattr(item, "order_id", 0) in open_ids:
            print(report_line(item), flush=True)
            if item.ord_status in _DONE:
                open_ids.discard(item.order_id)
    return 0


def run_positions(args: argparse.Namespace) -> int:
    """mdstream positions: the open orders and positions as tables (or JSON)."""
    from mdstream.errors import MDStreamError
    from mdstream.grpc.client import Client, RemoteError

    try:
        client = Client(args.target, **options.client_security_kwargs(args))
    except MDStreamError as exc:
        return error(str(exc))
    try:
        client.wait_ready(args.connect_timeout)
        orders = client.orders(args.account)
        positions = client.positions(args.account)
    except RemoteError as exc:
        if exc.code.name == "UNAVAILABLE":
            return error(f"cannot reach an mdstream server at {args.target}: {exc.details}")
        return error(str(exc.details or exc))
    except MDStreamError as exc:
        return error(str(exc))
    finally:
        client.close()
    if args.json:
        print(json.dumps({"orders": [_record(o) for o in orders],
                          "positions": [_record(p) for p in positions]}, indent=2), flush=True)
        return 0
    print(_orders_table(orders), flush=True)
    print(flush=True)
    print(_positions_table(positions), flush=True)
    return 0


def _orders_table(orders: "list[OrderState]") -> str:
    if not orders:
        return "open orders: none"
    rows = [[printable(o.account), printable(o.symbol), str(o.order_id), str(o.cl_ord_id),
             _name(o.side).lower(), _name(o.ord_type).lower(), qty(o.quantity),
             px(o.price) if o.ord_type in (2, 4) else "-",
             px(o.stop_price) if o.ord_type in (3, 4) else "-",
             qty(o.cum_qty), qty(o.leaves_qty),
             _name(o.tif).lower()] for o in orders]
    return (f"open orders ({len(orders)}):\n" +
            _table(["account", "symbol", "order_id", "cl_ord_id", "side", "ord_type", "quantity",
                    "price", "stop_price", "cum_qty", "leaves_qty", "tif"], rows))


def _positions_table(positions: "list[Position]") -> str:
    if not positions:
        return "positions: none"
    rows = [[printable(p.account), printable(p.symbol), qty(p.quantity, 12), amount(p.avg_px),
             px(p.mark_px), amount(p.unrealized_pnl), amount(p.realized_pnl), amount(p.fees)]
            for p in positions]
    return (f"positions ({len(positions)}):\n" +
            _table(["account", "symbol", "quantity", "avg_px", "mark_px", "unrealized_pnl",
                    "realized_pnl", "fees"], rows))
