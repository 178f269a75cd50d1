"""What the CLI prints keeps every significant digit of a value, whatever its
magnitude, and a replay's age is not reported as a latency."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdstream.cli.latency import LatencyMeter
from mdstream.cli.output import amount, format_result, fmt_age, px, qty


@pytest.mark.parametrize("value, text", [
    (1e-9, "0.000000001"), (1e9, "1000000000.00"), (-37.63, "-37.63"), (208.4, "208.40"),
    (86.655, "86.655"), (0.00012345, "0.00012345"), (123456789.123, "123456789.123"),
    (1e-15, "1e-15"), (0.0, "0.00"), (float("nan"), "-"),
])
def test_prices_keep_their_digits(value, text):
    assert px(value) == text


@pytest.mark.parametrize("value, text", [
    (1200, "1,200"), (0.132, "0.132"), (1e-9, "0.000000001"), (2.5e9, "2,500,000,000"),
    (0.1 + 0.2, "0.30000000000000004"),
])
def test_sizes_keep_their_digits(value, text):
    assert qty(value) == text


def test_amounts_have_twelve_significant_digits():
    assert amount(4793.889999999999) == "4,793.89"
    assert amount(1e-9) == "0.000000001"
    assert amount(123456789012.5) == "123,456,789,012.50"


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False).filter(
    lambda x: x == 0 or abs(x) >= 1e-12))
def test_a_price_reads_back_as_the_same_number(x):
    assert float(px(x)) == x


@given(st.lists(st.floats(min_value=1e-12, max_value=1e12), min_size=2, max_size=2, unique=True))
def test_different_prices_never_print_the_same(pair):
    a, b = pair
    assert px(a) != px(b)


def test_a_trade_line_shows_tiny_and_huge_values():
    row = {"seq": 7, "kind": 0, "ts_ns": 0, "price": 1e-9, "size": 3e9, "value": 3.0,
           "vwap": 1e-9, "volume": 3e9, "bid": 0.0, "ask": 0.0, "bid_size": 0.0,
           "ask_size": 0.0, "open": 0.0, "high": 0.0, "low": 0.0, "trade_count": 1,
           "interval_ns": 0}
    line = format_result("PEPE", row)
    assert line == ("[PY] PEPE -> 3.00  px=0.000000001 size=3,000,000,000 vwap=0.000000001 "
                    "vol=3,000,000,000  seq=7")


def test_replayed_results_are_counted_apart_from_the_latency():
    meter = LatencyMeter(since_ns=1_000_000_000)
    recv = np.array([100_000_000, 200_000_000, 1_000_000_000, 1_500_000_000], dtype=np.int64)
    meter.add(recv, now_ns=1_501_000_000)
    assert meter.replayed == 2
    p50, p99, p999, top = meter.overall()       # ms: only the two live results
    assert top == pytest.approx(501.0) and p50 == pytest.approx(251.0)
    age = meter.replayed_age()
    assert age[3] == pytest.approx(1401.0)
    assert fmt_age(meter.replayed, age) == (
        "; 2 replayed results (received by the engine before this subscription, "
        "age p50 1.351 s max 1.401 s)")
    assert fmt_age(0, None) == ""
