"""The CSV, Parquet and DBN feeds apply the same rules (mdstream.feeds.checked_ticks):
on the same trades, good and bad, they keep the same ticks and name the same
rows (hypothesis)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from types import SimpleNamespace as NS  # the shape Metadata reads a symbol mapping from

import databento_dbn as db
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from mdstream import TICK_DTYPE
from mdstream.feeds.checked_ticks import ReadStats
from mdstream.feeds.csv.reader import CSVFileReader
from mdstream.feeds.dbn.reader import DBNReader
from mdstream.feeds.parquet.reader import ParquetReader
from mdstream.feeds.symbol_index import SymbolIndex

T0 = 1_582_372_800_000_000_000        # 2020-02-22 12:00 UTC, inside the mapping's day
DAY = dt.date(2020, 2, 22)

trade = st.tuples(
    st.integers(min_value=-2_000, max_value=10_000),                       # ns after T0 (late rows too)
    st.one_of(st.integers(min_value=-10**6, max_value=10**6),              # price in 1e-3 units
              st.just(None)),                                              # missing price: bad
    st.integers(min_value=-3, max_value=1_000))                            # size: < 0 is bad


def write_all(directory: Path, rows) -> dict:
    ts = [T0 + d for d, _, _ in rows]
    px = [None if p is None else p / 1000 for _, p, _ in rows]
    size = [s for _, _, s in rows]
    csv = directory / "t.csv"
    with open(csv, "w") as f:
        f.write("timestamp,symbol,price,size\n")
        for t, p, s in zip(ts, px, size):
            f.write(f"{t},BTC,{'' if p is None else repr(p)},{s}\n")
    parquet = directory / "t.parquet"
    pq.write_table(pa.table({"timestamp": pa.array(ts, pa.int64()), "symbol": ["BTC"] * len(ts),
                             "price": pa.array(px, pa.float64()),
                             "size": pa.array(size, pa.float64())}), parquet, row_group_size=7)
    # DBN sizes are unsigned: a negative size has no DBN form, so those rows get 0 there.
    md = db.Metadata(dataset="TEST", start=T0, stype_in=db.SType.RAW_SYMBOL,
                     stype_out=db.SType.INSTRUMENT_ID, schema=db.Schema.TRADES, symbols=["BTC"],
                     mappings=[NS(raw_symbol="BTC", intervals=[NS(
                         start_date=DAY, end_date=DAY + dt.timedelta(days=1), symbol="9")])])
    recs = [db.TradeMsg(1, 9, t, db.UNDEF_PRICE if p is None else p * 10**6, max(s, 0),
                        db.Action.TRADE, db.Side.NONE, 0, t) for t, (_, p, s) in zip(ts, rows)]
    dbn = directory / "t.dbn"
    dbn.write_bytes(md.encode() + b"".join(bytes(r) for r in recs))
    return {"csv": csv, "parquet": parquet, "dbn": dbn}


def read(reader) -> tuple[np.ndarray, list[int]]:
    stats = ReadStats()
    chunks = list(reader.chunks(stats))
    ticks = np.concatenate(chunks) if chunks else np.zeros(0, dtype=TICK_DTYPE)
    return ticks, [e.line for e in stats.examples], stats


@settings(max_examples=25, deadline=None)
@given(st.lists(trade, min_size=1, max_size=40))
def test_csv_parquet_and_dbn_keep_the_same_ticks_and_name_the_same_rows(rows):
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_all(Path(tmp), rows)
        kw = dict(on_bad_row="skip", out_of_order="keep")
        c, c_bad, c_stats = read(CSVFileReader(paths["csv"], SymbolIndex(), chunk_rows=5, **kw))
        p, p_bad, p_stats = read(ParquetReader(paths["parquet"], SymbolIndex(), batch_rows=5, **kw))
        d, d_bad, _ = read(DBNReader(paths["dbn"], SymbolIndex(), **kw))
    # CSV names lines (the header is line 1), Parquet rows (the first is row 1)
    assert c_bad[:10] == [r + 1 for r in p_bad[:10]]
    assert (c_stats.rows, c_stats.bad_rows, c_stats.late_rows) == \
        (p_stats.rows, p_stats.bad_rows, p_stats.late_rows)
    for col in ("ts_ns", "recv_ns", "price", "size", "kind"):
        np.testing.assert_array_equal(c[col], p[col], err_msg=col)
    # DBN: the same rules; its sizes are unsigned, so a negative size was written as 0
    want_bad = [k + 1 for k, r in enumerate(rows) if r[1] is None]
    assert d_bad[:10] == want_bad[:10]
    good = [k for k, r in enumerate(rows) if r[1] is not None]
    assert len(d) == len(good)
    np.testing.assert_array_equal(d["price"], [rows[k][1] / 1000 for k in good])
    np.testing.assert_array_equal(d["size"], [max(rows[k][2], 0) for k in good])
    np.testing.assert_array_equal(d["ts_ns"], [T0 + rows[k][0] for k in good])
