"""Pacer: hands ticks on when their recorded time is due, at a speed factor, by a monotonic clock."""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from mdstream.errors import InvalidArgumentError

__all__ = ["Pacer"]


class Pacer:
    """Replays event times against the wall clock.

    The first tick is due at once; a tick whose event time is t is due
    ``(t - t0) / speed`` seconds of monotonic clock after the first, where t0
    is the first tick's event time. ``speed`` 0 means no pacing at all. Due
    times are absolute, so time lost in one publish or sleep is made up at the
    next, never accumulated.

    ``run(block, publish)`` publishes a sorted block in sub-batches: each
    sub-batch is every tick due by now (up to ``max_batch``), and between them
    the pacer sleeps until the next tick is due, in slices of at most
    ``max_sleep`` seconds, returning as soon as ``stop`` is set.
    """

    def __init__(self, speed: float, stop: threading.Event, *, max_batch: int = 1 << 15,
                 max_sleep: float = 0.05, clock: Callable[[], float] = time.monotonic):
        if not speed >= 0 or speed == float("inf"):
            raise InvalidArgumentError(
                f"speed must be a finite number >= 0 (1: as recorded, 10: ten times faster, "
                f"0: as fast as possible), got {speed}")
        self.speed = float(speed)
        self.stop = stop
        self.max_batch = int(max_batch)
        self.max_sleep = float(max_sleep)
        self.clock = clock
        self._t0_event: int | None = None
        self._t0_wall = 0.0

    def due_wall(self, event_ns: int) -> float:
        """The clock time at which a tick of this event time is due."""
        # set by the first tick before pacing
        return self._t0_wall + (int(event_ns) - self._t0_event) / 1e9 / self.speed  # type: ignore[operator]

    def run(self, block: np.ndarray, publish: Callable[[np.ndarray], object],
            times: np.ndarray | None = None) -> bool:
        """Publish ``block`` (sorted by ``times``, by default its ``recv_ns``) on
        time. Returns False if stopped before all of it was published."""
        n = len(block)
        if n == 0:
            return not self.stop.is_set()
        if self.speed == 0:
            for i in range(0, n, self.max_batch):
                if self.stop.is_set():
                    return False
                publish(block[i:i + self.max_batch])
            return True
        t = block["recv_ns"] if times is None else times
        if self._t0_event is None:
            self._t0_event = int(t[0])
            self._t0_wall = self.clock()
        i = 0
        while i < n:
            if self.stop.is_set():
                return False
            now = self.clock()
            horizon = self._t0_event + int(round((now - self._t0_wall) * self.speed * 1e9))
            j = int(np.searchsorted(t, horizon, side="right"))
            if j <= i:
                wait = self.due_wall(t[i]) - now
                if wait > 1e-6:
                    self.stop.wait(min(wait, self.max_sleep))
                    continue
                j = i + 1       # due within a microsecond: only float rounding held it back
            j = min(j, i + self.max_batch)
            publish(block[i:j])
            i = j
        return True
