"""Property tests: the core's per-symbol analytics against the plain-Python reference."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mdstream
from mdstream._core import RESULT_DTYPE, TICK_DTYPE
from mdstream._testing import compute_analytics, simulate_ticks
from mdstream.reference import (
    ANALYTICS_FIELDS,
    BAR,
    OHLCV,
    QUOTE,
    TRADE,
    ReferenceAnalytics,
    reference_results,
)

NAN = float("nan")

# --- building ticks ---------------------------------------------------------------------

prices = st.one_of(
    st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False),
    st.integers(1, 100_000).map(lambda c: c / 100.0),          # cents, as real prices are
)
sizes = st.one_of(
    st.just(0.0),
    st.integers(1, 10_000).map(float),
    st.floats(min_value=0.0, max_value=1e9, allow_nan=False, allow_infinity=False),
)
quote_sizes = st.one_of(st.just(0.0), st.integers(1, 100).map(lambda k: 100.0 * k))


@st.composite
def tick_rows(draw, n_symbols):
    sid = draw(st.integers(0, n_symbols - 1))
    kind = draw(st.sampled_from([TRADE, TRADE, QUOTE, QUOTE, OHLCV]))
    if kind == TRADE:
        return (sid, TRADE, draw(prices), draw(sizes), 0.0, 0.0, 0.0, 0.0)
    if kind == OHLCV:       # (close, volume, open, high, low) with low <= open, close <= high
        low, a, b, high = sorted(draw(st.lists(prices, min_size=4, max_size=4)))
        open_, close = (a, b) if draw(st.booleans()) else (b, a)
        return (sid, OHLCV, close, draw(sizes), open_, high, low, 0.0)
    bid = draw(prices)
    spread = draw(st.one_of(st.just(0.0), st.floats(0.0, 10.0, allow_nan=False),
                            st.floats(-1.0, 0.0, allow_nan=False)))   # locked and crossed too
    return (sid, QUOTE, 0.0, 0.0, bid, bid + spread, draw(quote_sizes), draw(quote_sizes))


@st.composite
def tick_sequences(draw):
    n_symbols = draw(st.integers(1, 4))
    rows = draw(st.lists(tick_rows(n_symbols), max_size=60))
    return n_symbols, rows


alphas = st.one_of(st.just(1.0), st.just(2.0 / 21.0),
                   st.floats(min_value=1e-6, max_value=1.0, exclude_min=True))


def make_ticks(rows) -> np.ndarray:
    ticks = np.zeros(len(rows), dtype=TICK_DTYPE)
    for i, (sid, kind, price, size, bid, ask, bid_size, ask_size) in enumerate(rows):
        t = ticks[i]
        t["seq"] = i
        t["ts_ns"] = 1_700_000_000_000_000_000 + i
        t["recv_ns"] = 1_700_000_000_000_000_500 + i
        t["symbol_id"], t["kind"] = sid, kind
        t["price"], t["size"] = price, size
        t["bid"], t["ask"], t["bid_size"], t["ask_size"] = bid, ask, bid_size, ask_size
        t["interval_ns"] = 60_000_000_000 if kind == OHLCV else 0
    return ticks


def assert_same_results(core: np.ndarray, ref: np.ndarray, fields=ANALYTICS_FIELDS):
    assert len(core) == len(ref)
    for name in fields:
        a, b = core[name], ref[name]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True,
                                       err_msg=f"field {name!r} differs")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"field {name!r} differs")


# --- the core agrees with the reference ------------------------------------------------


@settings(max_examples=150)
@given(seq=tick_sequences(), alpha=alphas)
@example(seq=(1, []), alpha=0.1)
# Quotes only: no trade yet, so vwap/high/low/ema are NaN and volatility 0.
@example(seq=(1, [(0, QUOTE, 0.0, 0.0, 10.0, 10.02, 100.0, 200.0)] * 2), alpha=0.1)
# A trade before any quote carries NaN bid/ask/mid/spread; a zero-size trade
# leaves the volume 0 (vwap NaN) but sets high, low and ema.
@example(seq=(2, [(1, TRADE, 5.0, 0.0, 0, 0, 0, 0), (1, TRADE, 6.0, 0.0, 0, 0, 0, 0)]), alpha=0.5)
# One return is not enough for a volatility; equal prices give a zero return.
@example(seq=(1, [(0, TRADE, 7.0, 1.0, 0, 0, 0, 0)] * 3), alpha=1.0)
# Interleaved symbols keep separate state; a later quote shows up on trades.
@example(seq=(2, [(0, TRADE, 10.0, 5.0, 0, 0, 0, 0), (1, TRADE, 20.0, 1.0, 0, 0, 0, 0),
                  (0, QUOTE, 0, 0, 9.99, 10.01, 100.0, 300.0), (0, TRADE, 10.5, 2.0, 0, 0, 0, 0),
                  (1, TRADE, 19.0, 3.0, 0, 0, 0, 0), (0, TRADE, 9.5, 1.0, 0, 0, 0, 0)]),
         alpha=0.2)
# Extreme but finite magnitudes.
@example(seq=(1, [(0, TRADE, 1e-6, 1e9, 0, 0, 0, 0), (0, TRADE, 1e7, 1e-9, 0, 0, 0, 0),
                  (0, TRADE, 1e-6, 0.0, 0, 0, 0, 0)]), alpha=1e-6)
def test_core_matches_reference(seq, alpha):
    n_symbols, rows = seq
    ticks = make_ticks(rows)
    core, seconds = compute_analytics(ticks, alpha, n_symbols)
    ref = reference_results(ticks, alpha)
    assert core.dtype == RESULT_DTYPE
    assert seconds >= 0
    assert_same_results(core, ref)
    # The tick's identity passes through untouched.
    for name in ("seq", "ts_ns", "recv_ns"):
        np.testing.assert_array_equal(core[name], ticks[name])
    assert (core["done_ns"] == 0).all()
    bars = ticks["kind"] == OHLCV          # input bars: a bar result with their open and interval
    assert (core["interval_ns"][~bars] == 0).all()
    assert np.isnan(core["open"][~bars]).all()
    np.testing.assert_array_equal(core["open"][bars], ticks["bid"][bars])
    np.testing.assert_array_equal(core["interval_ns"][bars], ticks["interval_ns"][bars])
    np.testing.assert_array_equal(core["open"], ref["open"])


@settings(max_examples=100)
@given(seq=tick_sequences(), alpha=alphas)
def test_reference_against_first_principles(seq, alpha):
    """Hold the reference itself to the definitions, computed the slow, obvious way
    over the whole history (so the core is not only compared with a twin)."""
    n_symbols, rows = seq
    ra = ReferenceAnalytics(alpha, keep_returns=True)
    history: dict[int, list[tuple[float, float]]] = {s: [] for s in range(n_symbols)}
    quote: dict[int, tuple] = {}
    for sid, kind, price, size, bid, ask, bid_size, ask_size in rows:
        r = ra.update(sid, kind, price, size, bid, ask, bid_size, ask_size)
        trades = history[sid]
        if kind == OHLCV:       # the bar as given; the symbol's state unchanged
            assert (r["kind"], r["price"], r["size"], r["volume"]) == (BAR, price, size, size)
            assert (r["high"], r["low"], r["trade_count"]) == (ask, bid_size, 0)
            assert math.isnan(r["value"]) and math.isnan(r["vwap"])
            q = quote.get(sid, (NAN, NAN, NAN, NAN))
            np.testing.assert_equal((r["bid"], r["ask"], r["bid_size"], r["ask_size"]), q)
            continue
        if kind == TRADE:
            history[sid].append((price, size))
            assert r["value"] == price * size
            assert (r["price"], r["size"]) == (price, size)
        else:
            quote[sid] = (bid, ask, bid_size, ask_size)
            assert r["value"] == 0.0 and r["size"] == 0.0
            assert r["price"] == pytest.approx((bid + ask) / 2)
        q = quote.get(sid, (NAN, NAN, NAN, NAN))
        assert r["trade_count"] == len(trades)
        vol = math.fsum(s for _, s in trades)
        assert r["volume"] == pytest.approx(vol, rel=1e-9, abs=0)
        if vol > 0:
            vwap = math.fsum(p * s for p, s in trades) / vol
            assert r["vwap"] == pytest.approx(vwap, rel=1e-9)
        else:
            assert math.isnan(r["vwap"])
        if trades:
            assert r["high"] == max(p for p, _ in trades)
            assert r["low"] == min(p for p, _ in trades)
            ema = trades[0][0]
            for p, _ in trades[1:]:
                ema = ema + alpha * (p - ema)
            assert r["ema"] == pytest.approx(ema, rel=1e-12)
        else:
            assert math.isnan(r["high"]) and math.isnan(r["low"]) and math.isnan(r["ema"])
        rets = [math.log(b / a) for (a, _), (b, _) in zip(trades, trades[1:])]
        if len(rets) >= 2:
            assert r["volatility"] == pytest.approx(statistics.stdev(rets), rel=1e-7, abs=1e-12)
        else:
            assert r["volatility"] == 0.0
        np.testing.assert_equal((r["bid"], r["ask"], r["bid_size"], r["ask_size"]), q)
        np.testing.assert_allclose([r["mid"], r["spread"]], [(q[0] + q[1]) / 2, q[1] - q[0]],
                                   rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", [1, 7, 2**63 + 5])
@pytest.mark.parametrize("quote_ratio", [0.0, 0.2, 1.0])
def test_core_matches_reference_on_simulated_ticks(seed, quote_ratio):
    ticks = simulate_ticks(5_000, seed, 5, quote_ratio=quote_ratio)
    alpha = 2.0 / 21.0
    core, _ = compute_analytics(ticks, alpha, 5)
    assert_same_results(core, reference_results(ticks, alpha))


def test_analytics_state_is_per_call():
    ticks = simulate_ticks(1_000, 3, 2)
    a, _ = compute_analytics(ticks, 0.1, 2)
    b, _ = compute_analytics(ticks, 0.1, 2)
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))
    # Unused symbol slots do not matter.
    c, _ = compute_analytics(ticks, 0.1, 50)
    assert_same_results(c, a)


def test_compute_analytics_rejects_bad_ticks():
    ticks = make_ticks([(0, TRADE, 1.0, 1.0, 0, 0, 0, 0)])
    with pytest.raises(mdstream.InvalidArgumentError, match="symbol id 0"):
        compute_analytics(ticks, 0.1, 0)
    bad = ticks.copy()
    bad["symbol_id"] = -1
    with pytest.raises(mdstream.InvalidArgumentError, match="-1"):
        compute_analytics(bad, 0.1, 4)
    bad = ticks.copy()
    bad["kind"] = 2
    with pytest.raises(mdstream.InvalidArgumentError, match="kind"):
        compute_analytics(bad, 0.1, 4)
    with pytest.raises(mdstream.InvalidArgumentError, match="dtype"):
        compute_analytics(np.zeros(3, dtype=np.float64), 0.1, 4)
    empty, seconds = compute_analytics(np.zeros(0, dtype=TICK_DTYPE), 0.1, 4)
    assert len(empty) == 0 and empty.dtype == RESULT_DTYPE


NON_CONTIGUOUS = """
import numpy as np
from mdstream._testing import compute_analytics, simulate_ticks
ticks = simulate_ticks(20_000, 1, 4)
view = ticks[::2]                         # a strided view: not C-contiguous
got, _ = compute_analytics(view, 0.1, 4)
want, _ = compute_analytics(view.copy(), 0.1, 4)
assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), "results differ"
print("ok")
"""


@pytest.mark.timeout(60)
def test_compute_analytics_on_a_strided_view(run_snippet):
    """A non-contiguous tick array is analysed like its contiguous copy (in a
    child interpreter: reading freed memory may crash it)."""
    proc = run_snippet(NON_CONTIGUOUS, timeout=30)
    assert proc is not None, "compute_analytics hung"
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (
        f"exit {proc.returncode}: {proc.stderr[-2000:]}")


# --- the simulated ticks ----------------------------------------------------------------


@settings(max_examples=30)
@given(seed=st.integers(0, 2**64 - 1), n=st.integers(0, 3000), n_symbols=st.integers(1, 9),
       quote_ratio=st.floats(0.0, 1.0))
def test_simulated_ticks_are_deterministic_and_well_formed(seed, n, n_symbols, quote_ratio):
    a = simulate_ticks(n, seed, n_symbols, quote_ratio=quote_ratio)
    b = simulate_ticks(n, seed, n_symbols, quote_ratio=quote_ratio)
    assert a.dtype == TICK_DTYPE and len(a) == n
    assert a.tobytes() == b.tobytes()
    # A shorter run is a prefix of a longer one: batching does not change the stream.
    assert simulate_ticks(n // 2, seed, n_symbols, quote_ratio=quote_ratio).tobytes() \
        == a[: n // 2].tobytes()
    assert ((a["symbol_id"] >= 0) & (a["symbol_id"] < n_symbols)).all()
    assert np.isin(a["kind"], [TRADE, QUOTE]).all()
    trades, quotes = a[a["kind"] == TRADE], a[a["kind"] == QUOTE]
    if quote_ratio == 0.0:
        assert len(quotes) == 0
    if quote_ratio == 1.0:
        assert len(trades) == 0
    assert (trades["price"] > 0).all()
    np.testing.assert_allclose(trades["price"] * 100, np.round(trades["price"] * 100), atol=1e-6)
    assert ((trades["size"] >= 1) & (trades["size"] <= 100)).all()
    assert (trades["size"] == np.round(trades["size"])).all()
    assert ((quotes["bid"] > 0) & (quotes["ask"] > quotes["bid"])).all()
    for col in ("bid_size", "ask_size"):
        assert ((quotes[col] >= 100) & (quotes[col] <= 1000) & (quotes[col] % 100 == 0)).all()


def test_simulated_ticks_differ_between_seeds():
    base = simulate_ticks(2_000, 1, 3)
    for seed in (2, 3, 1 + 2**32, 2**64 - 1):
        other = simulate_ticks(2_000, seed, 3)
        assert not np.array_equal(base["price"], other["price"]), seed
        assert not np.array_equal(base["symbol_id"], other["symbol_id"]), seed


def test_simulated_mix_of_trades_and_quotes_follows_the_ratio():
    ticks = simulate_ticks(20_000, 11, 3, quote_ratio=0.25)
    share = (ticks["kind"] == QUOTE).mean()
    assert 0.2 < share < 0.3
    counts = np.bincount(ticks["symbol_id"], minlength=3)
    assert (counts > 20_000 / 3 * 0.8).all()       # symbols picked uniformly
