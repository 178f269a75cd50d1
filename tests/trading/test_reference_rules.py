"""The paper venue's reference (mdstream.venue.reference), rule by rule, on
examples worked out by hand from the spec (docs/guides/paper-venue.md)."""

from __future__ import annotations

import math

import pytest

from mdstream.venue.codes import ExecType, OrdStatus, OrdType, RejectReason, Side, TimeInForce
from mdstream.venue.config import Account, PaperVenue
from mdstream.venue.reference import DAY_NS, ReferenceVenue

NAN = float("nan")
T0 = 20_000 * DAY_NS + 12 * 3600 * 10**9          # noon UTC of some day


class Run:
    """A reference venue fed one row at a time, seqs and times counted here."""

    def __init__(self, *accounts: Account, symbols: int = 2, latency_ns: int = 0,
                 queue_position: bool = False):
        names = {f"acct{i}": a for i, a in enumerate(accounts or (Account(),))}
        self.venue = ReferenceVenue(PaperVenue(accounts=names, latency_ns=latency_ns,
                                               queue_position=queue_position), symbols)
        self.seq = 0
        self.ts = T0
        self.reports: list[dict] = []

    def _row(self, **row) -> list[dict]:
        row["seq"] = self.seq
        self.seq += 1
        out = self.venue.process(row)
        self.reports.extend(out)
        return out

    def _time(self, ts: int | None) -> int:
        self.ts = self.ts + 1_000 if ts is None else ts
        return self.ts

    def quote(self, bid: float, ask: float, bid_size: float = 10, ask_size: float = 10, *,
              sym: int = 0, ts: int | None = None) -> list[dict]:
        return self._row(kind="quote", ts_ns=self._time(ts), symbol_id=sym, bid=bid, ask=ask,
                         bid_size=bid_size, ask_size=ask_size, price=NAN, size=0.0)

    def trade(self, price: float, size: float, *, sym: int = 0, ts: int | None = None) -> list[dict]:
        return self._row(kind="trade", ts_ns=self._time(ts), symbol_id=sym, price=price, size=size,
                         bid=NAN, ask=NAN, bid_size=0.0, ask_size=0.0)

    def bar(self, *, sym: int = 0) -> list[dict]:
        return self._row(kind="bar", ts_ns=self._time(None), symbol_id=sym, price=1.0, size=1.0)

    def new(self, cl: int, side: str, qty: float, ord_type: str = "limit", price: float | None = None,
            *, stop: float | None = None, tif: str = "gtc", sym: int = 0, acct: int = 0,
            post_only: bool = False, expire_ns: int = 0, rate_limited: bool = False) -> list[dict]:
        return self._row(action="new", account_id=acct, symbol_id=sym, cl_ord_id=cl,
                         orig_cl_ord_id=0, side=side, ord_type=ord_type, tif=tif, price=price,
                         stop_price=stop, quantity=qty, expire_ns=expire_ns, post_only=post_only,
                         rate_limited=rate_limited)

    def cancel(self, orig: int, cl: int = 0, *, acct: int = 0) -> list[dict]:
        return self._row(action="cancel", account_id=acct, symbol_id=-1, cl_ord_id=cl,
                         orig_cl_ord_id=orig)

    def replace(self, orig: int, cl: int, *, price: float | None = None,
                qty: float | None = None, stop: float | None = None, acct: int = 0) -> list[dict]:
        return self._row(action="replace", account_id=acct, symbol_id=-1, cl_ord_id=cl,
                         orig_cl_ord_id=orig, price=price, quantity=qty, stop_price=stop)

    def cancel_all(self, sym: int = -1, *, acct: int = 0) -> list[dict]:
        return self._row(action="cancel_all", account_id=acct, symbol_id=sym, cl_ord_id=0,
                         orig_cl_ord_id=0)


def kinds(reports: list[dict]) -> list[tuple]:
    """(exec_type, ord_status, reject_reason) of each report."""
    return [(r["exec_type"], r["ord_status"], r["reject_reason"]) for r in reports]


def fills(reports: list[dict]) -> list[tuple]:
    """(cl_ord_id, last_px, last_qty) of each fill."""
    return [(r["cl_ord_id"], r["last_px"], r["last_qty"]) for r in reports
            if r["exec_type"] in (ExecType.PARTIAL_FILL, ExecType.FILL)]


NEW = (ExecType.NEW, OrdStatus.NEW, RejectReason.NONE)


def rejected(reason: RejectReason) -> tuple:
    return (ExecType.REJECTED, OrdStatus.REJECTED, reason)


# -- NEW: the checks, each reason, in the spec's order --------------------------------------

def test_unknown_account():
    run = Run()
    run.quote(99, 101)
    (rep,) = run.new(1, "buy", 1, price=100, acct=3)
    assert kinds([rep]) == [rejected(RejectReason.UNKNOWN_ACCOUNT)]
    assert rep["order_id"] == 0 and rep["leaves_qty"] == 0 and rep["account_id"] == 3


def test_duplicate_cl_ord_id_counts_rejected_requests_and_is_per_account():
    run = Run(Account(), Account())
    assert kinds(run.new(1, "buy", 1, price=100)) == [rejected(RejectReason.NO_MARKET)]
    run.quote(99, 101)
    # The id of a rejected order is used: the same id again is a duplicate.
    assert kinds(run.new(1, "buy", 1, price=100)) == [rejected(RejectReason.DUPLICATE_CL_ORD_ID)]
    assert kinds(run.new(2, "buy", 1, price=100)) == [NEW]
    assert kinds(run.new(2, "buy", 1, price=100)) == [rejected(RejectReason.DUPLICATE_CL_ORD_ID)]
    # Another account has its own ids.
    assert kinds(run.new(2, "buy", 1, price=100, acct=1)) == [NEW]
    # A cancel's own id and a replace's new id are used too.
    run.cancel(2, cl=3)
    assert kinds(run.new(3, "buy", 1, price=100)) == [rejected(RejectReason.DUPLICATE_CL_ORD_ID)]
    run.replace(2, 4, acct=1, qty=2)
    assert kinds(run.new(4, "buy", 1, price=100, acct=1)) == [
        rejected(RejectReason.DUPLICATE_CL_ORD_ID)]


def test_rate_limit_comes_before_no_market_and_uses_the_id():
    run = Run()
    (rep,) = run.new(1, "buy", 1, price=100, rate_limited=True)
    assert kinds([rep]) == [rejected(RejectReason.RATE_LIMIT)]
    run.quote(99, 101)
    assert kinds(run.new(1, "buy", 1, price=100)) == [rejected(RejectReason.DUPLICATE_CL_ORD_ID)]


def test_no_market_until_the_symbol_has_a_quote_or_a_trade():
    run = Run()
    run.quote(99, 101, sym=1)           # another symbol's market does not count
    run.bar(sym=0)                      # bars are ignored
    assert kinds(run.new(1, "buy", 1, price=100)) == [rejected(RejectReason.NO_MARKET)]
    run.trade(100, 1)
    assert kinds(run.new(2, "buy", 1, price=100)) == [NEW]


def test_gtd_expire_time_passed():
    run = Run()
    run.quote(99, 101, ts=T0)
    assert kinds(run.new(1, "buy", 1, price=100, tif="gtd", expire_ns=T0)) == [
        rejected(RejectReason.EXPIRE_TIME_PASSED)]
    (rep,) = run.new(2, "buy", 1, price=100, tif="gtd", expire_ns=T0 + 1)
    assert kinds([rep]) == [NEW] and rep["expire_ns"] == T0 + 1


def test_max_order_qty():
    run = Run(Account(max_order_qty=10))
    run.quote(99, 101)
    assert kinds(run.new(1, "buy", 10, price=100)) == [NEW]
    assert kinds(run.new(2, "buy", 10.5, price=100)) == [rejected(RejectReason.MAX_ORDER_QTY)]


def test_price_collar_against_the_mid_then_the_last_trade():
    run = Run(Account(price_collar_bps=50))
    run.trade(200, 1, sym=1)
    run.quote(99, 101)                  # mid 100
    # |100.5 - 100| / 100 * 1e4 = 50 bps: not more than 50, accepted; 100.6: 60 bps.
    assert kinds(run.new(1, "sell", 1, price=100.5)) == [NEW]
    assert kinds(run.new(2, "sell", 1, price=100.6)) == [rejected(RejectReason.PRICE_COLLAR)]
    assert kinds(run.new(3, "buy", 1, price=99.5)) == [NEW]
    # stop_limit: its limit price is collared, a stop's stop price is not.
    assert kinds(run.new(4, "buy", 1, "stop_limit", price=120, stop=110)) == [
        rejected(RejectReason.PRICE_COLLAR)]
    assert kinds(run.new(5, "buy", 1, "stop", stop=120)) == [NEW]
    # Market orders are not collared.
    assert kinds(run.new(6, "buy", 1, "market"))[0] == NEW
    # Symbol 1 has only traded (200): 201 is 50 bps away, 201.5 is 75.
    assert kinds(run.new(7, "sell", 1, price=201, sym=1)) == [NEW]
    assert kinds(run.new(8, "sell", 1, price=201.5, sym=1)) == [rejected(RejectReason.PRICE_COLLAR)]


def test_max_notional_reference_prices():
    run = Run(Account(max_notional=1000))
    run.trade(50, 1, sym=1)
    run.quote(99, 101, ask_size=0, bid_size=0)
    # limit: quantity * limit price (10 * 100 = 1000 is not above 1000)
    assert kinds(run.new(1, "buy", 10, price=100)) == [NEW]
    assert kinds(run.new(2, "buy", 10, price=100.5)) == [rejected(RejectReason.MAX_NOTIONAL)]
    # market buy: quantity * ask (10 * 101 = 1010); market sell: * bid (10 * 99 = 990)
    assert kinds(run.new(3, "buy", 10, "market")) == [rejected(RejectReason.MAX_NOTIONAL)]
    assert kinds(run.new(4, "sell", 10, "market")) == [NEW]
    # stop: quantity * stop price (stop 120: 1200)
    assert kinds(run.new(5, "buy", 10, "stop", stop=120)) == [rejected(RejectReason.MAX_NOTIONAL)]
    # a market order on a symbol that only traded: quantity * last trade (20 * 50 = 1000)
    assert kinds(run.new(6, "buy", 20, "market", sym=1))[0] == NEW
    assert kinds(run.new(7, "buy", 21, "market", sym=1)) == [rejected(RejectReason.MAX_NOTIONAL)]


def test_max_open_orders_counts_every_symbol_and_frees_on_cancel():
    run = Run(Account(max_open_orders=2))
    run.quote(99, 101)
    run.quote(99, 101, sym=1)
    assert kinds(run.new(1, "buy", 1, price=98)) == [NEW]
    assert kinds(run.new(2, "buy", 1, "stop", stop=150, sym=1)) == [NEW]   # a waiting stop is open
    assert kinds(run.new(3, "buy", 1, price=98)) == [rejected(RejectReason.MAX_OPEN_ORDERS)]
    run.cancel(1)
    assert kinds(run.new(4, "buy", 1, price=98)) == [NEW]


def test_max_position_is_the_position_plus_this_order_only():
    run = Run(Account(max_position=10))
    run.quote(99, 101, ask_size=100, bid_size=100)
    run.new(1, "buy", 8, "market")                       # long 8
    # Open orders do not count: two buys of 2 are each fine (|8 + 2| = 10).
    assert kinds(run.new(2, "buy", 2, price=90)) == [NEW]
    assert kinds(run.new(3, "buy", 2, price=90)) == [NEW]
    assert kinds(run.new(4, "buy", 3, price=90)) == [rejected(RejectReason.MAX_POSITION)]
    assert kinds(run.new(5, "sell", 18, price=110)) == [NEW]      # |8 - 18| = 10
    assert kinds(run.new(6, "sell", 19, price=110)) == [rejected(RejectReason.MAX_POSITION)]


def test_post_only_would_cross_on_the_quoted_side_only():
    run = Run()
    run.quote(99, 101)
    assert kinds(run.new(1, "buy", 1, price=101, post_only=True)) == [
        rejected(RejectReason.POST_ONLY_WOULD_CROSS)]
    assert kinds(run.new(2, "sell", 1, price=99, post_only=True)) == [
        rejected(RejectReason.POST_ONLY_WOULD_CROSS)]
    assert kinds(run.new(3, "buy", 1, price=100.9, post_only=True)) == [NEW]
    # No ask: a buy cannot cross.
    run.quote(99, NAN, ask_size=0)
    assert kinds(run.new(4, "buy", 1, price=500, post_only=True)) == [NEW]


def test_checks_run_in_the_spec_order():
    run = Run(Account(max_order_qty=5, price_collar_bps=10, max_notional=300, max_position=1))
    run.quote(99, 101)
    # fails 6, 7, 8 and 10: the first (max order qty) is reported
    assert kinds(run.new(1, "buy", 6, price=200)) == [rejected(RejectReason.MAX_ORDER_QTY)]
    # fails 7, 8, 10: collar
    assert kinds(run.new(2, "buy", 5, price=200)) == [rejected(RejectReason.PRICE_COLLAR)]
    # fails 8 and 10: notional 5 * 100 = 500
    assert kinds(run.new(3, "buy", 5, price=100)) == [rejected(RejectReason.MAX_NOTIONAL)]
    # fails 10 only (notional 2 * 100 = 200)
    assert kinds(run.new(4, "buy", 2, price=100)) == [rejected(RejectReason.MAX_POSITION)]
    # GTD in the past beats everything after it
    assert kinds(run.new(5, "buy", 6, price=200, tif="gtd", expire_ns=1)) == [
        rejected(RejectReason.EXPIRE_TIME_PASSED)]


def test_a_rejected_new_reports_the_request():
    run = Run()
    (rep,) = run.new(7, "sell", 3, "stop_limit", price=95, stop=96, tif="day")
    assert rep["cl_ord_id"] == 7 and rep["order_id"] == 0
    assert (rep["side"], rep["ord_type"], rep["tif"]) == (Side.SELL, OrdType.STOP_LIMIT,
                                                         TimeInForce.DAY)
    assert (rep["price"], rep["stop_price"], rep["quantity"]) == (95, 96, 3)
    assert rep["cum_qty"] == 0 and rep["leaves_qty"] == 0 and rep["last_qty"] == 0
    assert math.isnan(rep["last_px"]) and math.isnan(rep["avg_px"])
    assert rep["seq"] == 0 and rep["cause_seq"] == 0


# -- incoming orders against the quote; IOC and FOK -------------------------------------

def test_incoming_limit_fills_at_the_touch_and_rests_the_rest():
    run = Run()
    run.quote(99, 101, ask_size=4)
    out = run.new(1, "buy", 10, price=103)
    # Takes the 4 at the ask (101, not its limit 103), the 6 left rest.
    assert kinds(out) == [NEW, (ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED,
                                RejectReason.NONE)]
    assert fills(out) == [(1, 101, 4)]
    assert out[1]["leaves_qty"] == 6 and out[1]["cum_qty"] == 4 and out[1]["avg_px"] == 101
    (order,) = run.venue.orders()
    assert order.leaves_qty == 6


def test_size_taken_from_a_quote_is_gone_until_the_next_quote():
    run = Run()
    run.quote(99, 101, ask_size=10)
    assert fills(run.new(1, "buy", 6, "market")) == [(1, 101, 6)]
    assert fills(run.new(2, "buy", 6, "market")) == [(2, 101, 4)]      # 10 - 6 left
    assert fills(run.new(3, "buy", 1, "market")) == []                 # none left: rests
    # A new quote resets what was taken; resting market orders fill at the ask in
    # time priority (2 first, then 3), a resting limit at its own price.
    out = run.quote(99, 102, ask_size=2)
    assert fills(out) == [(2, 102, 2)]
    out = run.quote(99, 102, ask_size=5)
    assert fills(out) == [(3, 102, 1)]


def test_resting_limit_fills_at_its_price_on_a_better_quote():
    run = Run()
    run.quote(99, 101)
    run.new(1, "buy", 5, price=100)
    run.new(2, "sell", 5, price=103)
    out = run.quote(104, 99.5, bid_size=3, ask_size=2)       # crossed quote: both sides trade
    assert fills(out) == [(1, 100, 2), (2, 103, 3)]


def test_ioc_fills_what_it_can_then_the_remainder_is_canceled():
    run = Run()
    run.quote(99, 101, ask_size=3)
    out = run.new(1, "buy", 5, price=101, tif="ioc")
    assert kinds(out) == [NEW, (ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED, RejectReason.NONE),
                          (ExecType.CANCELED, OrdStatus.CANCELED, RejectReason.IOC_REMAINDER)]
    assert out[2]["cum_qty"] == 3 and out[2]["leaves_qty"] == 0
    # Not marketable: canceled at once, no fill.
    assert kinds(run.new(2, "buy", 5, price=100, tif="ioc"))[1:] == [
        (ExecType.CANCELED, OrdStatus.CANCELED, RejectReason.IOC_REMAINDER)]
    # Filled in full: no cancel.
    run.quote(99, 101, ask_size=3)
    assert kinds(run.new(3, "sell", 3, "market", tif="ioc"))[1:] == [
        (ExecType.FILL, OrdStatus.FILLED, RejectReason.NONE)]
    assert run.venue.orders() == []


def test_fok_fills_in_full_or_not_at_all():
    run = Run()
    run.quote(99, 101, ask_size=5)
    out = run.new(1, "buy", 6, "market", tif="fok")
    assert kinds(out) == [NEW, (ExecType.CANCELED, OrdStatus.CANCELED, RejectReason.FOK_UNFILLED)]
    assert out[1]["cum_qty"] == 0
    # Exactly the size at the touch: filled.
    assert fills(run.new(2, "buy", 5, price=101, tif="fok")) == [(2, 101, 5)]
    # The size was taken: the same again finds none left.
    assert kinds(run.new(3, "buy", 1, "market", tif="fok"))[1][2] == RejectReason.FOK_UNFILLED
    # A limit that is not marketable.
    run.quote(99, 101, ask_size=5)
    assert kinds(run.new(4, "buy", 1, price=100.99, tif="fok"))[1][2] == RejectReason.FOK_UNFILLED
    # No quote at all (a symbol that only trades): nothing fits.
    run.trade(50, 100, sym=1)
    assert kinds(run.new(5, "sell", 1, "market", tif="fok", sym=1))[1][2] == (
        RejectReason.FOK_UNFILLED)


# -- symbols with only quotes, only trades -----------------------------------------------

def test_symbol_with_only_trades():
    run = Run()
    run.trade(100, 5)
    # No quote: an incoming order does not fill; market and limit rest.
    assert kinds(run.new(1, "buy", 3, "market")) == [NEW]
    assert kinds(run.new(2, "sell", 4, price=101)) == [NEW]
    assert kinds(run.new(3, "buy", 4, price=99)) == [NEW]
    # A trade of 5 at 101 fills the market buy at 101 (3), and the sell at 101
    # (p == its limit: 4; buys and sells each share the trade's size); the buy at 99
    # is not reached.
    out = run.trade(101, 5)
    assert fills(out) == [(1, 101, 3), (2, 101, 4)]
    # A trade through the buy's limit fills it at its limit price.
    assert fills(run.trade(98, 10)) == [(3, 99, 4)]


def test_symbol_with_only_quotes_never_fills_on_its_absent_sides():
    run = Run()
    run.quote(NAN, 101, bid_size=0, ask_size=5)
    assert kinds(run.new(1, "sell", 2, "market")) == [NEW]          # no bid: rests
    assert fills(run.new(2, "buy", 2, "market")) == [(2, 101, 2)]
    assert fills(run.quote(100, 101, bid_size=1)) == [(1, 100, 1)]


# -- stops -----------------------------------------------------------------------------

def test_stops_trigger_on_trades_through_the_stop_price_and_take_the_quote():
    run = Run()
    run.trade(100, 1)
    run.quote(99, 101, ask_size=50, bid_size=50)
    assert kinds(run.new(1, "buy", 5, "stop", stop=105)) == [NEW]
    assert kinds(run.new(2, "sell", 5, "stop_limit", price=94, stop=95)) == [NEW]
    # A quote never triggers a stop once the symbol has traded.
    assert run.quote(110, 111, ask_size=3) == []
    assert run.trade(104.99, 10) == []
    # 105 triggers the buy stop: a market order now, it arrives and takes the ask
    # (3 at 111); the trade that triggered it does not fill it.
    out = run.trade(105, 100)
    assert fills(out) == [(1, 111, 3)]
    assert out[0]["ord_type"] == OrdType.STOP              # reports keep the order's type
    # The rest fills on the next quote, at the ask (a market order).
    assert fills(run.quote(104, 106, ask_size=10)) == [(1, 106, 2)]
    # 95 triggers the sell stop_limit (limit 94): the bid (93) is below its limit, so
    # it rests, and the trigger's own trade does not fill it ...
    run.quote(93, 96, bid_size=10)
    assert run.trade(95, 20) == []
    (order,) = run.venue.orders()
    assert order.triggered and order.leaves_qty == 5
    # ... the next trade at its limit does.
    assert fills(run.trade(94, 2)) == [(2, 94, 2)]


def test_stops_trigger_on_quotes_while_the_symbol_has_never_traded():
    run = Run()
    run.quote(99, 101)
    run.new(1, "buy", 2, "stop", stop=102)
    run.new(2, "sell", 2, "stop", stop=97)
    # ask 102 >= 102 triggers the buy stop; it fills at the ask of this quote.
    assert fills(run.quote(99, 102, ask_size=10)) == [(1, 102, 2)]
    # bid 97 <= 97 triggers the sell.
    assert fills(run.quote(97, 102, bid_size=10)) == [(2, 97, 2)]


def test_a_stop_through_at_acceptance_is_an_incoming_order():
    run = Run()
    run.trade(100, 1)
    run.quote(99, 101, ask_size=3)
    # Last trade 100 >= stop 100: triggered at once, a limit at 102 taking the ask at 101.
    out = run.new(1, "buy", 5, "stop_limit", price=102, stop=100)
    assert fills(out) == [(1, 101, 3)]
    assert run.venue.orders()[0].triggered
    # IOC stop: the remainder is canceled at once.
    out = run.new(2, "sell", 15, "stop", stop=100, tif="ioc")
    assert fills(out) == [(2, 99, 10)]
    assert kinds(out)[-1][2] == RejectReason.IOC_REMAINDER


def test_an_ioc_stop_that_triggers_later_takes_the_quote_then_is_canceled():
    run = Run()
    run.trade(100, 1)
    run.quote(99, 101, ask_size=3)
    assert kinds(run.new(1, "buy", 5, "stop", stop=103, tif="ioc")) == [NEW]
    out = run.trade(103, 100)
    # At trigger it is matched against the quote (3 at 101), then canceled: the
    # trade that triggered it does not fill it.
    assert fills(out) == [(1, 101, 3)]
    assert kinds(out)[-1] == (ExecType.CANCELED, OrdStatus.CANCELED, RejectReason.IOC_REMAINDER)


# -- queue position ------------------------------------------------------------------------

def test_queue_position_trades_at_the_limit_use_up_the_size_ahead_first():
    run = Run(queue_position=True)
    run.quote(99, 101, bid_size=30)
    run.new(1, "buy", 10, price=99)             # joins the bid: 30 ahead of it
    assert fills(run.trade(99, 20)) == []        # 10 ahead left
    # 15 at 99: 10 go to the queue ahead, 5 fill.
    assert fills(run.trade(99, 15)) == [(1, 99, 5)]
    # The queue ahead stays used up: later trades at 99 fill it directly.
    assert fills(run.trade(99, 2)) == [(1, 99, 2)]
    run.new(2, "buy", 10, price=98.5)           # not at the bid: nothing ahead
    # A trade through the limit ignores the queue.
    out = run.trade(98, 4)
    assert fills(out) == [(1, 99, 3), (2, 98.5, 1)]


def test_without_queue_position_a_trade_at_the_limit_fills():
    run = Run()
    run.quote(99, 101, bid_size=30)
    run.new(1, "buy", 10, price=99)
    assert fills(run.trade(99, 4)) == [(1, 99, 4)]


def test_queue_position_for_sells_and_the_size_ahead_is_used_by_the_row():
    run = Run(queue_position=True)
    run.quote(99, 101, ask_size=5)
    run.new(1, "sell", 3, price=101)            # 5 ahead at the ask
    run.new(2, "sell", 3, price=100.5)          # inside the spread: nothing ahead
    # A trade of 4 at 101: order 1 comes first in time priority, and the 4 go to the
    # size ahead of it (1 left ahead); nothing is left of the trade for order 2.
    assert fills(run.trade(101, 4)) == []
    # 10 at 101: 1 to the size ahead, 3 fill order 1, and order 2 (101 > 100.5) gets 3
    # of the 6 left, at its limit.
    assert fills(run.trade(101, 10)) == [(1, 101, 3), (2, 100.5, 3)]


# -- cancel, replace, cancel all -------------------------------------------------------------

def test_cancel_rules():
    run = Run()
    run.quote(99, 101)
    run.new(1, "buy", 5, price=100)
    run.new(2, "buy", 5, "market")                  # fills at once
    (rep,) = run.cancel(1, cl=10)
    assert kinds([rep]) == [(ExecType.CANCELED, OrdStatus.CANCELED, RejectReason.NONE)]
    assert (rep["cl_ord_id"], rep["orig_cl_ord_id"], rep["order_id"]) == (10, 1, 1)
    assert rep["leaves_qty"] == 0
    # Twice: too late; a filled order: too late, with its status.
    (rep,) = run.cancel(1, cl=11)
    assert kinds([rep]) == [(ExecType.REJECTED, OrdStatus.CANCELED, RejectReason.TOO_LATE_TO_CANCEL)]
    assert rep["order_id"] == 0 and rep["cl_ord_id"] == 11 and rep["orig_cl_ord_id"] == 1
    (rep,) = run.cancel(2)
    assert kinds([rep]) == [(ExecType.REJECTED, OrdStatus.FILLED, RejectReason.TOO_LATE_TO_CANCEL)]
    # Never used: unknown order.
    (rep,) = run.cancel(99)
    assert kinds([rep]) == [rejected(RejectReason.UNKNOWN_ORDER)]
    # Own id already used: duplicate (before the target is looked at).
    run.new(3, "buy", 5, price=100)
    (rep,) = run.cancel(3, cl=1)
    assert kinds([rep]) == [(ExecType.REJECTED, OrdStatus.NEW, RejectReason.DUPLICATE_CL_ORD_ID)]
    assert rep["order_id"] == 3
    assert [o.order_id for o in run.venue.orders()] == [3]


def test_cancel_of_another_accounts_order_is_unknown():
    run = Run(Account(), Account())
    run.quote(99, 101)
    run.new(1, "buy", 5, price=100, acct=0)
    assert kinds(run.cancel(1, acct=1)) == [rejected(RejectReason.UNKNOWN_ORDER)]


def test_replace_racing_a_fill():
    run = Run()
    run.quote(99, 101)
    run.new(1, "buy", 10, price=100)
    run.trade(100, 4)                                 # 4 filled, 6 left
    # A replace down to 4 (or fewer) is below what is filled.
    (rep,) = run.replace(1, 2, qty=4)
    assert kinds([rep]) == [(ExecType.REJECTED, OrdStatus.PARTIALLY_FILLED,
                             RejectReason.REPLACE_BELOW_FILLED)]
    assert rep["order_id"] == 1 and rep["cl_ord_id"] == 2 and rep["orig_cl_ord_id"] == 1
    # 6 is fine: 2 left.
    (rep,) = run.replace(1, 3, qty=6)
    assert kinds([rep]) == [(ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED, RejectReason.NONE)]
    assert (rep["cl_ord_id"], rep["orig_cl_ord_id"], rep["leaves_qty"], rep["cum_qty"]) == (3, 1, 2, 4)
    run.trade(99, 10)                                 # the rest fills
    (rep,) = run.replace(3, 4, price=98)
    assert kinds([rep]) == [(ExecType.REJECTED, OrdStatus.FILLED, RejectReason.TOO_LATE_TO_CANCEL)]
    assert kinds(run.replace(50, 5, price=98)) == [rejected(RejectReason.UNKNOWN_ORDER)]
    # The new id is used: a duplicate, reported with the target's status.
    assert kinds(run.replace(3, 5, price=98)) == [
        (ExecType.REJECTED, OrdStatus.FILLED, RejectReason.DUPLICATE_CL_ORD_ID)]


def test_replace_moves_to_the_back_and_can_become_marketable():
    run = Run()
    run.quote(99, 101, ask_size=2)
    run.new(1, "buy", 3, price=100)
    run.new(2, "buy", 3, price=100)
    # Same price and quantity, but it goes behind order 2.
    run.replace(1, 3, price=100)
    assert fills(run.trade(100, 4)) == [(2, 100, 3), (3, 100, 1)]
    # Raised to 101: matched at once as an incoming order, at the touch.
    out = run.replace(3, 4, price=101.5)
    assert kinds(out)[0][0] == ExecType.REPLACED
    assert fills(out) == [(4, 101, 2)]
    assert out[-1]["avg_px"] == pytest.approx((100 * 1 + 101 * 2) / 3)


def test_replace_runs_the_risk_checks_on_the_new_values_but_not_open_orders():
    run = Run(Account(max_open_orders=1, max_order_qty=10, price_collar_bps=100))
    run.quote(99, 101)
    run.new(1, "buy", 5, price=100)
    assert kinds(run.replace(1, 2, qty=11)) == [
        (ExecType.REJECTED, OrdStatus.NEW, RejectReason.MAX_ORDER_QTY)]
    assert kinds(run.replace(1, 3, price=102)) == [
        (ExecType.REJECTED, OrdStatus.NEW, RejectReason.PRICE_COLLAR)]
    assert kinds(run.replace(1, 4, qty=10)) == [
        (ExecType.REPLACED, OrdStatus.NEW, RejectReason.NONE)]
    (order,) = run.venue.orders()
    assert (order.cl_ord_id, order.quantity, order.price) == (4, 10, 100)


def test_replace_of_a_post_only_order_that_would_cross():
    run = Run()
    run.quote(99, 101)
    run.new(1, "sell", 5, price=102, post_only=True)
    assert kinds(run.replace(1, 2, price=99)) == [
        (ExecType.REJECTED, OrdStatus.NEW, RejectReason.POST_ONLY_WOULD_CROSS)]


def test_cancel_all_in_order_id_order_and_by_symbol():
    run = Run(Account(), Account())
    run.quote(99, 101)
    run.quote(99, 101, sym=1)
    run.new(1, "buy", 1, price=98, sym=1)
    run.new(2, "buy", 1, price=98, sym=0)
    run.new(3, "buy", 1, price=98, sym=1)
    run.new(1, "buy", 1, price=98, sym=1, acct=1)
    out = run.cancel_all(1)
    assert [(r["order_id"], r["exec_type"]) for r in out] == [(1, ExecType.CANCELED),
                                                              (3, ExecType.CANCELED)]
    assert [r["cl_ord_id"] for r in run.cancel_all()] == [2]
    assert run.cancel_all() == []                     # none left: no report
    assert [o.account_id for o in run.venue.orders()] == [1]


# -- expiry and the event clock ---------------------------------------------------------------

def test_day_orders_expire_at_the_next_utc_midnight_of_the_event_clock():
    run = Run()
    run.quote(99, 101, ts=T0)
    (rep,) = run.new(1, "buy", 1, price=98, tif="day")
    midnight = (T0 // DAY_NS + 1) * DAY_NS
    assert rep["expire_ns"] == midnight
    run.new(2, "buy", 1, price=98, tif="gtd", expire_ns=midnight - 5)
    run.new(3, "buy", 1, "stop", stop=200, tif="gtd", expire_ns=midnight - 5)
    assert run.quote(99, 101, sym=1, ts=midnight - 6) == []
    # Expiry happens on any symbol's row, in order_id order, before the row's own matching.
    out = run.quote(97, 98, sym=1, ts=midnight - 5)
    assert [(r["order_id"], r["exec_type"], r["ord_status"]) for r in out] == [
        (2, ExecType.EXPIRED, OrdStatus.EXPIRED), (3, ExecType.EXPIRED, OrdStatus.EXPIRED)]
    assert out[0]["ts_ns"] == midnight - 5 and out[0]["leaves_qty"] == 0
    out = run.trade(98, 5, ts=midnight)
    assert kinds(out) == [(ExecType.EXPIRED, OrdStatus.EXPIRED, RejectReason.NONE)]


def test_the_clock_never_goes_back():
    run = Run()
    run.quote(99, 101, ts=T0)
    run.trade(100, 1, ts=T0 - 10**12)          # an older time: the clock stays at T0
    (rep,) = run.new(1, "buy", 1, price=98, tif="gtd", expire_ns=T0)
    assert rep["reject_reason"] == RejectReason.EXPIRE_TIME_PASSED and rep["ts_ns"] == T0


# -- latency -----------------------------------------------------------------------------------

def test_latency_delays_every_request_until_a_market_row_at_its_due_time():
    run = Run(latency_ns=100)
    run.quote(99, 101, ask_size=5, ts=1_000)
    assert run.new(1, "buy", 2, "market") == []                     # due at 1_100
    assert run.cancel(1) == []                                      # due at 1_100 too
    assert run.quote(99, 101, ts=1_050) == []                       # not yet
    out = run.trade(100, 1, ts=1_100)
    # Processed first, in arrival order, against the quote as it was before this row,
    # at their arrival time (1_100), each report caused by its request.
    assert kinds(out) == [NEW, (ExecType.FILL, OrdStatus.FILLED, RejectReason.NONE),
                          (ExecType.REJECTED, OrdStatus.FILLED, RejectReason.TOO_LATE_TO_CANCEL)]
    assert [r["cause_seq"] for r in out] == [1, 1, 2]
    assert {r["ts_ns"] for r in out} == {1_100}
    # A request without a market row after it waits for ever.
    assert run.new(2, "buy", 1, price=90) == []
    assert run.venue.orders() == []


def test_latency_checks_run_at_processing_time():
    run = Run(latency_ns=10)
    run.new(1, "buy", 1, price=100)                 # clock 0: due at 10
    out = run.quote(99, 101, ts=T0)
    # Processed before the quote is applied: the symbol has no market yet.
    assert kinds(out) == [rejected(RejectReason.NO_MARKET)]


# -- fills, fees and positions -----------------------------------------------------------------

def test_fees_and_position_average_cost_and_realized_pnl():
    run = Run(Account(fee_bps=10))
    big = 1_000
    run.quote(99, 100, bid_size=big, ask_size=big)
    run.new(1, "buy", 10, "market")        # +10 @ 100: avg 100; fee 100*10*10/1e4 = 1.0
    run.quote(109, 110, bid_size=big, ask_size=big)
    run.new(2, "buy", 10, "market")        # +10 @ 110: avg (100*10 + 110*10)/20 = 105; fee 1.1
    run.quote(120, 121, bid_size=big, ask_size=big)
    # -15 @ 120: closes 15 of 20: realized 15 * (120 - 105) = 225; long 5 @ 105; fee 1.8
    out = run.new(3, "sell", 15, "market")
    assert (out[-1]["position"], out[-1]["position_avg_px"]) == (5, 105)
    assert out[-1]["realized_pnl"] == pytest.approx(225)
    run.quote(100, 101, bid_size=big, ask_size=big)
    # -10 @ 100: closes the 5: realized += 5 * (100 - 105) = -25 -> 200; flips short 5 @ 100;
    # fee 100*10*10/1e4 = 1.0; fees 1.0 + 1.1 + 1.8 + 1.0 = 4.9
    out = run.new(4, "sell", 10, "market")
    rep = out[-1]
    assert rep["position"] == -5 and rep["position_avg_px"] == 100
    assert rep["realized_pnl"] == pytest.approx(200) and rep["fees"] == pytest.approx(4.9)
    # +5 @ 101 closes the short: realized += 5 * (101 - 100) * -1 = -5 -> 195; flat, avg 0.
    out = run.new(5, "buy", 5, "market")
    rep = out[-1]
    assert rep["position"] == 0 and rep["position_avg_px"] == 0
    assert rep["realized_pnl"] == pytest.approx(195)
    assert rep["fees"] == pytest.approx(4.9 + 101 * 5 * 10 / 1e4)
    (pos,) = run.venue.positions()
    assert pos.fills == 5 and pos.unrealized_pnl == 0


def test_unrealized_pnl_at_the_mid_or_the_last_trade():
    run = Run()
    run.quote(99, 101)
    run.new(1, "buy", 2, "market")                 # long 2 @ 101
    run.trade(50, 1, sym=1)
    run.new(2, "sell", 3, "market", sym=1)         # rests: no quote on symbol 1
    run.trade(50, 1, sym=1)                        # short 1 @ 50
    run.trade(40, 1, sym=1)                        # short 2 @ 45 (40 and 50), mark 40
    long_, short = run.venue.positions()
    assert long_.unrealized_pnl == (100 - 101) * 2
    assert short.quantity == -2 and short.avg_px == 45
    assert short.unrealized_pnl == (40 - 45) * -2


def test_every_report_carries_the_position_after_it_and_numbers_itself():
    run = Run()
    run.quote(99, 101)
    out = run.new(1, "buy", 3, "market") + run.new(2, "buy", 1, price=90)
    assert [r["seq"] for r in out] == [0, 1, 2]
    assert [r["position"] for r in out] == [0, 3, 3]        # NEW before the fill, then after
    assert [r["order_id"] for r in out] == [1, 1, 2]


# -- readings where the spec leaves a choice (the module docstring lists them) ---------------

def test_after_a_replace_the_old_id_names_no_open_order():
    run = Run()
    run.quote(99, 101)
    run.new(1, "buy", 5, price=100)
    run.replace(1, 2, price=99)
    (rep,) = run.cancel(1)
    assert kinds([rep]) == [rejected(RejectReason.TOO_LATE_TO_CANCEL)]
    assert kinds(run.cancel(2))[0][0] == ExecType.CANCELED


def test_a_replaced_stop_through_the_market_triggers_at_once():
    run = Run()
    run.trade(100, 1)
    run.quote(99, 101, ask_size=2)
    run.new(1, "buy", 5, "stop", stop=105)
    # stop 100: the last trade (100) is through it: it triggers and takes the ask.
    out = run.replace(1, 2, stop=100)
    assert kinds(out)[0][0] == ExecType.REPLACED
    assert fills(out) == [(2, 101, 2)]
    # A FOK stop triggered by its replace: all or nothing (2 offered, 5 wanted).
    run.new(3, "buy", 5, "stop", stop=105, tif="fok")
    run.quote(99, 101, ask_size=2)
    out = run.replace(3, 4, stop=100)
    assert kinds(out)[1] == (ExecType.CANCELED, OrdStatus.CANCELED, RejectReason.FOK_UNFILLED)


def test_refused_requests_report_the_request_where_no_order_is_known():
    run = Run()
    run.quote(99, 101)
    (rep,) = run.cancel(5, cl=6)
    assert (rep["symbol_id"], rep["side"], rep["ord_type"], rep["tif"]) == (-1, 0, 0, 0)
    assert math.isnan(rep["quantity"]) and rep["position"] == 0
    run.new(1, "sell", 4, price=100)
    run.trade(101, 1)                         # 1 filled at 100
    (rep,) = run.replace(1, 2, qty=1)         # refused after the target was found
    assert rep["reject_reason"] == RejectReason.REPLACE_BELOW_FILLED
    assert (rep["symbol_id"], rep["side"], rep["ord_type"], rep["quantity"]) == (
        0, Side.SELL, OrdType.LIMIT, 1)
    assert (rep["cum_qty"], rep["leaves_qty"], rep["avg_px"], rep["position"]) == (1, 3, 100, -1)
    assert math.isnan(rep["price"])           # not given by the replace


def test_reports_of_an_older_row_carry_the_clock():
    run = Run()
    run.quote(99, 101, ts=T0)
    run.new(1, "buy", 2, price=100)
    # A quote stamped before the clock: it still fills the order, and the report's
    # ts_ns is the event clock (T0), not the row's.
    (rep,) = run.quote(98, 100, ask_size=5, ts=T0 - 10)
    assert rep["exec_type"] == ExecType.FILL and rep["ts_ns"] == T0 and rep["cause_seq"] == 2
