"""ReplayProgress: how far a file replay (CSV, Parquet, DBN) has got, for a display to poll.

The feed writes it from the thread doing the work (the scan runs in the
feed's constructor, the replay in the feed's thread); readers in any other
thread see one consistent set of values at a time (``snapshot()``), never a
half-updated one. The feed never prints: showing progress is the reader's job
(``mdstream serve`` shows a rich progress bar on a terminal, a log line every
few seconds otherwise).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ReplayProgress", "ProgressState", "PHASES"]

#: waiting: made, nothing read yet; scan: the pre-scan reads the files;
#: ready: scanned, the replay has not started; replay: publishing; done: the
#: data ended (never with loop=True); failed: the feed stopped on an error.
PHASES = ("waiting", "scan", "ready", "replay", "done", "failed")


class ProgressState(NamedTuple):
    """One consistent reading of a replay's progress (immutable).

    phase:
        One of PHASES.
    rows_done:
        During the scan, good rows read so far; during the replay, rows
        (ticks) of the current pass handed to the engine (counted as the
        engine is handed them, so no subscriber has seen a result of a row
        not counted yet).
    rows_total:
        Good rows in one pass over the data, once known (after the scan, or
        after the first pass without one); None before.
    ts_ns:
        Event time (ns since the epoch, UTC) of the last row read (scan) or
        published (replay, shifted by the loop offset when looping); None
        before the first.
    first_ts_ns, last_ts_ns:
        The data's first and last event times (ns), once known (as rows_total).
    passes:
        Passes completed (a looping replay's repetitions).
    """

    phase: str = "waiting"
    rows_done: int = 0
    rows_total: int | None = None
    ts_ns: int | None = None
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    passes: int = 0

    @property
    def fraction(self) -> float | None:
        """rows_done / rows_total of the replay (None during the scan or when unknown)."""
        if self.phase not in ("replay", "done") or not self.rows_total:
            return None
        return min(1.0, self.rows_done / self.rows_total)


class ReplayProgress:
    """The progress of one file replay (CSV, Parquet, DBN): read-only for
    everyone but its feed.

    Pass one to the feed (``CSVFeed(..., progress=...)``, ``ParquetFeed``,
    ``DBNFeed``) to watch the pre-scan too (it runs in the constructor), or
    read ``feed.progress``. Attributes are
    ``phase``, ``rows_done``, ``rows_total`` and ``ts_ns`` (see
    ProgressState); read ``snapshot()`` for several of one moment.
    """

    def __init__(self) -> None:
        self._state = ProgressState()

    def snapshot(self) -> ProgressState:
        """The current values, all of one moment (a frozen ProgressState)."""
        return self._state

    @property
    def phase(self) -> str:
        """One of PHASES."""
        return self._state.phase

    @property
    def rows_done(self) -> int:
        """Rows read by the scan, or published in this pass by the replay."""
        return self._state.rows_done

    @property
    def rows_total(self) -> int | None:
        """Good rows in one pass (None until known)."""
        return self._state.rows_total

    @property
    def ts_ns(self) -> int | None:
        """Event time (ns, UTC) of the last row read or published (None before one)."""
        return self._state.ts_ns

    def __repr__(self) -> str:
        s = self._state
        total = "?" if s.rows_total is None else f"{s.rows_total:,}"
        return f"<ReplayProgress {s.phase} {s.rows_done:,}/{total} rows, ts_ns={s.ts_ns}>"

    # -- written by the feed (one writer at a time) ------------------------------

    def _update(self, **changes) -> None:
        # One new immutable state swapped in whole: readers never see half of a change.
        self._state = self._state._replace(**changes)

    def _advance(self, rows_done: int, ts_ns: int) -> None:
        """_update(rows_done=..., ts_ns=...) at a fraction of its cost: the
        replay calls it after every publish, however small."""
        s = self._state
        self._state = ProgressState(s.phase, rows_done, s.rows_total, ts_ns, s.first_ts_ns,
                                    s.last_ts_ns, s.passes)
