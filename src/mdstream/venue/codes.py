"""The codes of orders and execution reports.

Side, OrdType, TimeInForce, ExecType and OrdStatus use FIX 4.4's values
(tags 54, 40, 59, 150 and 39; ExecType's partial fill and fill are FIX 4.2's
``1`` and ``2``, which FIX 4.4 folded into ``F``). RejectReason is mdstream's
own: each pre-trade check and each refused cancel has its code, and its text
says what to change. The compiled core (core/venue.pxd) uses the same numbers.
"""

from __future__ import annotations

import enum

__all__ = ["Side", "OrdType", "TimeInForce", "ExecType", "OrdStatus", "RejectReason",
           "REJECT_TEXT", "parse_code"]


class Side(enum.IntEnum):
    """FIX Side(54)."""
    BUY = 1
    SELL = 2


class OrdType(enum.IntEnum):
    """FIX OrdType(40)."""
    MARKET = 1
    LIMIT = 2
    STOP = 3
    STOP_LIMIT = 4


class TimeInForce(enum.IntEnum):
    """FIX TimeInForce(59). DAY ends at the next UTC midnight of event time."""
    DAY = 0
    GTC = 1
    IOC = 3
    FOK = 4
    GTD = 6


class ExecType(enum.IntEnum):
    """FIX ExecType(150)."""
    NEW = 0
    PARTIAL_FILL = 1
    FILL = 2
    CANCELED = 4
    REPLACED = 5
    REJECTED = 8
    EXPIRED = 12        # 'C'


class OrdStatus(enum.IntEnum):
    """FIX OrdStatus(39)."""
    NEW = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELED = 4
    REJECTED = 8
    EXPIRED = 12        # 'C'


class RejectReason(enum.IntEnum):
    """Why a request was refused (or, for IOC_REMAINDER and FOK_UNFILLED, why
    an order was canceled)."""
    NONE = 0
    NO_MARKET = 1
    DUPLICATE_CL_ORD_ID = 2
    UNKNOWN_ORDER = 3
    TOO_LATE_TO_CANCEL = 4
    MAX_ORDER_QTY = 5
    MAX_NOTIONAL = 6
    MAX_POSITION = 7
    MAX_OPEN_ORDERS = 8
    PRICE_COLLAR = 9
    RATE_LIMIT = 10
    POST_ONLY_WOULD_CROSS = 11
    IOC_REMAINDER = 12
    FOK_UNFILLED = 13
    UNKNOWN_ACCOUNT = 14
    REPLACE_BELOW_FILLED = 15
    EXPIRE_TIME_PASSED = 16


#: What each reason means, for people.
REJECT_TEXT = {
    RejectReason.NONE: "",
    RejectReason.NO_MARKET: "the symbol has had no quote and no trade yet",
    RejectReason.DUPLICATE_CL_ORD_ID: "this cl_ord_id was already used by the account",
    RejectReason.UNKNOWN_ORDER: "no order of the account has that cl_ord_id",
    RejectReason.TOO_LATE_TO_CANCEL: "the order is no longer open (filled, canceled or expired)",
    RejectReason.MAX_ORDER_QTY: "the quantity is above the account's max_order_qty",
    RejectReason.MAX_NOTIONAL: "quantity x price is above the account's max_notional",
    RejectReason.MAX_POSITION: "filled, it would take the position beyond the account's max_position",
    RejectReason.MAX_OPEN_ORDERS: "the account has max_open_orders open orders already",
    RejectReason.PRICE_COLLAR: "the price is further from the mid than the account's price_collar_bps",
    RejectReason.RATE_LIMIT: "the session sent more than the account's max_orders_per_s",
    RejectReason.POST_ONLY_WOULD_CROSS: "a post-only order would take liquidity (it crosses the quote)",
    RejectReason.IOC_REMAINDER: "immediate-or-cancel: the rest not filled at once is canceled",
    RejectReason.FOK_UNFILLED: "fill-or-kill: the whole quantity was not available at once",
    RejectReason.UNKNOWN_ACCOUNT: "the venue has no such account",
    RejectReason.REPLACE_BELOW_FILLED: "the new quantity is not above what is already filled",
    RejectReason.EXPIRE_TIME_PASSED: "the GTD expire time is not after the market's current time",
}


def parse_code(enum_type: type[enum.IntEnum], value: object, what: str) -> int:
    """A code from its name ("buy", "stop_limit", "ioc", any case) or number;
    InvalidArgumentError names the valid ones."""
    from mdstream.errors import InvalidArgumentError
    if isinstance(value, enum_type):
        return int(value)
    if isinstance(value, str):
        try:
            return int(enum_type[value.strip().upper()])
        except KeyError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            return int(enum_type(value))
        except ValueError:
            pass
    names = ", ".join(m.name.lower() for m in enum_type)
    raise InvalidArgumentError(f"{what} must be one of {names}; got {value!r}")
