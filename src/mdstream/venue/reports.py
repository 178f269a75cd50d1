"""Execution reports, open orders and positions as Python sees them.

An ``ExecutionReports`` batch is columns of NumPy arrays over the core's
report rows (``EXEC_DTYPE``, one per report, no copy); ``rows()`` turns it
into ``ExecutionReport`` objects. Field names and codes follow the FIX 4.4
ExecutionReport (35=8): cl_ord_id (11), orig_cl_ord_id (41), order_id (37),
exec_id (17), exec_type (150), ord_status (39), side (54), ord_type (40),
time in force (59), price (44), stop_price (99), quantity (38), last_px (31),
last_qty (32), cum_qty (14), leaves_qty (151), avg_px (6).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Sequence

import numpy as np

from mdstream import _core
from mdstream.venue.codes import (REJECT_TEXT, ExecType, OrdStatus, OrdType, RejectReason, Side,
                                  TimeInForce)

__all__ = ["EXEC_DTYPE", "ExecutionReport", "ExecutionReports", "OrderState", "Position"]

#: One execution report (184 bytes, laid over the core's result).
EXEC_DTYPE = _core.EXEC_DTYPE
_COLUMNS: tuple[str, ...] = tuple(EXEC_DTYPE.names or ())


@dataclasses.dataclass(frozen=True)
class ExecutionReport:
    """One execution report. Prices and quantities are in the instrument's
    units; times are ns since the Unix epoch (ts_ns: event time, the market's;
    recv_ns: when the causing row entered the engine; done_ns: when the venue
    wrote the report)."""
    seq: int                # the report stream's own gap-free sequence number
    exec_id: str            # FIX ExecID(17): the seq, as FIX's string
    cause_seq: int          # engine seq of the tick or request that caused it
    ts_ns: int
    recv_ns: int
    done_ns: int
    account: str | None     # None: a refused request of an account the venue does not have
    symbol: str | None      # None: a refused request that named no known order
    cl_ord_id: int
    orig_cl_ord_id: int
    order_id: int
    exec_type: ExecType
    ord_status: OrdStatus
    side: Side | None
    ord_type: OrdType | None    # None (and side, tif None): a refused cancel of no open order
    tif: TimeInForce | None
    post_only: bool
    price: float            # NaN: none
    stop_price: float       # NaN: none
    quantity: float
    last_px: float          # NaN: no fill in this report
    last_qty: float
    cum_qty: float
    leaves_qty: float
    avg_px: float           # NaN before the first fill
    expire_ns: int          # 0: never
    reject_reason: RejectReason
    text: str               # what reject_reason means
    position: float         # the account's position in the symbol after this report
    position_avg_px: float
    realized_pnl: float
    fees: float


class ExecutionReports:
    """A batch of execution reports: each attribute named in EXEC_DTYPE is a
    NumPy array with one element per report (``seq``, ``cl_ord_id``,
    ``last_px``, ``exec_type`` ...; ``account_id`` uint8, ``symbol_id``
    int32). ``symbols`` and ``accounts`` are the names by id."""

    def __init__(self, rows: np.ndarray, symbols: Sequence[str], accounts: Sequence[str]):
        self.data = rows if rows.dtype == EXEC_DTYPE else rows.view(EXEC_DTYPE)
        self.symbols = symbols
        self.accounts = accounts

    def __len__(self) -> int:
        return len(self.data)

    def __getattr__(self, name: str) -> np.ndarray:
        if name in _COLUMNS:
            return self.data[name]
        raise AttributeError(f"ExecutionReports has no column {name!r}; "
                             f"the columns are {', '.join(_COLUMNS)}")

    def __iter__(self) -> Iterator[ExecutionReport]:
        return iter(self.rows())

    def rows(self) -> list[ExecutionReport]:
        """The reports as ExecutionReport objects."""
        return [self._row(r) for r in self.data.tolist()]

    def _row(self, r: tuple) -> ExecutionReport:
        d = dict(zip(_COLUMNS, r))
        sid = d["symbol_id"]
        reason = RejectReason(d["reject_reason"])
        return ExecutionReport(
            seq=d["seq"], exec_id=str(d["seq"]), cause_seq=d["cause_seq"], ts_ns=d["ts_ns"],
            recv_ns=d["recv_ns"], done_ns=d["done_ns"], account=(self.accounts[d["account_id"]]
                                         if d["account_id"] < len(self.accounts) else None),
            symbol=self.symbols[sid] if 0 <= sid < len(self.symbols) else None,
            cl_ord_id=d["cl_ord_id"], orig_cl_ord_id=d["orig_cl_ord_id"], order_id=d["order_id"],
            exec_type=ExecType(d["exec_type"]), ord_status=OrdStatus(d["ord_status"]),
            side=Side(d["side"]) if d["side"] else None,
            ord_type=OrdType(d["ord_type"]) if d["ord_type"] else None,
            tif=TimeInForce(d["tif"]) if d["ord_type"] else None,
            post_only=bool(d["post_only"]), price=d["price"], stop_price=d["stop_price"],
            quantity=d["quantity"], last_px=d["last_px"], last_qty=d["last_qty"],
            cum_qty=d["cum_qty"], leaves_qty=d["leaves_qty"], avg_px=d["avg_px"],
            expire_ns=d["expire_ns"], reject_reason=reason, text=REJECT_TEXT[reason],
            position=d["position"], position_avg_px=d["position_avg_px"],
            realized_pnl=d["realized_pnl"], fees=d["fees"])

    def __repr__(self) -> str:
        if len(self) == 0:
            return "<ExecutionReports empty>"
        return f"<ExecutionReports {len(self)} seq {self.seq[0]}..{self.seq[-1]}>"


@dataclasses.dataclass(frozen=True)
class OrderState:
    """An open order as the venue holds it now (quantities in the
    instrument's units, prices NaN where none)."""
    account: str
    symbol: str
    cl_ord_id: int
    order_id: int
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: float
    stop_price: float
    quantity: float
    cum_qty: float
    leaves_qty: float
    avg_px: float
    ord_status: OrdStatus
    triggered: bool         # stops: triggered (working as a market or limit order)
    expire_ns: int          # 0: never
    post_only: bool


@dataclasses.dataclass(frozen=True)
class Position:
    """An account's position in one symbol. quantity is signed (long > 0);
    avg_px is the average entry price of the open quantity (0 when flat);
    realized_pnl excludes fees; unrealized_pnl = (mark_px - avg_px) x
    quantity, marked at the mid (the last trade without a quote; NaN before
    either)."""
    account: str
    symbol: str
    quantity: float
    avg_px: float
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    fills: int
    mark_px: float

    @property
    def net_pnl(self) -> float:
        """realized + unrealized - fees."""
        return self.realized_pnl + self.unrealized_pnl - self.fees
