"""Conflation: at most one result per symbol per interval, the newest.

A subscription with ``conflate`` (seconds) hands out, once per interval, the
newest result of each symbol that had one in it (last-value conflation, for
screens and dashboards that cannot use every tick). The interval starts with
the first result after the previous hand-out. The results folded away (older
results of a symbol in the same interval) are reported like a gap: the batch's
``Gap`` spans the interval's sequence numbers and ``missed`` counts them, with
any results a 'skip' subscriber really missed in the interval.
"""

from __future__ import annotations

import numpy as np

from mdstream.batch import Gap

__all__ = ["Conflator"]


class Conflator:
    """The state of one conflating subscription (not thread-safe: its reader's).

    ``add(rows, gap, now)`` takes a batch (times: time.monotonic() seconds);
    ``due(now)`` says whether the interval has ended with results pending;
    ``take()`` returns them (rows in sequence order, one per symbol) with the
    Gap that reports what was folded, and starts a new interval.
    """

    def __init__(self, interval: float):
        self.interval = interval
        self.pending: np.ndarray | None = None     # newest row per symbol, seq order
        self.window_end: float | None = None
        self.first_seq = -1        # lowest seq seen in this interval (results or gaps)
        self.end_seq = -1          # one past the highest
        self.folded = 0
        self.skipped = 0

    def add(self, rows: np.ndarray, gap: Gap | None, now: float) -> None:
        if not len(rows) and gap is None:
            return
        if self.window_end is None:
            self.window_end = now + self.interval
        lo = [int(rows["seq"][0])] if len(rows) else []
        hi = [int(rows["seq"][-1]) + 1] if len(rows) else []
        if gap is not None:
            self.skipped += gap.missed
            lo.append(gap.from_seq)
            hi.append(gap.to_seq)
        self.first_seq = min(lo) if self.first_seq < 0 else min(self.first_seq, *lo)
        self.end_seq = max(self.end_seq, *hi)
        if not len(rows):
            return
        both = rows if self.pending is None else np.concatenate([self.pending, rows])
        # The newest row of each symbol: the first occurrence in reverse order.
        rev = both[::-1]
        _, idx = np.unique(rev["symbol_id"], return_index=True)
        keep = rev[idx]
        keep = keep[np.argsort(keep["seq"], kind="stable")]
        self.folded += len(both) - len(keep)
        self.pending = keep

    def due(self, now: float) -> bool:
        return self.window_end is not None and now >= self.window_end

    def wait(self, now: float) -> float | None:
        """Seconds until the interval ends (None: nothing pending)."""
        return None if self.window_end is None else max(0.0, self.window_end - now)

    @property
    def holding(self) -> bool:
        return self.window_end is not None

    def take(self) -> tuple[np.ndarray | None, Gap | None]:
        rows = self.pending
        missed = self.folded + self.skipped
        gap = Gap(self.first_seq, self.end_seq, missed) if missed else None
        self.pending = self.window_end = None
        self.first_seq = self.end_seq = -1
        self.folded = self.skipped = 0
        return rows, gap
