"""File feeds: ticks/s that ParquetFeed and DBNFeed read and replay at, against CSVFeed
on the same data, in the same run.

The data: the recorded trades of tests/data/real (9,999 rows), and a synthetic
1M trades (50k with --quick), each written once to a temp dir as CSV (the
tardis-trades layout), Parquet (pyarrow, zstd, row groups of 64k rows) and
Zstandard-compressed DBN (databento-dbn's encoder, the trades schema; sizes
are integers, as DBN has them, in every format).

Two stages per format:

- ``read``: constructing the feed, which reads every row once (prescan: parse,
  check with the tick rules, build the tick arrays); ticks/s of that.
- ``replay``: the file to the last result: construct the feed, replay it at
  speed 0 through an Engine (1 worker) to an in-process subscriber that
  drains every batch; ticks/s over the whole.

Baseline: CSVFeed on the same trades, measured alternately with the format.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace as NS  # the shape Metadata reads a symbol mapping from

import numpy as np

from mdstream import Engine
from mdstream.benchmarking import alternate, result_line
from mdstream.feeds.csv.feed import CSVFeed

NAME = "file_feeds"
REAL = Path(__file__).parents[1] / "tests" / "data" / "real" / "tardis_trades.csv"
_T0_US = 1_582_329_602_111_000


def _trades(n: int | None) -> dict:
    """n synthetic trades (None: the recorded ones), sizes in whole units."""
    if n is None:
        import pandas as pd
        df = pd.read_csv(REAL)
        return {"ts_us": df.timestamp.to_numpy(), "price": df.price.to_numpy(),
                "size": np.round(df.amount.to_numpy() * 1000)}
    rng = np.random.default_rng(3)
    return {"ts_us": _T0_US + np.cumsum(rng.integers(0, 2_000, n)),
            "price": np.round(9_682 + np.cumsum(rng.normal(0, 0.5, n)), 2),
            "size": rng.integers(1, 2_000, n).astype(np.float64)}


def write_csv(path: Path, t: dict) -> None:
    import pandas as pd
    pd.DataFrame({"exchange": "binance-futures", "symbol": "BTCUSDT", "timestamp": t["ts_us"],
                  "local_timestamp": t["ts_us"] + 300_000, "id": np.arange(len(t["ts_us"])),
                  "side": "buy", "price": t["price"], "amount": t["size"]}).to_csv(path, index=False)


def write_parquet(path: Path, t: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"symbol": pa.array(["BTCUSDT"] * len(t["ts_us"])).dictionary_encode(),
                      "timestamp": pa.array(t["ts_us"] * 1000, pa.timestamp("ns", tz="UTC")),
                      "price": t["price"], "size": t["size"]})
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 16)


def write_dbn(path: Path, t: dict) -> None:
    import databento_dbn as db
    ts = t["ts_us"] * 1000
    day = dt.datetime.fromtimestamp(int(ts[0]) // 10**9, tz=dt.timezone.utc).date()
    last = dt.datetime.fromtimestamp(int(ts[-1]) // 10**9, tz=dt.timezone.utc).date()
    md = db.Metadata(dataset="BENCH", start=int(ts[0]), end=int(ts[-1]) + 1,
                     stype_in=db.SType.RAW_SYMBOL, stype_out=db.SType.INSTRUMENT_ID,
                     schema=db.Schema.TRADES, symbols=["BTCUSDT"],
                     mappings=[NS(raw_symbol="BTCUSDT", intervals=[NS(
                         start_date=day, end_date=last + dt.timedelta(days=1), symbol="1001")])])
    px = np.rint(t["price"] * 1e9).astype(np.int64)
    out = io.BytesIO()
    tr = db.Transcoder(out, db.Encoding.DBN, db.Compression.ZSTD)
    tr.write(md.encode())
    for i in range(0, len(ts), 1 << 16):
        tr.write(b"".join(bytes(db.TradeMsg(1, 1001, int(ts[k]), int(px[k]), int(t["size"][k]),
                                            db.Action.TRADE, db.Side.BID, 0, int(ts[k])))
                          for k in range(i, min(i + (1 << 16), len(ts)))))
    tr.finish()
    path.write_bytes(out.getvalue())


def _feed(kind: str, path: Path):
    if kind == "csv":
        return CSVFeed(path, speed=0)
    if kind == "parquet":
        from mdstream.feeds.parquet import ParquetFeed
        return ParquetFeed(path, speed=0)
    from mdstream.feeds.dbn import DBNFeed
    return DBNFeed(path, speed=0)


def read_rate(kind: str, path: Path) -> float:
    t0 = time.perf_counter()
    feed = _feed(kind, path)
    return feed.rows / (time.perf_counter() - t0)


def replay_rate(kind: str, path: Path) -> float:
    t0 = time.perf_counter()
    feed = _feed(kind, path)
    engine = Engine(feed=feed, workers=1)
    sub = engine.subscribe()
    n = 0
    with engine:
        for batch in sub.batches(timeout=60):
            n += len(batch)
    dt_s = time.perf_counter() - t0
    assert n == feed.rows, (n, feed.rows)
    return n / dt_s


def run(opts, machine):
    with tempfile.TemporaryDirectory() as tmp:
        for data, n in (("tardis_trades", None), ("synthetic", 50_000 if opts.quick else 1_000_000)):
            t = _trades(n)
            paths = {"csv": Path(tmp) / f"{data}.csv", "parquet": Path(tmp) / f"{data}.parquet",
                     "dbn": Path(tmp) / f"{data}.trades.dbn.zst"}
            write_csv(paths["csv"], t)
            write_parquet(paths["parquet"], t)
            write_dbn(paths["dbn"], t)
            for kind in ("parquet", "dbn"):
                for stage, measure in (("read", read_rate), ("replay", replay_rate)):
                    md, base = alternate(opts.repeat, lambda: measure(kind, paths[kind]),
                                         lambda: measure("csv", paths["csv"]))
                    yield result_line(
                        NAME, f"{kind}_{stage}_{data}", "ticks/s",
                        {"ticks": len(t["ts_us"]), "file": paths[kind].name,
                         "bytes": paths[kind].stat().st_size, "csv_bytes": paths["csv"].stat().st_size,
                         "stage": stage},
                        md, base, "CSVFeed on the same trades (tardis-trades layout)",
                        machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
