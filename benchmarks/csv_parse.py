"""CSV parsing: rows/s that CSVFeed reads recorded trades and quotes at.

mdstream: constructing a CSVFeed with prescan (the default), which reads
every row once with pandas' C parser in chunks, checks every column with
NumPy and builds the tick arrays the replay publishes: the whole parse, no
Python per row. Measured on the recorded trades in tests/data/real and on a
synthetic file of 1M trades (200k with --quick) written once to a temp dir.

Baseline: the same file read the way a Python developer would without
mdstream: the csv module, one float()/int() conversion per field, a tuple per
row (benchmarks/baselines/csv_rows.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mdstream import CSVFeed
from mdstream.benchmarking import alternate, result_line

from benchmarks.baselines.csv_rows import read_trades

NAME = "csv_parse"
REAL = Path(__file__).parents[1] / "tests" / "data" / "real"


def synthetic_trades(path: Path, n: int) -> None:
    """n trades in the tardis-trades layout, with realistic prices and sizes."""
    rng = np.random.default_rng(3)
    ts = 1_582_329_602_111_000 + np.cumsum(rng.integers(0, 2_000, n))
    price = np.round(9_682 + np.cumsum(rng.normal(0, 0.5, n)), 2)
    amount = np.round(rng.uniform(0.001, 2.0, n), 3)
    side = np.where(rng.random(n) < 0.5, "buy", "sell")
    with open(path, "w") as f:
        f.write("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
        for i in range(n):
            f.write(f"binance-futures,BTCUSDT,{ts[i]},{ts[i] + 300_000},{i},{side[i]},"
                    f"{price[i]},{amount[i]}\n")


def mdstream_rows_per_s(path: Path) -> float:
    t0 = time.perf_counter()
    feed = CSVFeed(path, speed=0)
    dt = time.perf_counter() - t0
    return feed.rows / dt


def baseline_rows_per_s(path: Path) -> float:
    t0 = time.perf_counter()
    rows = read_trades(path)
    return len(rows) / (time.perf_counter() - t0)


def run(opts, machine):
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp) / "trades.csv"
        synthetic_trades(synthetic, 200_000 if opts.quick else 1_000_000)
        files = [("tardis_trades", REAL / "tardis_trades.csv"), ("synthetic_trades", synthetic)]
        for case, path in files:
            md, base = alternate(opts.repeat, lambda: mdstream_rows_per_s(path),
                                 lambda: baseline_rows_per_s(path))
            yield result_line(NAME, case, "rows/s", {"file": path.name,
                                                     "bytes": path.stat().st_size},
                              md, base, "csv module, float() per field (benchmarks/baselines/csv_rows.py)",
                              target="not the engine's bottleneck", machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
