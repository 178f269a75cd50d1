"""CSV replay progress: what keeping a ReplayProgress up to date costs a replay.

mdstream: a CSVFeed of synthetic trades (tardis-trades layout, 1M rows; 200k
with --quick) replayed as fast as possible (speed=0) through an engine with 2
workers to one in-process 'block' subscriber that reads every result; rows/s
from engine start to the last result. The feed updates its ReplayProgress
(rows done, event-time position) after every sub-batch it publishes, and once
a chunk in the scan.

Baseline: the same replay with a ReplayProgress whose update does nothing
(what the feed did before it reported progress).

Also: ns per progress update of the replay on its own (``_advance``: one
immutable state swapped in), the cost added to every publish.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from mdstream import CSVFeed, Engine
from mdstream.benchmarking import alternate, calibrate, result_line
from mdstream.feeds.csv import ReplayProgress

from benchmarks.csv_parse import synthetic_trades

NAME = "csv_progress"


class _NoProgress(ReplayProgress):
    """The baseline: progress never updated."""

    def _update(self, **changes) -> None:
        pass

    def _advance(self, rows_done: int, ts_ns: int) -> None:
        pass


def replay_rows_per_s(path: Path, progress: ReplayProgress) -> float:
    feed = CSVFeed(path, speed=0, progress=progress)
    rows = 0
    with Engine(feed=feed, workers=2) as engine:
        with engine.subscribe(policy="block") as sub:
            t0 = time.perf_counter()
            for batch in sub:
                rows += len(batch)
            dt = time.perf_counter() - t0
    assert rows == feed.rows, (rows, feed.rows)
    return rows / dt


def update_ns(n: int) -> float:
    progress = ReplayProgress()
    t0 = time.perf_counter()
    for i in range(n):
        progress._advance(i, i)
    return time.perf_counter() - t0


def run(opts, machine):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trades.csv"
        n = 200_000 if opts.quick else 1_000_000
        synthetic_trades(path, n)
        md, base = alternate(opts.repeat, lambda: replay_rows_per_s(path, ReplayProgress()),
                             lambda: replay_rows_per_s(path, _NoProgress()))
        yield result_line(NAME, "replay_speed0", "rows/s", {"rows": n, "workers": 2},
                          md, base, "the same replay, progress never updated",
                          target="ratio ~1.0 (no measurable cost)", machine=machine)
    count = calibrate(update_ns, opts.duration)
    runs = [update_ns(count) / count * 1e9 for _ in range(opts.repeat)]
    yield result_line(NAME, "update", "ns/update", {"updates": count}, runs,
                      higher_is_better=False, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
