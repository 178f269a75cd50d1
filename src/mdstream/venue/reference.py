"""A plain-Python reference of mdstream's paper venue.

This module is the paper venue's matching rules in executable form: the same
rules as the compiled matcher (``src/mdstream/core/venue.pxi``), written as
plainly as we could, from the specification rather than from the Cython code.
The rules themselves are documented in ``docs/guides/paper-venue.md``; every
numbered step below names the rule it implements.

It exists for the tests: ``tests/trading/test_matcher_properties.py`` runs the
same generated sequence of ticks and order requests through the engine and
through this reference and requires the same execution reports, open orders
and positions; ``tests/trading/test_reference_rules.py`` works each rule out
by hand against it. It is not fast and is not meant to be.

Usage::

    venue = ReferenceVenue(PaperVenue(accounts={"paper": Account()}), symbols=2)
    for row in rows:                 # the engine's input, in seq order
        reports.extend(venue.process(row))
    venue.orders(), venue.positions()

A row is a mapping (a dict, or a NumPy record) and is either

* a market row: ``kind`` "trade" | "quote" | "bar" (or the result kinds
  0, 1, 2 and the input bar kind 3), ``seq``, ``ts_ns``, ``symbol_id``,
  ``price``, ``size`` (trades), ``bid``, ``ask``, ``bid_size``, ``ask_size``
  (quotes; an absent side has price NaN and size 0); or
* an order request: ``action`` "new" | "cancel" | "replace" | "cancel_all"
  (or 0, 1, 2, 3), ``seq``, ``account_id``, ``symbol_id`` (cancel-all: -1 or
  None for every symbol; cancel and replace name no symbol: -1), ``cl_ord_id``,
  ``orig_cl_ord_id``, ``side`` ("buy" | "sell" or the FIX codes),
  ``ord_type``, ``tif`` (names or codes; a cancel or replace has none: 0),
  ``price``, ``stop_price``, ``quantity`` (None or NaN: not given; for a
  replace: unchanged), ``expire_ns``, ``post_only``, ``rate_limited``.

``process`` returns the execution reports the row causes, as dicts with the
columns of ``mdstream.venue.reports.EXEC_DTYPE`` (``seq`` numbered from 0 by
the reference itself; ``recv_ns`` and ``done_ns`` are wall-clock times of the
engine, not modelled here: always 0; ``symbol_id`` -1 for a refused request
that names no symbol).

The rules are docs/guides/paper-venue.md (steps 0-4 of a market row, the
checks of a new order in their order); the methods below follow them.

Where the rules leave a choice
-----------------------------
* Every report's ts_ns is the event clock when it is made (for a market row,
  max(clock, the row's ts_ns)).
* Step 3: a stop triggered by a row arrives at once (takes the quote at the
  touch; IOC / FOK are applied; the rest keeps its place in time priority with
  its queue position set) and is not matched again in step 4 of that row.
* Step 4 on a trade: buys and sells each share the trade's size (a print of
  10 can fill 10 of our buys and 10 of our sells).
* The mid (price collar, marks) is the quote's only when both sides are
  present, else the last trade; a market order's notional uses the touch of
  its side when present, else the last trade.
* A replace gives the order its new cl_ord_id: the old one names no open
  order any more (a cancel of it is TOO_LATE_TO_CANCEL, ord_status REJECTED).
  A replaced stop that waits is checked against the market like a new one,
  and if it triggers, it arrives (so IOC / FOK apply).
* Refused cancels and replaces: an open target's order_id, status and state
  (symbol, side, ord_type, tif, fills); a closed one's last status and order_id
  0; REJECTED and 0 for an id that names no order. The other columns are the
  request's (0 / NaN where it has none).

A delayed request (latency) moves the event clock to its due time before it
is processed: it arrives then.
"""

from __future__ import annotations

import math
from typing import Any

from mdstream.venue.codes import ExecType, OrdStatus, OrdType, RejectReason, Side, TimeInForce
from mdstream.venue.config import PaperVenue
from mdstream.venue.reference_state import (ACTIONS, DAY_NS, KINDS, NAN, ORD_TYPES,
                                            REPORT_COLUMNS, SIDES, TIFS, RefMarket, RefOrder,
                                            RefPosition, RefRequest, as_float, code_of, field_of,
                                            fill_qty, given, ratio)

__all__ = ["ReferenceVenue", "RefOrder", "RefPosition", "REPORT_COLUMNS", "DAY_NS"]

class ReferenceVenue:
    """The paper venue's rules, one input row at a time.

    ``config``: the PaperVenue (its accounts, in their order, are account ids
    0, 1, ...; ``latency_ns``; ``queue_position``). ``symbols``: how many
    symbol ids (0 .. symbols - 1) the rows use.
    """

    def __init__(self, config: PaperVenue, symbols: int):
        self.config = config
        self.accounts = list(config.accounts.values())
        self.latency_ns = int(config.latency_ns)
        self.queue_position = bool(config.queue_position)
        self.markets = [RefMarket() for _ in range(symbols)]
        self.clock = 0                      # event time: the latest ts_ns of the quotes and trades
        self.next_order_id = 1
        self.next_exec_seq = 0
        self.all_orders: dict[int, RefOrder] = {}          # every accepted order, by order_id
        # (account, cl_ord_id) -> the order it names (0: none: used by a request that
        # made no order, or an order's id before a replace)
        self.ids: dict[tuple[int, int], int] = {}
        self.pos: dict[tuple[int, int], RefPosition] = {}
        self.pending: list[tuple[int, RefRequest]] = []     # (due, request), latency_ns > 0
        self._cause = 0                     # seq of the row at hand
        self._just_triggered: set[int] = set()
        self._out: list[dict[str, Any]] = []

    # -- queries -------------------------------------------------------------

    def orders(self, account_id: int | None = None) -> list[RefOrder]:
        """Open orders, by order_id."""
        return [o for _, o in sorted(self.all_orders.items())
                if o.is_open and (account_id is None or o.account_id == account_id)]

    def positions(self, account_id: int | None = None) -> list[RefPosition]:
        """Every (account, symbol) ever filled, by account then symbol, with its
        mark and unrealized P&L."""
        out = []
        for (acct, sym), p in sorted(self.pos.items()):
            if p.fills == 0 or (account_id is not None and acct != account_id):
                continue
            p.mark_px = self.markets[sym].mark
            p.unrealized_pnl = 0.0 if p.quantity == 0 else (p.mark_px - p.avg_px) * p.quantity
            out.append(p)
        return out

    # -- input ---------------------------------------------------------------

    def process(self, row: Any) -> list[dict[str, Any]]:
        """Process one input row (in seq order); returns the reports it causes."""
        self._out = []
        if field_of(row, "action") is not None:
            request = self._request(row)
            if self.latency_ns > 0:
                # Latency: every request waits until the first market row with ts_ns >= due.
                self.pending.append((self.clock + self.latency_ns, request))
            else:
                self._handle(request)
        else:
            kind = KINDS[field_of(row, "kind")]
            if kind != "bar":                              # bars are ignored
                self._market_row(row, kind)
        return self._out

    def _request(self, row: Any) -> RefRequest:
        action = ACTIONS[field_of(row, "action")]
        new = action == "new"
        return RefRequest(
            seq=int(field_of(row, "seq", 0)),
            action=action,
            account_id=int(field_of(row, "account_id", 0)),
            symbol_id=int(field_of(row, "symbol_id", -1)),
            cl_ord_id=int(field_of(row, "cl_ord_id", 0)),
            orig_cl_ord_id=int(field_of(row, "orig_cl_ord_id", 0)),
            side=code_of(field_of(row, "side"), SIDES, Side, Side.BUY),
            ord_type=code_of(field_of(row, "ord_type"), ORD_TYPES, OrdType, OrdType.LIMIT if new else 0),
            tif=code_of(field_of(row, "tif"), TIFS, TimeInForce, TimeInForce.GTC if new else 0),
            price=as_float(field_of(row, "price")),
            stop_price=as_float(field_of(row, "stop_price")),
            quantity=as_float(field_of(row, "quantity")),
            expire_ns=int(field_of(row, "expire_ns", 0)),
            post_only=bool(field_of(row, "post_only", False)),
            rate_limited=bool(field_of(row, "rate_limited", False)),
        )

    # -- a market row ----------------------------------------------------------

    def _market_row(self, row: Any, kind: str) -> None:
        ts = int(field_of(row, "ts_ns"))
        s = int(field_of(row, "symbol_id"))
        # 0. Latency: requests due by this row's time first, in arrival order (their due
        #    times never decrease).
        while self.pending and self.pending[0][0] <= ts:
            due, request = self.pending.pop(0)
            self.clock = max(self.clock, due)      # it arrives at its due time
            self._handle(request)
        self._cause = int(field_of(row, "seq"))
        self.clock = max(self.clock, ts)
        # 1. Expiry, every symbol, in order_id order.
        for order in self.orders():
            if order.expire_ns and order.expire_ns <= self.clock:
                self._close(order, OrdStatus.EXPIRED, ExecType.EXPIRED)
        # 2. The symbol's state.
        m = self.markets[s]
        if kind == "quote":
            m.bid, m.ask = float(field_of(row, "bid", NAN)), float(field_of(row, "ask", NAN))
            m.bid_size = float(field_of(row, "bid_size", 0.0))
            m.ask_size = float(field_of(row, "ask_size", 0.0))
            m.bid_taken = m.ask_taken = 0.0
            m.quoted = True
        else:
            m.last_px, m.last_size = float(field_of(row, "price")), float(field_of(row, "size"))
            m.traded = True
        # 3. Stops of s, in time priority: each one triggered arrives at once.
        self._just_triggered = set()
        for oid in list(m.book):
            order = self.all_orders[oid]
            if order.waiting and self._stop_hit(order, m):
                order.triggered = True
                self._just_triggered.add(oid)
                self._arrive(order)
        # 4. Resting orders of s (waiting stops and those just triggered excluded).
        if kind == "quote":
            self._match_quote_row(m)
        else:
            self._match_trade_row(m, float(field_of(row, "price")), float(field_of(row, "size")))

    @staticmethod
    def _stop_hit(order: RefOrder, m: RefMarket) -> bool:
        """A stop's trigger: the last trade through its stop price; a symbol that has
        never traded, the quote (buy: ask >= stop; sell: bid <= stop)."""
        if m.traded:
            p = m.last_px
            return p >= order.stop_price if order.side == Side.BUY else p <= order.stop_price
        return (m.ask >= order.stop_price if order.side == Side.BUY
                else m.bid <= order.stop_price)

    def _matchable(self, oid: int) -> RefOrder | None:
        order = self.all_orders[oid]
        if order.waiting or not order.is_open or oid in self._just_triggered:
            return None
        return order

    def _match_quote_row(self, m: RefMarket) -> None:
        for oid in list(m.book):
            order = self._matchable(oid)
            if order is None:
                continue
            touch, room = m.touch(order.side)
            if room <= 0 or not self._marketable(order, touch):
                continue
            qty = fill_qty(order, room)
            m.take(order.side, qty)
            # A resting limit fills at its own price, a market order at the touch.
            self._fill(order, touch if order.acts_as_market else order.price, qty)

    def _match_trade_row(self, m: RefMarket, p: float, size: float) -> None:
        used = {Side.BUY: 0.0, Side.SELL: 0.0}           # each side shares the trade's size
        for oid in list(m.book):
            order = self._matchable(oid)
            if order is None:
                continue
            room = size - used[order.side]
            if not room > 0:
                continue
            if order.acts_as_market:
                px = p
            else:
                through = p < order.price if order.side == Side.BUY else p > order.price
                if not through:
                    if p != order.price:
                        continue
                    # At exactly the limit: the size ahead in the queue trades first.
                    ahead = min(order.queue_ahead, room)
                    order.queue_ahead -= ahead
                    room -= ahead
                    used[order.side] += ahead
                    if not room > 0:
                        continue
                px = order.price
            qty = fill_qty(order, room)
            used[order.side] += qty
            self._fill(order, px, qty)

    @staticmethod
    def _marketable(order: RefOrder, touch: float) -> bool:
        if order.acts_as_market:
            return True
        return order.price >= touch if order.side == Side.BUY else order.price <= touch

    # -- an order request -------------------------------------------------------

    def _handle(self, r: RefRequest) -> None:
        self._cause = r.seq
        if not 0 <= r.account_id < len(self.accounts):
            self._reject_request(r, RejectReason.UNKNOWN_ACCOUNT, None)
        elif r.action == "new":
            self._new(r)
        elif r.action == "cancel":
            self._cancel(r)
        elif r.action == "replace":
            self._replace(r)
        else:
            self._cancel_all(r)

    def _new(self, r: RefRequest) -> None:
        # 2. duplicate cl_ord_id; from here on the id is used, even when rejected.
        key = (r.account_id, r.cl_ord_id)
        if key in self.ids:
            self._reject_request(r, RejectReason.DUPLICATE_CL_ORD_ID, None)
            return
        self.ids[key] = 0
        reason = self._new_checks(r)
        if reason != RejectReason.NONE:
            self._reject_request(r, reason, None)
            return
        # Accepted.
        expire_ns = 0
        if r.tif == TimeInForce.DAY:
            expire_ns = (self.clock // DAY_NS + 1) * DAY_NS        # the next UTC midnight
        elif r.tif == TimeInForce.GTD:
            expire_ns = r.expire_ns
        order = RefOrder(
            order_id=self.next_order_id, account_id=r.account_id, symbol_id=r.symbol_id,
            cl_ord_id=r.cl_ord_id, side=r.side, ord_type=OrdType(r.ord_type),
            tif=TimeInForce(r.tif), price=r.price, stop_price=r.stop_price, quantity=r.quantity,
            expire_ns=expire_ns, post_only=r.post_only)
        self.next_order_id += 1
        self.all_orders[order.order_id] = order
        self.ids[key] = order.order_id
        m = self.markets[r.symbol_id]
        m.book.append(order.order_id)
        self._report(order, ExecType.NEW)
        if order.is_stop:
            if not self._stop_hit(order, m):
                return                                     # waits for its trigger
            order.triggered = True
        self._arrive(order)

    def _new_checks(self, r: RefRequest) -> RejectReason:
        """Checks 3-11 of a NEW, in order; NONE if it passes."""
        if r.rate_limited:
            return RejectReason.RATE_LIMIT
        m = self.markets[r.symbol_id]
        if not m.has_market:
            return RejectReason.NO_MARKET
        if r.tif == TimeInForce.GTD and r.expire_ns <= self.clock:
            return RejectReason.EXPIRE_TIME_PASSED
        return self._risk_checks(r.account_id, r.symbol_id, r.side, OrdType(r.ord_type), r.price,
                                 r.stop_price, r.quantity, r.post_only, count_open=True)

    def _risk_checks(self, account_id: int, symbol_id: int, side: Side, ord_type: OrdType,
                     price: float, stop_price: float, quantity: float, post_only: bool,
                     count_open: bool) -> RejectReason:
        """Checks 6-11 (a replace skips 9, the open-orders count)."""
        account = self.accounts[account_id]
        m = self.markets[symbol_id]
        # 6. max order quantity
        if quantity > account.max_order_qty:
            return RejectReason.MAX_ORDER_QTY
        # 7. price collar (limit and stop_limit), around the mid (else the last trade)
        if ord_type in (OrdType.LIMIT, OrdType.STOP_LIMIT):
            ref = m.mark
            if ratio(abs(price - ref), ref) * 1e4 > account.price_collar_bps:
                return RejectReason.PRICE_COLLAR
        # 8. notional
        if ord_type in (OrdType.LIMIT, OrdType.STOP_LIMIT):
            ref_px = price
        elif ord_type == OrdType.STOP:
            ref_px = stop_price
        else:
            ref_px = m.ask if side == Side.BUY else m.bid
            if math.isnan(ref_px):
                ref_px = m.last_px
        if quantity * ref_px > account.max_notional:
            return RejectReason.MAX_NOTIONAL
        # 9. open orders of the account
        if count_open and account.max_open_orders is not None:
            if len(self.orders(account_id)) >= account.max_open_orders:
                return RejectReason.MAX_OPEN_ORDERS
        # 10. position after a full fill (other open orders not counted)
        position = self.pos.get((account_id, symbol_id))
        q = position.quantity if position is not None else 0.0
        signed = quantity if side == Side.BUY else -quantity
        if abs(q + signed) > account.max_position:
            return RejectReason.MAX_POSITION
        # 11. post-only limit that would cross the quoted side
        if post_only and ord_type == OrdType.LIMIT:
            crosses = price >= m.ask if side == Side.BUY else price <= m.bid
            if crosses:
                return RejectReason.POST_ONLY_WOULD_CROSS
        return RejectReason.NONE

    def _arrive(self, order: RefOrder) -> None:
        """An order that has just become active (accepted, a stop triggered, a
        replaced stop triggered): it takes the current quote at the touch, then FOK /
        IOC end it, and what is left rests (with its queue position)."""
        m = self.markets[order.symbol_id]
        touch, room = m.touch(order.side)
        marketable = self._marketable(order, touch)
        if order.tif == TimeInForce.FOK and not (marketable
                                                 and fill_qty(order, room) >= order.leaves_qty):
            self._close(order, OrdStatus.CANCELED, ExecType.CANCELED, RejectReason.FOK_UNFILLED)
            return
        self._take_touch(order)
        if not order.is_open:
            return                                          # filled
        if order.tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._close(order, OrdStatus.CANCELED, ExecType.CANCELED, RejectReason.IOC_REMAINDER)
            return
        self._set_queue(order)

    def _take_touch(self, order: RefOrder) -> None:
        """An incoming order fills at the touch (market and limit alike)."""
        m = self.markets[order.symbol_id]
        touch, room = m.touch(order.side)
        if room <= 0 or not self._marketable(order, touch):
            return
        qty = fill_qty(order, room)
        m.take(order.side, qty)
        self._fill(order, touch, qty)

    def _set_queue(self, order: RefOrder) -> None:
        """Queue position: a limit starting to rest at the quoted price has that size ahead."""
        m = self.markets[order.symbol_id]
        order.queue_ahead = 0.0
        if not self.queue_position or order.acts_as_market:
            return
        if order.side == Side.BUY and m.bid == order.price:
            order.queue_ahead = m.bid_size
        elif order.side == Side.SELL and m.ask == order.price:
            order.queue_ahead = m.ask_size

    def _target(self, r: RefRequest) -> tuple[RejectReason, RefOrder | None]:
        """The open order a cancel / replace names, or why there is none (and the
        order the id names, if any)."""
        oid = self.ids.get((r.account_id, r.orig_cl_ord_id))
        if oid is None:
            return RejectReason.UNKNOWN_ORDER, None
        order = self.all_orders.get(oid) if oid else None
        if order is None or not order.is_open:
            return RejectReason.TOO_LATE_TO_CANCEL, order
        return RejectReason.NONE, order

    def _own_id_used(self, r: RefRequest) -> bool:
        """A cancel / replace's own id (a cancel's may be 0: none) was used; it is
        marked used."""
        if r.cl_ord_id == 0:
            return r.action == "replace"
        key = (r.account_id, r.cl_ord_id)
        if key in self.ids:
            return True
        self.ids[key] = 0
        return False

    def _checked_target(self, r: RefRequest) -> RefOrder | None:
        """The open order of a cancel / replace, or None once its refusal is
        reported (its own id used, an unknown order, one no longer open)."""
        reason, order = self._target(r)         # before its own id is marked used
        if self._own_id_used(r):
            self._reject_request(r, RejectReason.DUPLICATE_CL_ORD_ID, order)
            return None
        if reason != RejectReason.NONE or order is None:
            self._reject_request(r, reason, order)
            return None
        return order

    def _cancel(self, r: RefRequest) -> None:
        order = self._checked_target(r)
        if order is None:
            return
        order.ord_status = OrdStatus.CANCELED
        self._unrest(order)
        self._report(order, ExecType.CANCELED, cl_ord_id=r.cl_ord_id or order.cl_ord_id,
                     orig_cl_ord_id=order.cl_ord_id)

    def _replace(self, r: RefRequest) -> None:
        order = self._checked_target(r)
        if order is None:
            return
        if given(r.quantity) and r.quantity <= order.cum_qty:
            self._reject_request(r, RejectReason.REPLACE_BELOW_FILLED, order)
            return
        quantity = r.quantity if given(r.quantity) else order.quantity
        price = r.price if given(r.price) else order.price
        stop_price = r.stop_price if given(r.stop_price) else order.stop_price
        reason = self._risk_checks(order.account_id, order.symbol_id, order.side, order.ord_type,
                                   price, stop_price, quantity, order.post_only,
                                   count_open=False)
        if reason != RejectReason.NONE:
            self._reject_request(r, reason, order)
            return
        # Accepted: new values and id (the old one names no open order now), to the back
        # of time priority, then matched as an incoming order.
        old_id = order.cl_ord_id
        self.ids[(order.account_id, old_id)] = 0
        self.ids[(order.account_id, r.cl_ord_id)] = order.order_id
        order.cl_ord_id, order.quantity, order.price, order.stop_price = (
            r.cl_ord_id, quantity, price, stop_price)
        m = self.markets[order.symbol_id]
        m.book.remove(order.order_id)
        m.book.append(order.order_id)
        self._report(order, ExecType.REPLACED, orig_cl_ord_id=old_id)
        if order.waiting:
            if not self._stop_hit(order, m):
                return
            order.triggered = True
            self._arrive(order)                # a stop triggers now: IOC / FOK apply
            return
        self._take_touch(order)                # an active order is never IOC / FOK: it rests
        if order.is_open:
            self._set_queue(order)

    def _cancel_all(self, r: RefRequest) -> None:
        for order in self.orders(r.account_id):
            if r.symbol_id < 0 or order.symbol_id == r.symbol_id:
                self._close(order, OrdStatus.CANCELED, ExecType.CANCELED)

    # -- fills, positions, reports -------------------------------------------------

    def _fill(self, order: RefOrder, px: float, qty: float) -> None:
        done = qty >= order.leaves_qty          # fill_qty takes the whole leaves, or less
        cum_old = order.cum_qty
        order.cum_qty = cum_old + qty
        order.avg_px = px if cum_old == 0 else (order.avg_px * cum_old + px * qty) / order.cum_qty
        order.ord_status = OrdStatus.FILLED if done else OrdStatus.PARTIALLY_FILLED
        if done:
            self._unrest(order)
        self._position_fill(order, px, qty)
        self._report(order, ExecType.FILL if done else ExecType.PARTIAL_FILL,
                     last_px=px, last_qty=qty)

    def _position_fill(self, order: RefOrder, px: float, qty: float) -> None:
        """Average cost: adding to the position moves its average price; reducing it
        realizes (px - avg) per unit closed; flipping opens the rest at px."""
        key = (order.account_id, order.symbol_id)
        p = self.pos.setdefault(key, RefPosition(order.account_id, order.symbol_id))
        d = qty if order.side == Side.BUY else -qty
        q, a = p.quantity, p.avg_px
        if q == 0 or (q > 0) == (d > 0):
            p.avg_px = (a * abs(q) + px * abs(d)) / (abs(q) + abs(d))
            p.quantity = q + d
        else:
            closed = min(abs(d), abs(q))
            p.realized_pnl += closed * (px - a) * (1.0 if q > 0 else -1.0)
            p.quantity = q + d
            if p.quantity == 0:
                p.avg_px = 0.0
            elif (p.quantity > 0) != (q > 0):
                p.avg_px = px
        p.fees += px * qty * self.accounts[order.account_id].fee_bps / 1e4
        p.fills += 1

    def _close(self, order: RefOrder, status: OrdStatus, exec_type: ExecType,
               reason: RejectReason = RejectReason.NONE) -> None:
        order.ord_status = status
        self._unrest(order)
        self._report(order, exec_type, reject_reason=reason)

    def _unrest(self, order: RefOrder) -> None:
        book = self.markets[order.symbol_id].book
        if order.order_id in book:
            book.remove(order.order_id)

    def _emit(self, rep: dict[str, Any]) -> None:
        """Number the report, add the position after it, and keep it."""
        p = self.pos.get((rep["account_id"], rep["symbol_id"]))
        rep["position"] = p.quantity if p else 0.0
        rep["position_avg_px"] = p.avg_px if p else 0.0
        rep["realized_pnl"] = p.realized_pnl if p else 0.0
        rep["fees"] = p.fees if p else 0.0
        rep["seq"] = self.next_exec_seq
        self.next_exec_seq += 1
        rep.update(cause_seq=self._cause, ts_ns=self.clock, recv_ns=0, done_ns=0)
        self._out.append({c: rep[c] for c in REPORT_COLUMNS})

    def _report(self, order: RefOrder, exec_type: ExecType, *, cl_ord_id: int | None = None,
                orig_cl_ord_id: int = 0, last_px: float = NAN, last_qty: float = 0.0,
                reject_reason: RejectReason = RejectReason.NONE) -> None:
        """A report of an order's state as it is now."""
        self._emit(dict(
            symbol_id=order.symbol_id, account_id=order.account_id,
            cl_ord_id=order.cl_ord_id if cl_ord_id is None else cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id, order_id=order.order_id, exec_type=exec_type,
            ord_status=order.ord_status, side=order.side, ord_type=order.ord_type, tif=order.tif,
            reject_reason=reject_reason, price=order.price, stop_price=order.stop_price,
            quantity=order.quantity, last_px=last_px, last_qty=last_qty, cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty, avg_px=order.avg_px, expire_ns=order.expire_ns,
            post_only=order.post_only))

    def _reject_request(self, r: RefRequest, reason: RejectReason, order: RefOrder | None) -> None:
        """A refused request. A NEW: the request, no order. A cancel / replace: the
        target's status and, if it is open, its order_id and state (symbol, side,
        types, fills); for an id that names no order, REJECTED and 0."""
        rep: dict[str, Any] = dict(
            symbol_id=r.symbol_id, account_id=r.account_id, cl_ord_id=r.cl_ord_id,
            orig_cl_ord_id=r.orig_cl_ord_id, order_id=0, exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED, side=r.side if r.action == "new" else 0,
            ord_type=r.ord_type, tif=r.tif,
            reject_reason=reason, price=r.price, stop_price=r.stop_price, quantity=r.quantity,
            last_px=NAN, last_qty=0.0, cum_qty=0.0, leaves_qty=0.0, avg_px=NAN, expire_ns=0,
            post_only=r.post_only)
        if r.action != "new" and order is not None:
            rep["ord_status"] = order.ord_status
            rep["order_id"] = order.order_id if order.is_open else 0
            if order.is_open:
                rep.update(symbol_id=order.symbol_id, side=order.side, ord_type=order.ord_type,
                           tif=order.tif, cum_qty=order.cum_qty, leaves_qty=order.leaves_qty,
                           avg_px=order.avg_px, expire_ns=order.expire_ns)
        self._emit(rep)
