"""Results as tables: pandas, Arrow (with the PyCapsule interface) and Polars
hold the same values as the batch, with names, kinds and times as asked."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import mdstream
from mdstream import BAR, QUOTE, TRADE, RESULT_DTYPE, ResultBatch, Snapshot

pa = pytest.importorskip("pyarrow")      # the test extra installs both
pl = pytest.importorskip("polars")


def batch(n: int = 6) -> ResultBatch:
    rows = np.zeros(n, dtype=RESULT_DTYPE)
    rows["seq"] = np.arange(n) + 100
    rows["ts_ns"] = 1_582_329_600_000_000_000 + np.arange(n) * 1_000
    rows["recv_ns"] = rows["ts_ns"] + 5
    rows["symbol_id"] = np.arange(n) % 3
    rows["kind"] = [TRADE, QUOTE, BAR, TRADE, QUOTE, TRADE][:n]
    rows["price"] = np.linspace(-37.63, 9682.31, n)
    rows["size"] = np.arange(n) * 0.5
    rows["bid"] = np.nan
    return ResultBatch(rows, ["AAPL", "MSFT", None])


def test_to_pandas_has_every_column_names_and_kinds():
    b = batch()
    df = b.to_pandas()
    assert list(df.columns[:5]) == ["seq", "ts_ns", "recv_ns", "symbol_id", "symbol"]
    assert set(RESULT_DTYPE.names) < set(df.columns)
    np.testing.assert_array_equal(df["price"].to_numpy(), b.price)
    np.testing.assert_array_equal(df["seq"].to_numpy(), b.seq)
    assert df["symbol"].tolist() == ["AAPL", "MSFT", "#2", "AAPL", "MSFT", "#2"]
    assert df["kind"].tolist() == ["trade", "quote", "bar", "trade", "quote", "trade"]
    assert str(df["kind"].dtype) == "category" and df["ts_ns"].dtype == np.int64
    assert df["bid"].isna().all()


def test_datetimes_are_utc_nanoseconds():
    df = batch().to_pandas(datetimes=True)
    assert str(df["ts_ns"].dtype) == "datetime64[ns, UTC]"
    assert df["ts_ns"][1] == pd.Timestamp("2020-02-22 00:00:00.000001", tz="UTC")
    rb = batch().to_arrow(datetimes=True)
    assert rb.schema.field("ts_ns").type == pa.timestamp("ns", tz="UTC")
    assert rb.column("recv_ns")[0].value == 1_582_329_600_000_000_005


def test_to_arrow_and_the_pycapsule_interface():
    b = batch()
    rb = b.to_arrow()
    assert rb.num_rows == len(b)
    assert rb.column("symbol").to_pylist() == ["AAPL", "MSFT", "#2", "AAPL", "MSFT", "#2"]
    assert rb.column("kind").to_pylist()[:3] == ["trade", "quote", "bar"]
    assert rb.column("price").to_pylist() == b.price.tolist()
    via_capsule = pa.record_batch(b)               # __arrow_c_array__
    assert via_capsule.schema == rb.schema
    assert via_capsule.column("price").equals(rb.column("price"))
    assert pa.table(b).num_rows == len(b)           # __arrow_c_stream__
    frame = pl.DataFrame(b)                         # Polars takes the batch directly
    assert frame["price"].to_list() == b.price.tolist()


def test_to_polars():
    b = batch()
    frame = b.to_polars()
    assert frame.height == len(b)
    assert frame["symbol"].to_list()[:3] == ["AAPL", "MSFT", "#2"]
    assert frame["size"].to_list() == b.size.tolist()


def test_an_empty_batch_and_a_snapshot():
    empty = ResultBatch(np.zeros(0, dtype=RESULT_DTYPE), [])
    assert len(empty.to_pandas()) == 0 and empty.to_arrow().num_rows == 0
    snap = Snapshot(41, batch(3))
    assert snap.to_pandas().attrs["as_of_seq"] == 41
    assert snap.to_arrow().schema.metadata[b"as_of_seq"] == b"41"
    assert snap.to_polars().height == 3


def test_a_real_stream_as_a_table():
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, count=5000, seed=7)
    engine = mdstream.Engine(feed=feed, workers=2)
    sub = engine.subscribe()
    with engine:
        frames = [b.to_pandas() for b in sub]
    df = pd.concat(frames, ignore_index=True)
    assert df["seq"].tolist() == list(range(5000))
    assert set(df["symbol"]) == {"AAPL", "MSFT"}


def test_a_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"pip install 'mdstream\[arrow\]'"):
        batch().to_arrow()
