"""ProgressReporter: a file replay's scan and replay progress, shown while it runs.

On a terminal (stderr is a TTY) a rich progress bar: rows done of all, the
event-time position, rows/s and the time left. Otherwise (a service's log) an
info line every ``interval`` seconds on the ``mdstream.serve`` logger:

    replay: 1,234,567 of 5,000,000 rows (24.7%), event time 2020-02-22T00:15:03.123Z,
    412,345 rows/s, ETA 9 s

It only polls the feed's mdstream.feeds.csv.ReplayProgress; the feed never prints.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque

from mdstream.cli.logs import iso_utc

__all__ = ["ProgressReporter", "progress_line", "format_eta", "eta_seconds"]

log = logging.getLogger("mdstream.serve")

#: Seconds of samples the rate is measured over.
RATE_WINDOW_S = 5.0
_POLL_S = 0.2


def format_eta(seconds: float | None) -> str:
    """Seconds left as '9 s', '4 min 05 s', '2 h 03 min' ('?' when unknown)."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class _Rate:
    """Rows per second of the scan or the replay, over the last RATE_WINDOW_S
    seconds of samples (None until a second of it has been seen)."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self._phase = ""

    def add(self, now: float, phase: str, rows: int) -> float | None:
        samples = self._samples
        if phase != self._phase or (samples and rows < samples[-1][1]):
            samples.clear()                  # a new phase counts from 0 again
            self._phase = phase
        if phase not in ("scan", "replay"):
            return None
        samples.append((now, rows))
        while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
            samples.popleft()
        t0, r0 = samples[0]
        return (rows - r0) / (now - t0) if now - t0 >= 1.0 else None


def _cumulative(state) -> int:
    """Rows of every pass so far (a looping replay restarts rows_done each pass)."""
    if state.phase == "replay" and state.rows_total:
        return state.passes * state.rows_total + state.rows_done
    return state.rows_done


def eta_seconds(state, rate: float | None, speed: float) -> float | None:
    """Seconds until the replay's pass ends: by event time when paced
    (``speed`` > 0: what is left of the data's span / speed), else by rows
    left at ``rate``; None when unknown."""
    if state.phase != "replay" or not state.rows_total:
        return None
    if speed > 0 and state.passes == 0 and state.ts_ns is not None \
            and state.last_ts_ns is not None:
        return max(0.0, (state.last_ts_ns - state.ts_ns) / 1e9 / speed)
    if rate:
        return (state.rows_total - state.rows_done) / rate
    return None


def progress_line(state, rate: float | None, speed: float = 0.0) -> str:
    """One line of a ReplayProgress state (see the module docstring); ``speed``
    is the replay's pace factor (0: as fast as possible)."""
    where = "" if state.ts_ns is None else f"event time {iso_utc(state.ts_ns / 1e9)}, "
    per_s = "?" if rate is None else f"{rate:,.0f}"
    if state.phase == "scan":
        return f"scanning the files: {state.rows_done:,} rows read, {where}{per_s} rows/s"
    total = "?" if state.rows_total is None else f"{state.rows_total:,}"
    share = "" if state.fraction is None else f" ({state.fraction:.1%})"
    eta = eta_seconds(state, rate, speed)
    loop = f", pass {state.passes + 1}" if state.passes else ""
    return (f"replay: {state.rows_done:,} of {total} rows{share}, {where}{per_s} rows/s, "
            f"ETA {format_eta(eta)}{loop}")


def _short(state, rate: float | None, speed: float) -> str:
    """The rich bar's text beside the bar: rows, event time, rows/s, ETA."""
    rows = f"{state.rows_done:,}" + ("" if state.phase == "scan" or state.rows_total is None
                                     else f"/{state.rows_total:,}")
    where = "" if state.ts_ns is None else f"  {iso_utc(state.ts_ns / 1e9)[:19]}Z"
    per_s = "" if rate is None else f"  {rate:,.0f}/s"
    eta = "" if state.phase != "replay" else f"  ETA {format_eta(eta_seconds(state, rate, speed))}"
    return f"{rows} rows{where}{per_s}{eta}"


class ProgressReporter:
    """Shows a ReplayProgress until its replay is done or failed (or stop()).

    ``terminal``: a rich progress bar (default: when stderr is a terminal);
    otherwise a log line every ``interval`` seconds (0: none). ``speed``: the
    replay's pace factor, for the time left (0: as fast as possible).
    """

    def __init__(self, progress, *, speed: float = 1.0, interval: float = 5.0,
                 terminal: bool | None = None, console=None):
        self.progress = progress
        self.speed = float(speed)
        self.interval = float(interval)
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._console = console
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mdstream-cli-progress",
                                        daemon=True)

    def start(self) -> "ProgressReporter":
        if self.terminal or self.interval > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop showing (joins the thread, within 2 s)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def __enter__(self) -> "ProgressReporter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        if self.terminal:
            self._run_rich()
        else:
            self._run_log()

    def _run_log(self) -> None:
        rate = _Rate()
        last_line = time.monotonic()
        while not self._stop.wait(_POLL_S):
            state = self.progress.snapshot()
            now = time.monotonic()
            per_s = rate.add(now, state.phase, _cumulative(state))
            if state.phase in ("done", "failed"):
                return
            if state.phase in ("scan", "replay") and now - last_line >= self.interval:
                log.info("%s", progress_line(state, per_s, self.speed))
                last_line = now

    def _run_rich(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        console = self._console or Console(stderr=True)
        rate = _Rate()
        columns = (TextColumn("{task.description}"), BarColumn(bar_width=20),
                   TaskProgressColumn(), TextColumn("{task.fields[detail]}"))
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("scan", total=None, detail="")
            while True:
                state = self.progress.snapshot()
                per_s = rate.add(time.monotonic(), state.phase, _cumulative(state))
                detail = _short(state, per_s, self.speed)
                if state.phase == "scan":
                    bar.update(task, description="scan", total=None, completed=state.rows_done,
                               detail=detail)
                elif state.phase in ("replay", "done") and state.rows_total:
                    done = state.rows_total if state.phase == "done" else state.rows_done
                    bar.update(task, description="replay", total=state.rows_total,
                               completed=done, detail=detail)
                if state.phase in ("done", "failed") or self._stop.wait(_POLL_S):
                    return
