"""ReportCatchUp: serves execution reports older than the report ring by
making them again from the journal, then hands over to the live reports."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from mdstream import _core
from mdstream.errors import OutOfRangeError
from mdstream.venue.config import PaperVenue

__all__ = ["ReportCatchUp"]


class ReportCatchUp:
    """Reports [from_seq, ...) made again by a venue of its own that replays
    the journal from seq 0 (the journal holds the venue's whole input, and the
    venue is deterministic: the same reports, with the same seqs), then the
    live reader, opened exactly at the next report seq.

    If the live ring has moved past that seq meanwhile, more of the journal
    is replayed (its end grows with the engine) and the handover is tried
    again: no gap, no duplicate. OutOfRangeError when the journal's retention
    removed its first segments (a venue is rebuilt from seq 0).
    """

    def __init__(self, journal, venue: PaperVenue, max_symbols: int,
                 open_live: Callable[[int], object], from_seq: int):
        oldest = journal.oldest_seq()
        if oldest is None or oldest != 0:
            raise OutOfRangeError(
                f"report seq {from_seq} is no longer held in memory, and the journal cannot make "
                "it again: its retention removed the first segments (keep the whole journal for "
                "a paper venue)", 0)
        self._journal = journal
        self._open_live = open_live
        self.from_seq = from_seq
        # A venue that never starts: it only replays (one worker, the smallest rings).
        self._core = _core.Core(1, max_symbols, 2, 1, 0.5, 1, (), False)
        self._venue = venue.attach(self._core)
        self._rows_done = 0         # the next journal seq to replay
        self._next_report = 0       # the next report seq the venue makes
        self._blocks: Iterator[np.ndarray] = journal.replay(0, orders=True)

    def next(self):
        """(reports, None): regenerated reports to deliver (EXEC_DTYPE, maybe
        empty), or (None, reader) once the live reader is open."""
        while True:
            rows = next(self._blocks, None)
            if rows is not None:
                self._rows_done = int(rows["seq"][-1]) + 1
                made = self._venue.regenerate(rows)
                if len(made):
                    self._next_report = int(made["seq"][-1]) + 1
                return made[made["seq"] >= self.from_seq], None
            try:
                return None, self._open_live(max(self._next_report, self.from_seq))
            except OutOfRangeError:
                self._blocks = self._journal.replay(self._rows_done, orders=True)
