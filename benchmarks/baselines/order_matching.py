"""Order matching in plain Python: what the orders benchmark measures the core against.

The paper venue's rules (docs: the venue spec) for the orders the benchmark
sends, written as a Python developer would: a dict of symbols with their
quote, a dict of open orders, a set of used client order ids, a position per
(account, symbol), and one report (a tuple) per event appended to a list.

Handled: NEW limit orders (GTC: rest when not marketable; IOC: fill against
the quote at the touch, cancel the rest) and market orders, CANCEL by the
client order id, QUOTE updates (a quote resets what our fills took of it).
Checks: unknown symbol / no market, duplicate client order id, unknown or
closed order on cancel. Positions: quantity, average price, realized P&L
and fees, as the core keeps them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

# The spec's codes (FIX 4.4 values), repeated so that this file needs no mdstream.
BUY, SELL = 1, 2
MARKET, LIMIT = 1, 2
GTC, IOC = 1, 3
NEW_REQ, CANCEL_REQ = 0, 1
EXEC_NEW, EXEC_PARTIAL, EXEC_FILL, EXEC_CANCELED, EXEC_REJECTED = 0, 1, 2, 4, 8
NO_MARKET, DUPLICATE, UNKNOWN_ORDER, TOO_LATE, IOC_REMAINDER = 1, 2, 3, 4, 12


class Request(NamedTuple):
    kind: int            # NEW_REQ or CANCEL_REQ
    account: int
    cl_ord_id: int
    symbol: int
    side: int
    ord_type: int
    tif: int
    price: float
    quantity: float
    orig_cl_ord_id: int = 0


class Report(NamedTuple):
    exec_id: int
    order_id: int
    cl_ord_id: int
    exec_type: int
    reason: int
    last_px: float
    last_qty: float
    cum_qty: float
    leaves_qty: float
    position: float
    realized_pnl: float


class _Order:
    __slots__ = ("order_id", "account", "cl_ord_id", "symbol", "side", "ord_type", "tif",
                 "price", "quantity", "cum_qty", "avg_px")

    def __init__(self, order_id, r: Request):
        self.order_id = order_id
        self.account = r.account
        self.cl_ord_id = r.cl_ord_id
        self.symbol = r.symbol
        self.side = r.side
        self.ord_type = r.ord_type
        self.tif = r.tif
        self.price = r.price
        self.quantity = r.quantity
        self.cum_qty = 0.0
        self.avg_px = 0.0


class _Quote:
    __slots__ = ("bid", "ask", "bid_size", "ask_size", "bid_taken", "ask_taken")

    def __init__(self):
        self.bid = self.ask = math.nan
        self.bid_size = self.ask_size = self.bid_taken = self.ask_taken = 0.0


class PlainMatcher:
    """The venue's state and rules for the benchmark's orders, in plain Python."""

    def __init__(self, fee_bps: float = 0.0):
        self.fee_bps = fee_bps
        self.quotes: dict[int, _Quote] = {}
        self.open: dict[tuple[int, int], _Order] = {}       # (account, cl_ord_id) -> order
        self.used: set[tuple[int, int]] = set()
        self.positions: dict[tuple[int, int], list[float]] = {}   # q, avg, realized, fees
        self.reports: list[Report] = []
        self.next_order_id = 1

    # -- market data -----------------------------------------------------------

    def quote(self, symbol: int, bid: float, ask: float, bid_size: float, ask_size: float):
        q = self.quotes.get(symbol)
        if q is None:
            q = self.quotes[symbol] = _Quote()
        q.bid, q.ask, q.bid_size, q.ask_size = bid, ask, bid_size, ask_size
        q.bid_taken = q.ask_taken = 0.0
        # resting orders that the new quote makes marketable
        for o in [o for o in self.open.values() if o.symbol == symbol]:
            self._match(o, q, incoming=False)
            if o.cum_qty >= o.quantity:
                del self.open[(o.account, o.cl_ord_id)]

    # -- requests ----------------------------------------------------------------

    def process(self, requests) -> int:
        handle_new, handle_cancel = self._new, self._cancel
        for r in requests:
            if r.kind == NEW_REQ:
                handle_new(r)
            else:
                handle_cancel(r)
        return len(self.reports)

    def _report(self, o: _Order, exec_type: int, reason: int = 0, px: float = 0.0,
                qty: float = 0.0, leaves: float | None = None) -> None:
        pos = self.positions.get((o.account, o.symbol))
        self.reports.append(Report(
            len(self.reports), o.order_id, o.cl_ord_id, exec_type, reason, px, qty, o.cum_qty,
            o.quantity - o.cum_qty if leaves is None else leaves,
            pos[0] if pos else 0.0, pos[2] if pos else 0.0))

    def _reject(self, r: Request, reason: int) -> None:
        self.reports.append(Report(len(self.reports), 0, r.cl_ord_id, EXEC_REJECTED, reason,
                                   0.0, 0.0, 0.0, 0.0, 0.0, 0.0))

    def _new(self, r: Request) -> None:
        key = (r.account, r.cl_ord_id)
        if key in self.used:
            return self._reject(r, DUPLICATE)
        self.used.add(key)
        q = self.quotes.get(r.symbol)
        if q is None:
            return self._reject(r, NO_MARKET)
        o = _Order(self.next_order_id, r)
        self.next_order_id += 1
        self._report(o, EXEC_NEW)
        self._match(o, q, incoming=True)
        if o.cum_qty >= o.quantity:
            return
        if o.tif == IOC:
            self._report(o, EXEC_CANCELED, IOC_REMAINDER, leaves=0.0)
            return
        self.open[key] = o

    def _cancel(self, r: Request) -> None:
        key = (r.account, r.cl_ord_id)
        if r.cl_ord_id and key in self.used:
            return self._reject(r, DUPLICATE)
        if r.cl_ord_id:
            self.used.add(key)
        o = self.open.pop((r.account, r.orig_cl_ord_id), None)
        if o is None:
            known = (r.account, r.orig_cl_ord_id) in self.used
            return self._reject(r, TOO_LATE if known else UNKNOWN_ORDER)
        self._report(o, EXEC_CANCELED, leaves=0.0)

    def _match(self, o: _Order, q: _Quote, incoming: bool) -> None:
        if o.side == BUY:
            avail = q.ask_size - q.ask_taken
            if not (q.ask == q.ask and avail > 0 and (o.ord_type == MARKET or o.price >= q.ask)):
                return
            qty = min(o.quantity - o.cum_qty, avail)
            q.ask_taken += qty
            px = q.ask if (incoming or o.ord_type == MARKET) else o.price
            self._fill(o, px, qty)
        else:
            avail = q.bid_size - q.bid_taken
            if not (q.bid == q.bid and avail > 0 and (o.ord_type == MARKET or o.price <= q.bid)):
                return
            qty = min(o.quantity - o.cum_qty, avail)
            q.bid_taken += qty
            px = q.bid if (incoming or o.ord_type == MARKET) else o.price
            self._fill(o, px, qty)

    def _fill(self, o: _Order, px: float, qty: float) -> None:
        cum = o.cum_qty + qty
        o.avg_px = (o.avg_px * o.cum_qty + px * qty) / cum
        o.cum_qty = cum
        pos = self.positions.get((o.account, o.symbol))
        if pos is None:
            pos = self.positions[(o.account, o.symbol)] = [0.0, 0.0, 0.0, 0.0]
        q, a = pos[0], pos[1]
        d = qty if o.side == BUY else -qty
        if q == 0 or (q > 0) == (d > 0):
            pos[1] = (a * abs(q) + px * abs(d)) / (abs(q) + abs(d))
            pos[0] = q + d
        else:
            closed = min(abs(d), abs(q))
            pos[2] += closed * (px - a) * (1.0 if q > 0 else -1.0)
            pos[0] = q + d
            if pos[0] == 0:
                pos[1] = 0.0
            elif (pos[0] > 0) != (q > 0):
                pos[1] = px
        pos[3] += px * qty * self.fee_bps / 1e4
        self._report(o, EXEC_FILL if cum >= o.quantity else EXEC_PARTIAL, px=px, qty=qty)
