"""Pacing by event time on a monotonic clock: due times, speed factors, prompt stop."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from mdstream import TICK_DTYPE
from mdstream.errors import InvalidArgumentError
from mdstream.feeds.pacing import Pacer


class FakeTime:
    """A clock and a stop event whose wait() advances the clock instead of sleeping."""

    def __init__(self):
        self.now = 100.0
        self.waits: list[float] = []
        self._set = False

    def clock(self) -> float:
        return self.now

    # the threading.Event interface the pacer uses
    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.now += timeout
        return self._set


def block(times_ms: list[int]) -> np.ndarray:
    arr = np.zeros(len(times_ms), dtype=TICK_DTYPE)
    arr["recv_ns"] = np.asarray(times_ms, dtype=np.int64) * 1_000_000 + 1_582_329_602_000_000_000
    arr["seq"] = np.arange(len(times_ms))
    return arr


@pytest.mark.parametrize("speed", [1.0, 10.0, 0.5])
def test_each_tick_goes_when_due(speed):
    ft = FakeTime()
    pacer = Pacer(speed, ft, clock=ft.clock, max_sleep=0.05)
    sent: list[tuple[float, list[int]]] = []
    times = [0, 0, 3, 250, 250, 1000, 1001]
    assert pacer.run(block(times), lambda b: sent.append((ft.now, b["seq"].tolist())))
    start = sent[0][0]
    for wall, seqs in sent:
        for s in seqs:
            due = start + times[s] / 1000 / speed
            assert due - 1e-6 <= wall <= due + 1e-6    # on time: never early, never late
    # ticks due at the same time go together
    assert [seqs for _, seqs in sent][:1] == [[0, 1]]
    assert [0, 1, 2, 3, 4, 5, 6] == [s for _, seqs in sent for s in seqs]
    # sleeps are sliced, so a stop is noticed within max_sleep
    assert max(ft.waits) <= 0.05 + 1e-12


def test_blocks_continue_the_same_schedule():
    ft = FakeTime()
    pacer = Pacer(2.0, ft, clock=ft.clock)
    walls = []
    pacer.run(block([0, 100]), lambda b: walls.append(ft.now))
    pacer.run(block([300, 400]), lambda b: walls.append(ft.now))
    assert np.allclose(np.array(walls) - walls[0], [0, 0.05, 0.15, 0.2])


def test_speed_zero_does_not_wait():
    ft = FakeTime()
    sent = []
    Pacer(0, ft, clock=ft.clock, max_batch=3).run(block([0, 10_000, 20_000, 30_000, 40_000]),
                                                   lambda b: sent.append(len(b)))
    assert sent == [3, 2] and ft.waits == []


def test_stop_ends_a_long_wait_promptly():
    stop = threading.Event()
    pacer = Pacer(1.0, stop)
    sent = []
    t = threading.Thread(target=lambda: sent.append(pacer.run(block([0, 3_600_000]), lambda b: None)))
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    stop.set()
    t.join(5)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 1.0     # far less than the hour the second tick is due in
    assert sent == [False]


@pytest.mark.parametrize("speed", [-1, float("nan"), float("inf")])
def test_bad_speeds(speed):
    with pytest.raises(InvalidArgumentError, match="speed must be"):
        Pacer(speed, threading.Event())
