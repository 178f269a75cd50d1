"""mdstream.tick_rules, and the core against the reference on the inputs the
rules let in: prices of any sign and 0, quotes with an absent side."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mdstream import tick_rules
from mdstream._core import TICK_DTYPE
from mdstream._testing import compute_analytics
from mdstream.reference import QUOTE, TRADE, ReferenceAnalytics, reference_results

from test_analytics_properties import alphas, assert_same_results, make_ticks

NAN, INF = float("nan"), float("inf")


def arr(*values):
    return np.array(values, dtype=np.float64)


# --- the rules -------------------------------------------------------------------------

def test_trades_take_any_finite_price_and_sizes_at_least_zero():
    assert tick_rules.trade_problems(arr(-37.63, 0.0, 18.27, -1e9), arr(1, 0, 5, 2)) == []
    price, size = arr(1.0, INF, NAN, 1.0, 1.0), arr(1.0, 1.0, 1.0, -1.0, INF)
    problems = tick_rules.trade_problems(price, size)
    assert [p.field for p in problems] == ["price", "size"]
    assert problems[0].mask.tolist() == [False, True, True, False, False]
    assert problems[1].mask.tolist() == [False, False, False, True, True]
    assert problems[0].describe(1) == "the price must be a finite number, got inf"
    assert problems[1].describe(3) == "the size must be a finite number >= 0, got -1.0"
    assert tick_rules.first_problem(problems) == (1, "the price must be a finite number, got inf")


def test_an_absent_quote_side_is_nan_with_size_zero():
    # 0.00 x 0, empty cells (NaN x NaN), NaN x 0: all "no bid"; a 0 bid with a
    # size is a real price of 0; negative prices are real.
    bid, bs = arr(0.0, NAN, NAN, 0.0, -0.25), arr(0.0, NAN, 0.0, 10.0, 5.0)
    ask, asz = arr(0.05, 0.05, 0.05, 0.05, 0.10), arr(10.0, 10.0, 10.0, 10.0, 0.0)
    assert tick_rules.quote_problems(bid, ask, bs, asz) == []
    np.testing.assert_array_equal(bid, [NAN, NAN, NAN, 0.0, -0.25])
    np.testing.assert_array_equal(bs, [0.0, 0.0, 0.0, 10.0, 5.0])
    # The ask side too; a quote may have neither side.
    bid, bs, ask, asz = arr(1.0, 0.0), arr(5.0, 0.0), arr(0.0, NAN), arr(0.0, 0.0)
    assert tick_rules.quote_problems(bid, ask, bs, asz) == []
    np.testing.assert_array_equal(ask, [NAN, NAN])
    np.testing.assert_array_equal(bid, [1.0, NAN])


@pytest.mark.parametrize("bid, bid_size, ask, ask_size, field, message", [
    (NAN, 5.0, 1.0, 1.0, "bid",
     "the bid is missing (NaN) but the bid_size is 5.0: a side with a size needs a finite price"),
    (INF, 0.0, 1.0, 1.0, "bid", "the bid must be a finite number, got inf"),
    (1.0, 1.0, INF, 1.0, "ask", "the ask must be a finite number, got inf"),
    (1.0, 1.0, -INF, 0.0, "ask", "the ask must be a finite number, got -inf"),
    (1.0, -1.0, 2.0, 1.0, "bid_size", "the bid_size must be a finite number >= 0, got -1.0"),
    (1.0, 1.0, 2.0, INF, "ask_size", "the ask_size must be a finite number >= 0, got inf"),
    (1.0, NAN, 2.0, 1.0, "bid_size", "the bid_size must be a finite number >= 0, got nan"),
])
def test_bad_quotes_name_the_field(bid, bid_size, ask, ask_size, field, message):
    problems = tick_rules.quote_problems(arr(bid), arr(ask), arr(bid_size), arr(ask_size))
    assert [p.field for p in problems] == [field]
    assert problems[0].describe(0) == message


def test_check_ticks_indexes_the_whole_array():
    ticks = np.zeros(4, dtype=TICK_DTYPE)
    ticks["kind"] = [TRADE, QUOTE, TRADE, QUOTE]
    ticks["price"] = [1.0, 0.0, -2.0, 0.0]
    ticks["size"] = [1.0, 0.0, 1.0, 0.0]
    ticks["bid"], ticks["bid_size"] = [0, 0.0, 0, 1.0], [0, 0.0, 0, 1.0]
    ticks["ask"], ticks["ask_size"] = [0, 2.0, 0, INF], [0, 1.0, 0, 1.0]
    problems = tick_rules.check_ticks(ticks, TRADE, QUOTE)
    assert tick_rules.first_problem(problems) == (3, "the ask must be a finite number, got inf")
    assert math.isnan(ticks["bid"][1]) and ticks["bid_size"][1] == 0.0


@pytest.mark.parametrize("values, codes", [
    (["buy", "sell", "BUY", "Sell", " b ", "S"], [1, -1, 1, -1, 1, -1]),
    (["A", "B", "N", "a", "b", "n"], [-1, 1, 0, -1, 1, 0]),
    (["1", "-1", "0", "bid", "ask", "Bid", "ASK"], [1, -1, 0, 1, -1, 1, -1]),
    (["hold", "", "x", "unknown", "?"], [0, 0, 0, 0, 0]),
])
def test_side_codes(values, codes):
    assert tick_rules.side_codes(values).tolist() == codes


def test_side_codes_of_a_categorical_series_with_missing_values():
    pd = pytest.importorskip("pandas")
    s = pd.Series(["A", None, "B", "N", "zz", "A"], dtype="category")
    assert tick_rules.side_codes(s).tolist() == [-1, 0, 1, 0, 0, -1]


# --- the core and the reference on prices of any sign, and absent sides ----------------

any_price = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.integers(-10_000, 10_000).map(lambda c: c / 100.0),   # cents through 0 and below
    st.just(0.0),
)
sizes = st.one_of(st.just(0.0), st.integers(1, 1000).map(float))


@st.composite
def rows_any_sign(draw, n_symbols):
    sid = draw(st.integers(0, n_symbols - 1))
    if draw(st.booleans()):
        return (sid, TRADE, draw(any_price), draw(sizes), 0.0, 0.0, 0.0, 0.0)
    side = lambda: draw(st.one_of(st.tuples(st.just(NAN), st.just(0.0)),      # absent
                                  st.tuples(any_price, st.integers(1, 50).map(float))))
    (bid, bs), (ask, asz) = side(), side()
    return (sid, QUOTE, 0.0, 0.0, bid, ask, bs, asz)


@st.composite
def sequences_any_sign(draw):
    n_symbols = draw(st.integers(1, 3))
    return n_symbols, draw(st.lists(rows_any_sign(n_symbols), max_size=60))


@settings(max_examples=150)
@given(seq=sequences_any_sign(), alpha=alphas)
# WTI crude, 17-21 April 2020: through zero to -37.63 and back.
@example(seq=(1, [(0, TRADE, p, 1.0, 0, 0, 0, 0) for p in (18.27, 1.0, 0.0, -37.63, -5.0, 10.01, 12.0)]),
         alpha=0.5)
# A quote without a bid (deep out-of-the-money option), then a trade.
@example(seq=(1, [(0, QUOTE, 0, 0, NAN, 0.05, 0.0, 10.0), (0, TRADE, 0.05, 1.0, 0, 0, 0, 0)]),
         alpha=0.1)
def test_core_matches_reference_with_any_sign_and_absent_sides(seq, alpha):
    n_symbols, rows = seq
    ticks = make_ticks(rows)
    core, _ = compute_analytics(ticks, alpha, n_symbols)
    ref = reference_results(ticks, alpha)
    assert_same_results(core, ref)
    trades = core[core["kind"] == TRADE]
    assert not np.isnan(trades["volatility"]).any()          # never NaN, whatever the signs
    assert not np.isnan(trades["ema"]).any() and not np.isnan(trades["low"]).any()
    quotes = core[core["kind"] == QUOTE]
    absent = np.isnan(quotes["bid"]) | np.isnan(quotes["ask"])
    assert np.isnan(quotes["mid"][absent]).all() and np.isnan(quotes["spread"][absent]).all()
    assert np.isnan(quotes["price"][absent]).all()           # a quote's price is its mid


@settings(max_examples=100)
@given(seq=sequences_any_sign(), alpha=alphas)
def test_reference_vwap_low_and_volatility_with_any_sign(seq, alpha):
    """The reference against the definitions: VWAP, low and EMA over every
    trade; the volatility over the returns between two consecutive prices > 0."""
    n_symbols, rows = seq
    ra = ReferenceAnalytics(alpha)
    history: dict[int, list[tuple[float, float]]] = {s: [] for s in range(n_symbols)}
    for sid, kind, price, size, bid, ask, bid_size, ask_size in rows:
        r = ra.update(sid, kind, price, size, bid, ask, bid_size, ask_size)
        if kind != TRADE:
            continue
        trades = history[sid]
        trades.append((price, size))
        vol = math.fsum(s for _, s in trades)
        if vol > 0:
            want = math.fsum(p * s for p, s in trades) / vol
            assert r["vwap"] == pytest.approx(want, rel=1e-9, abs=1e-9)
        assert r["low"] == min(p for p, _ in trades) and r["high"] == max(p for p, _ in trades)
        rets = [math.log(b) - math.log(a) for (a, _), (b, _) in zip(trades, trades[1:])
                if a > 0 and b > 0]
        if len(rets) >= 2:
            assert r["volatility"] == pytest.approx(statistics.stdev(rets), rel=1e-7, abs=1e-12)
        else:
            assert r["volatility"] == 0.0
