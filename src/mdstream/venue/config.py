"""How a paper venue is set up: its accounts, their risk limits and fees."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Mapping

from mdstream.errors import InvalidArgumentError

if TYPE_CHECKING:
    from mdstream import _core

__all__ = ["Account", "PaperVenue"]


@dataclasses.dataclass(frozen=True)
class Account:
    """One trading account of the paper venue: fees and pre-trade risk limits.

    Every limit is checked on each new order (and replace) before it can
    trade; a breach rejects it with its own RejectReason. ``inf`` / None: no
    limit.

    fee_bps: fee on each fill, in basis points of its notional (price x qty).
    max_order_qty: largest quantity of one order.
    max_notional: largest quantity x price of one order (market orders: the
        touch, else the last trade; stops: the stop price).
    max_position: largest absolute position in one symbol the order would
        leave if it were filled whole (other open orders not counted).
    max_open_orders: open orders of the account, over all symbols.
    price_collar_bps: how far (basis points) a limit price may be from the
        mid (the last trade when there is no quote).
    max_orders_per_s: requests per second of one session (an OrderSession,
        a gRPC Trade stream); beyond it, requests are rejected (RATE_LIMIT).
    """
    fee_bps: float = 0.0
    max_order_qty: float = math.inf
    max_notional: float = math.inf
    max_position: float = math.inf
    max_open_orders: int | None = None
    price_collar_bps: float = math.inf
    max_orders_per_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("fee_bps", "max_order_qty", "max_notional", "max_position",
                     "price_collar_bps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidArgumentError(f"Account {name} must be a number >= 0, got {value!r}")
        if self.max_open_orders is not None and (
                isinstance(self.max_open_orders, bool) or not isinstance(self.max_open_orders, int)
                or self.max_open_orders < 0):
            raise InvalidArgumentError(
                f"Account max_open_orders must be an integer >= 0 or None, got {self.max_open_orders!r}")
        if self.max_orders_per_s is not None and not (
                isinstance(self.max_orders_per_s, (int, float)) and self.max_orders_per_s > 0):
            raise InvalidArgumentError(
                f"Account max_orders_per_s must be > 0 or None, got {self.max_orders_per_s!r}")

    def core_limits(self) -> dict:
        """The limits as the core takes them."""
        return {"fee_bps": float(self.fee_bps), "max_order_qty": float(self.max_order_qty),
                "max_notional": float(self.max_notional),
                "max_position": float(self.max_position),
                "price_collar_bps": float(self.price_collar_bps),
                "max_open_orders": -1 if self.max_open_orders is None else self.max_open_orders}


@dataclasses.dataclass(frozen=True)
class PaperVenue:
    """A simulated venue inside the engine that fills orders from the
    engine's own market data (docs/guides/paper-venue.md has the rules).

    accounts: name -> Account; the names' order gives the account ids, which
        the journal records: add new accounts at the end.
    latency_ns: event time (ns) between a request being sent and it reaching
        the venue; a replay models it.
    queue_position: a limit order joining a price level fills from trades at
        that price only after the size displayed there when it joined has
        traded.
    """
    accounts: Mapping[str, Account] = dataclasses.field(
        default_factory=lambda: {"paper": Account()})
    latency_ns: int = 0
    queue_position: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.accounts) <= 256:
            raise InvalidArgumentError(
                f"a paper venue has 1 to 256 accounts, got {len(self.accounts)}")
        for name, account in self.accounts.items():
            if not isinstance(name, str) or not name:
                raise InvalidArgumentError(f"account names are non-empty strings, got {name!r}")
            if not isinstance(account, Account):
                raise InvalidArgumentError(f"account {name!r}: expected an Account, got {account!r}")
        if isinstance(self.latency_ns, bool) or not isinstance(self.latency_ns, int) \
                or self.latency_ns < 0:
            raise InvalidArgumentError(f"latency_ns must be an integer >= 0, got {self.latency_ns!r}")

    @property
    def account_names(self) -> list[str]:
        """Account names by id."""
        return list(self.accounts)

    def attach(self, core: "_core.Core") -> "_core.VenueCore":
        """This venue in a core that has not started (one per core)."""
        from mdstream import _core

        return _core.VenueCore(core, [a.core_limits() for a in self.accounts.values()],
                               self.latency_ns, self.queue_position)
