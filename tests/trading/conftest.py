"""Paper venue tests.

Until mdstream.venue.codes and mdstream.venue.config are part of the package,
this stands in for them with the spec's codes and dataclasses (the same
integers), so the reference can be tested on its own.
"""

from __future__ import annotations

import enum
import importlib
import math
import sys
import types
from dataclasses import dataclass, field


def _install_stand_ins() -> None:
    try:
        importlib.import_module("mdstream.venue.codes")
        importlib.import_module("mdstream.venue.config")
        return
    except ImportError:
        pass

    codes = types.ModuleType("mdstream.venue.codes")

    class Side(enum.IntEnum):
        BUY = 1
        SELL = 2

    class OrdType(enum.IntEnum):
        MARKET = 1
        LIMIT = 2
        STOP = 3
        STOP_LIMIT = 4

    class TimeInForce(enum.IntEnum):
        DAY = 0
        GTC = 1
        IOC = 3
        FOK = 4
        GTD = 6

    class ExecType(enum.IntEnum):
        NEW = 0
        PARTIAL_FILL = 1
        FILL = 2
        CANCELED = 4
        REPLACED = 5
        REJECTED = 8
        EXPIRED = 12

    class OrdStatus(enum.IntEnum):
        NEW = 0
        PARTIALLY_FILLED = 1
        FILLED = 2
        CANCELED = 4
        REJECTED = 8
        EXPIRED = 12

    class RejectReason(enum.IntEnum):
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

    for cls in (Side, OrdType, TimeInForce, ExecType, OrdStatus, RejectReason):
        setattr(codes, cls.__name__, cls)

    config = types.ModuleType("mdstream.venue.config")

    @dataclass
    class Account:
        fee_bps: float = 0.0
        max_order_qty: float = math.inf
        max_notional: float = math.inf
        max_position: float = math.inf
        max_open_orders: int | None = None
        price_collar_bps: float = math.inf
        max_orders_per_s: float | None = None

    @dataclass
    class PaperVenue:
        accounts: dict = field(default_factory=lambda: {"paper": Account()})
        latency_ns: int = 0
        queue_position: bool = False

    config.Account = Account
    config.PaperVenue = PaperVenue
    sys.modules["mdstream.venue.codes"] = codes
    sys.modules["mdstream.venue.config"] = config


_install_stand_ins()
