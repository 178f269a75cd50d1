"""JournalCatchUp: serves a resumed subscription from the journal until the
in-memory ring holds its position, then hands over to the live stream."""

from __future__ import annotations

from typing import Callable

import numpy as np

from mdstream.errors import OutOfRangeError

__all__ = ["JournalCatchUp"]


class JournalCatchUp:
    """Replays [from_seq, ...) from the journal, then opens the live reader.

    The handover has no gap and no duplicate: replay stops at what the
    journal holds, and the live reader is opened exactly at the next seq. If
    the ring has meanwhile moved past that seq, the journal holds it by then
    (the ring never drops what the journal has not written), so replay goes on.
    """

    def __init__(self, journal, open_reader: Callable[[int], object], from_seq: int,
                 filter_ids: list[int] | None):
        oldest = journal.oldest_seq()
        if oldest is None or from_seq < oldest:
            raise OutOfRangeError(
                f"from_seq {from_seq} is older than the oldest result kept "
                f"(seq {oldest if oldest is not None else 'none'}): the journal's retention removed it",
                oldest if oldest is not None else 0)
        self._journal = journal
        self._open_reader = open_reader
        self._filter = None if filter_ids is None else np.asarray(sorted(filter_ids), dtype=np.int32)
        self.position = from_seq
        self.replayed = 0
        self._blocks = journal.replay(from_seq)

    def next(self):
        """(rows, None) with journaled rows to deliver (already filtered, maybe
        empty), or (None, reader) once the live reader is open at position."""
        while True:
            rows = next(self._blocks, None)
            if rows is not None:
                self.position = int(rows["seq"][-1]) + 1
                if self._filter is not None:
                    rows = rows[np.isin(rows["symbol_id"], self._filter)]
                self.replayed += len(rows)
                return rows, None
            try:
                return None, self._open_reader(self.position)
            except OutOfRangeError:
                self._blocks = self._journal.replay(self.position)
