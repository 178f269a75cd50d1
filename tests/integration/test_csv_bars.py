"""Bars from a replay of recorded trades, checked against pandas' resample of
the same file: open, high, low, close, volume, VWAP and trade count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mdstream
from mdstream import CSVFeed

TRADES = Path(__file__).parents[1] / "data" / "real" / "tardis_trades.csv"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("interval, rule", [("1s", "1s"), ("1m", "1min")])
def test_bars_of_real_trades_match_pandas_resample(interval, rule):
    engine = mdstream.Engine(feed=CSVFeed(TRADES, speed=0), bars=(interval,))
    sub = engine.subscribe()
    with engine:
        rows = np.concatenate([b.rows for b in sub])
    bars = rows[rows["kind"] == mdstream.BAR]

    df = pd.read_csv(TRADES)
    df["time"] = pd.to_datetime(df["timestamp"], unit="us")
    g = df.set_index("time").resample(rule)
    want = pd.DataFrame({
        "open": g["price"].first(), "high": g["price"].max(), "low": g["price"].min(),
        "close": g["price"].last(), "volume": g["amount"].sum(), "count": g["price"].count(),
        "notional": (df.set_index("time")["price"] * df.set_index("time")["amount"]).resample(rule).sum(),
    })
    want = want[want["count"] > 0]          # intervals without trades have no bar

    assert len(bars) == len(want) > 1
    assert np.array_equal(bars["ts_ns"], want.index.as_unit("ns").asi8)
    assert np.all(bars["interval_ns"] == pd.Timedelta(rule).value)
    np.testing.assert_allclose(bars["open"], want["open"])
    np.testing.assert_allclose(bars["high"], want["high"])
    np.testing.assert_allclose(bars["low"], want["low"])
    np.testing.assert_allclose(bars["price"], want["close"])
    np.testing.assert_allclose(bars["volume"], want["volume"], rtol=1e-9)
    np.testing.assert_allclose(bars["vwap"], want["notional"] / want["volume"], rtol=1e-9)
    assert np.array_equal(bars["trade_count"], want["count"])
    # Each bar comes before the first trade of the next interval, in sequence.
    trades = rows[rows["kind"] == mdstream.TRADE]
    for bar in bars[:-1]:
        later = trades[trades["ts_ns"] >= bar["ts_ns"] + bar["interval_ns"]]
        assert bar["seq"] < later["seq"][0]
