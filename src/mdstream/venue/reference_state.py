"""The state the plain-Python paper venue keeps (mdstream.venue.reference):
orders, positions, each symbol's market, and requests read from input rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from mdstream.venue.codes import OrdStatus, OrdType, Side, TimeInForce

__all__ = ["RefOrder", "RefPosition", "RefMarket", "RefRequest", "REPORT_COLUMNS", "DAY_NS",
           "NAN", "INF", "KINDS", "ACTIONS", "SIDES", "ORD_TYPES", "TIFS", "OPEN", "field_of",
           "code_of", "as_float", "given", "ratio", "fill_qty", "QTY_EPS"]

NAN = float("nan")
INF = float("inf")

#: Length of the trading day of DAY orders: they expire at the next UTC midnight.
DAY_NS = 86_400_000_000_000

#: The columns of every report.
REPORT_COLUMNS = (
    "seq", "cause_seq", "ts_ns", "recv_ns", "done_ns", "symbol_id", "account_id",
    "cl_ord_id", "orig_cl_ord_id", "order_id", "exec_type", "ord_status", "side",
    "ord_type", "tif", "reject_reason", "price", "stop_price", "quantity", "last_px",
    "last_qty", "cum_qty", "leaves_qty", "avg_px", "position", "position_avg_px",
    "realized_pnl", "fees", "expire_ns", "post_only",
)

KINDS = {"trade": "trade", "quote": "quote", "bar": "bar", "ohlcv": "bar",
          0: "trade", 1: "quote", 2: "bar", 3: "bar"}
ACTIONS = {"new": "new", "cancel": "cancel", "replace": "replace", "cancel_all": "cancel_all",
            0: "new", 1: "cancel", 2: "replace", 3: "cancel_all"}
SIDES = {"buy": Side.BUY, "sell": Side.SELL}
ORD_TYPES = {"market": OrdType.MARKET, "limit": OrdType.LIMIT, "stop": OrdType.STOP,
              "stop_limit": OrdType.STOP_LIMIT}
TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC,
         "fok": TimeInForce.FOK, "gtd": TimeInForce.GTD}

OPEN = (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED)


@dataclass
class RefOrder:
    """One accepted order, open or closed."""

    order_id: int
    account_id: int
    symbol_id: int
    cl_ord_id: int
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: float
    stop_price: float
    quantity: float
    expire_ns: int = 0              # 0: never (GTC, IOC, FOK)
    post_only: bool = False
    cum_qty: float = 0.0
    avg_px: float = NAN             # NaN before the first fill
    ord_status: OrdStatus = OrdStatus.NEW
    triggered: bool = False         # stops: triggered (now a market or limit order)
    queue_ahead: float = 0.0        # size ahead of it at its limit price (queue_position)

    @property
    def leaves_qty(self) -> float:
        return self.quantity - self.cum_qty if self.is_open else 0.0

    @property
    def is_open(self) -> bool:
        return self.ord_status in OPEN

    @property
    def is_stop(self) -> bool:
        return self.ord_type in (OrdType.STOP, OrdType.STOP_LIMIT)

    @property
    def waiting(self) -> bool:
        """A stop that has not triggered yet: it does not match."""
        return self.is_stop and not self.triggered

    @property
    def acts_as_market(self) -> bool:
        """A market order, or a (triggered) STOP."""
        return self.ord_type in (OrdType.MARKET, OrdType.STOP)


@dataclass
class RefPosition:
    """An account's position in one symbol (average cost, realized P&L, fees)."""

    account_id: int
    symbol_id: int
    quantity: float = 0.0           # signed: long > 0, short < 0
    avg_px: float = 0.0             # average entry price of the open quantity (0: flat)
    realized_pnl: float = 0.0
    fees: float = 0.0
    fills: int = 0
    mark_px: float = NAN            # filled in by positions(): the mid, else the last trade
    unrealized_pnl: float = 0.0     # filled in by positions(): (mark - avg_px) * quantity


@dataclass
class RefMarket:
    """The venue's view of one symbol."""

    bid: float = NAN
    ask: float = NAN
    bid_size: float = 0.0
    ask_size: float = 0.0
    bid_taken: float = 0.0          # of the current quote's size, already used by our fills
    ask_taken: float = 0.0
    last_px: float = NAN
    last_size: float = 0.0
    quoted: bool = False
    traded: bool = False
    book: list[int] = field(default_factory=list)   # open orders' ids in time priority

    @property
    def has_market(self) -> bool:
        return self.quoted or self.traded

    @property
    def mark(self) -> float:
        """The mid when both sides are quoted, else the last trade (NaN: neither)."""
        if math.isfinite(self.bid) and math.isfinite(self.ask):
            return (self.bid + self.ask) / 2.0
        return self.last_px

    def touch(self, side: Side) -> tuple[float, float]:
        """The price an order of this side takes, and the size left there (0: none)."""
        if side == Side.BUY:
            price, room = self.ask, self.ask_size - self.ask_taken
        else:
            price, room = self.bid, self.bid_size - self.bid_taken
        if math.isnan(price) or not room > 0:
            return price, 0.0
        return price, room

    def take(self, side: Side, qty: float) -> None:
        if side == Side.BUY:
            self.ask_taken += qty
        else:
            self.bid_taken += qty


@dataclass
class RefRequest:
    """An order request, its fields normalised."""

    seq: int
    action: str
    account_id: int
    symbol_id: int
    cl_ord_id: int
    orig_cl_ord_id: int
    side: Side
    ord_type: int
    tif: int
    price: float
    stop_price: float
    quantity: float
    expire_ns: int
    post_only: bool
    rate_limited: bool


def field_of(row: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or of a NumPy record; ``default`` when absent or None."""
    try:
        value = row[name]
    except (KeyError, ValueError, IndexError):
        return default
    return default if value is None else value


def code_of(value: Any, names: Mapping[Any, Any], enum: Any, default: Any) -> Any:
    """A code from its name or number (a number the enum lacks, such as a
    cancel's ord_type 0, is kept as it is)."""
    if value is None:
        return default
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return names[value.lower()]
    try:
        return enum(int(value))
    except ValueError:
        return int(value)


def as_float(value: Any) -> float:
    """A price or quantity; None (not given) is NaN."""
    return NAN if value is None else float(value)


def given(value: float) -> bool:
    return not math.isnan(value)


#: A remainder at most this fraction of an order's quantity is filled with the rest.
QTY_EPS = 1e-9


def fill_qty(order: "RefOrder", room: float) -> float:
    """What a fill takes of ``room``: the order's leaves at most, and the whole
    leaves when at most QTY_EPS of its quantity would be left (decimal sizes do
    not add up exactly in binary floating point: no crumb is left open)."""
    qty = min(order.leaves_qty, room)
    if order.leaves_qty - qty <= QTY_EPS * order.quantity:
        qty = order.leaves_qty
    return qty


def ratio(num: float, den: float) -> float:
    """num / den with IEEE semantics (the compiled matcher's): x/0 is +-inf, 0/0 NaN."""
    if den == 0.0:
        if num == 0.0 or math.isnan(num):
            return NAN
        return math.copysign(INF, num) * math.copysign(1.0, den)
    return num / den
