"""A CSV replay's progress object (mdstream.feeds.csv.ReplayProgress): what the
scan and the replay report, read while a real engine replays the recorded
trades; and the lines `mdstream serve` logs from it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mdstream import Engine
from mdstream.cli.progress import _Rate, eta_seconds, format_eta, progress_line
from mdstream.feeds.csv import CSVFeed, ProgressState, ReplayProgress

pytestmark = pytest.mark.timeout(60)

DATA = Path(__file__).resolve().parents[1] / "data" / "real"
TRADES = DATA / "tardis_trades.csv"


class RecordingProgress(ReplayProgress):
    """Keeps every state the feed wrote, to check the sequence the scan made."""

    def __init__(self):
        super().__init__()
        self.states: list[ProgressState] = []

    def _update(self, **changes) -> None:
        super()._update(**changes)
        self.states.append(self.snapshot())


def file_times() -> list[int]:
    with open(TRADES, newline="") as f:
        return [int(r["timestamp"]) * 1000 for r in csv.DictReader(f)]   # us -> ns


def test_the_scan_counts_rows_as_it_reads_them():
    progress = RecordingProgress()
    feed = CSVFeed(TRADES, speed=0, chunk_rows=1000, progress=progress)
    assert feed.progress is progress
    scan = [s for s in progress.states if s.phase == "scan"]
    # A state per chunk of 1,000 rows, counting up; each at the chunk's last row.
    assert [s.rows_done for s in scan[1:]] == list(range(1000, 10_000, 1000)) + [9_999]
    assert all(s.rows_total is None and s.fraction is None for s in scan)
    times = file_times()
    assert scan[1].ts_ns == times[999] and scan[-1].ts_ns == times[-1]
    ready = progress.snapshot()
    assert (ready.phase, ready.rows_done, ready.rows_total) == ("ready", 0, 9_999)
    assert ready.first_ts_ns == min(times) and ready.last_ts_ns == max(times)


def test_progress_during_a_replay_follows_what_subscribers_receive():
    feed = CSVFeed(TRADES, speed=0)
    progress = feed.progress
    times = file_times()
    seen = []
    with Engine(feed=feed, workers=2) as engine:
        with engine.subscribe(policy="block") as sub:
            for batch in sub:
                state = progress.snapshot()
                received = int(batch.seq[-1]) + 1
                # Published before processed: the feed is never behind its results.
                assert state.phase in ("replay", "done")
                assert received <= state.rows_done <= state.rows_total == 9_999
                assert min(times) <= state.ts_ns <= max(times)
                seen.append(state.rows_done)
    assert seen == sorted(seen) and len(seen) >= 1
    end = progress.snapshot()
    assert (end.phase, end.rows_done, end.rows_total, end.passes) == ("done", 9_999, 9_999, 1)
    assert end.ts_ns == times[-1] and end.fraction == 1.0
    assert (progress.rows_done, progress.rows_total, progress.ts_ns) == (9_999, 9_999, times[-1])


def test_a_bad_file_leaves_the_progress_failed(tmp_path):
    lines = TRADES.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    broken = lines[3].split(",")
    broken[6] = "12x.5"
    bad.write_text("\n".join(lines[:3] + [",".join(broken)] + lines[4:20]) + "\n")
    progress = ReplayProgress()
    with pytest.raises(Exception, match="bad.csv:4"):
        CSVFeed(bad, progress=progress)
    assert progress.phase == "failed"


def test_progress_lines_and_the_time_left():
    state = ProgressState(phase="replay", rows_done=2_500, rows_total=10_000,
                          ts_ns=1_582_330_000_000_000_000, first_ts_ns=1_582_329_000_000_000_000,
                          last_ts_ns=1_582_330_600_000_000_000)
    # Paced at 10x: 600 s of data left take 60 s, whatever the row rate.
    assert eta_seconds(state, 1_000.0, speed=10) == pytest.approx(60.0)
    # As fast as possible: the rows left at the measured rate.
    assert eta_seconds(state, 1_000.0, speed=0) == pytest.approx(7.5)
    assert eta_seconds(state, None, speed=0) is None
    assert progress_line(state, 1_000.0, speed=10) == (
        "replay: 2,500 of 10,000 rows (25.0%), event time 2020-02-22T00:06:40.000Z, "
        "1,000 rows/s, ETA 1 min 00 s")
    scan = ProgressState(phase="scan", rows_done=123_456)
    assert progress_line(scan, None) == "scanning the files: 123,456 rows read, ? rows/s"
    assert [format_eta(s) for s in (None, 9.4, 245, 7_380)] == ["?", "9 s", "4 min 05 s",
                                                                 "2 h 03 min"]


def test_the_rate_is_measured_per_phase():
    rate = _Rate()
    assert rate.add(0.0, "scan", 0) is None
    assert rate.add(0.5, "scan", 500) is None            # under a second: not yet
    assert rate.add(2.0, "scan", 2_000) == pytest.approx(1_000.0)
    assert rate.add(2.1, "replay", 0) is None            # a new phase starts over
    assert rate.add(4.1, "replay", 10_000) == pytest.approx(5_000.0)


def test_the_terminal_bar_follows_a_replay():
    """On a terminal (here a rich Console that thinks it is one), the reporter
    draws the scan and the replay of a real feed, and ends with the data."""
    import io

    from rich.console import Console

    from mdstream.cli.progress import ProgressReporter

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    progress = ReplayProgress()
    with ProgressReporter(progress, speed=0, terminal=True, console=console) as reporter:
        feed = CSVFeed(TRADES, speed=0, progress=progress)
        with Engine(feed=feed, workers=2) as engine:
            with engine.subscribe(policy="block") as sub:
                for _ in sub:
                    pass
        reporter._thread.join(5)            # it stops by itself once the data is done
        assert not reporter._thread.is_alive()
    text = out.getvalue()
    assert "replay" in text and "9,999/9,999 rows" in text and "100%" in text, text[-500:]


def test_serve_logs_the_progress_of_a_parquet_replay(tmp_path):
    """Every file replay (csv, parquet, dbn) reports its progress in serve's log."""
    import signal
    import subprocess
    import sys

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    with open(TRADES, newline="") as f:
        rows = list(csv.DictReader(f))
    table = pa.table({name: [r[name] for r in rows] for name in rows[0]})
    pq.write_table(table, tmp_path / "trades.parquet")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mdstream", "serve", "--port", "0", "--feed",
         f"parquet:{tmp_path / 'trades.parquet'}", "--speed", "0.001",
         "--progress-interval", "0.1s"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "replay:" in line:
                assert f"of {len(rows):,} rows" in line, line
                break
        else:
            pytest.fail("no progress line")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
