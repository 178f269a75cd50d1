"""Property tests of the core's bounded channel (TickChannel) against queue.Queue."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import mdstream
from mdstream._core import TickChannel
from mdstream._testing import channel_pump

values = st.integers(min_value=-(2**63), max_value=2**63 - 1)


# --- one thread: the channel behaves like queue.Queue(maxsize=capacity) ---------


class ChannelMatchesQueue(RuleBasedStateMachine):
    """Every operation on a TickChannel and on a queue.Queue of the same capacity
    gives the same answers; after close(), puts fail and gets drain then fail."""

    @initialize(capacity=st.integers(min_value=1, max_value=12))
    def setup(self, capacity):
        self.ch = TickChannel(capacity)
        self.q = queue.Queue(maxsize=capacity)
        self.capacity = capacity
        self.is_closed = False

    @precondition(lambda self: not self.is_closed)
    @rule(v=values)
    def put_nowait(self, v):
        try:
            self.q.put_nowait(v)
        except queue.Full:
            with pytest.raises(mdstream.TimeoutError):
                self.ch.put(v, timeout=0)
        else:
            self.ch.put(v, timeout=0)

    @precondition(lambda self: not self.is_closed)
    @rule(vs=st.lists(values, max_size=20))
    def put_many_nowait(self, vs):
        # A put_many that runs out of room puts the prefix that fits, then times out.
        room = self.capacity - self.q.qsize()
        for v in vs[:room]:
            self.q.put_nowait(v)
        if len(vs) <= room:
            assert self.ch.put_many(vs, timeout=0) == len(vs)
        else:
            with pytest.raises(mdstream.TimeoutError):
                self.ch.put_many(vs, timeout=0)

    @rule()
    def get_nowait(self):
        try:
            expected = self.q.get_nowait()
        except queue.Empty:
            exc = mdstream.ChannelClosedError if self.is_closed else mdstream.TimeoutError
            with pytest.raises(exc):
                self.ch.get(timeout=0)
        else:
            assert self.ch.get(timeout=0) == expected

    @rule(k=st.integers(min_value=1, max_value=20))
    def get_many_nowait(self, k):
        expected = []
        while len(expected) < k and not self.q.empty():
            expected.append(self.q.get_nowait())
        if expected:
            assert self.ch.get_many(k, timeout=0) == expected
        else:
            exc = mdstream.ChannelClosedError if self.is_closed else mdstream.TimeoutError
            with pytest.raises(exc):
                self.ch.get_many(k, timeout=0)

    @rule()
    def close(self):
        self.ch.close()
        self.is_closed = True

    @precondition(lambda self: self.is_closed)
    @rule(v=values)
    def put_after_close(self, v):
        with pytest.raises(mdstream.ChannelClosedError):
            self.ch.put(v, timeout=0)
        with pytest.raises(mdstream.ChannelClosedError):
            self.ch.put_many([v, v])

    @invariant()
    def same_length_and_bounded(self):
        assert len(self.ch) == self.q.qsize()
        assert 0 <= len(self.ch) <= self.ch.capacity == self.capacity
        assert self.ch.closed == self.is_closed


ChannelMatchesQueue.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                                 deadline=None)
TestChannelMatchesQueue = ChannelMatchesQueue.TestCase


@given(capacity=st.integers(1, 64), items=st.lists(values, max_size=200),
       batch=st.integers(1, 70))
def test_fifo_nothing_lost_nothing_duplicated(capacity, items, batch):
    """Whatever the capacity and batch sizes, values come out in the order they went in."""
    ch = TickChannel(capacity)
    out = []
    pending = list(items)
    while pending or len(ch):
        if pending:
            room = capacity - len(ch)
            chunk, pending = pending[:min(room, batch)], pending[min(room, batch):]
            if chunk:
                assert ch.put_many(chunk, timeout=0) == len(chunk)
        assert len(ch) <= capacity
        if len(ch):
            out.extend(ch.get_many(batch, timeout=0))
    assert out == items


def test_closed_channel_drains_in_order_then_raises():
    ch = TickChannel(8)
    ch.put_many([5, 6, 7])
    ch.close()
    assert ch.closed
    assert ch.get() == 5
    assert ch.get_many(10) == [6, 7]
    with pytest.raises(mdstream.ChannelClosedError):
        ch.get()                       # no timeout: must not wait on a closed channel
    with pytest.raises(mdstream.ChannelClosedError):
        ch.get_many(3)
    with pytest.raises(mdstream.ChannelClosedError):
        ch.put(1)


def test_invalid_arguments():
    with pytest.raises(mdstream.InvalidArgumentError):
        TickChannel(0)
    ch = TickChannel(2)
    with pytest.raises(mdstream.InvalidArgumentError):
        ch.put(1, timeout=-1)
    with pytest.raises(mdstream.InvalidArgumentError):
        ch.get_many(0)
    assert ch.put_many([]) == 0
    assert len(ch) == 0


# --- timeouts ------------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("op", ["put", "put_many", "get", "get_many"])
def test_timeouts_expire(op):
    ch = TickChannel(2)
    if op.startswith("put"):
        ch.put_many([1, 2])
    timeout = 0.05
    call = {
        "put": lambda: ch.put(3, timeout=timeout),
        "put_many": lambda: ch.put_many([3, 4], timeout=timeout),
        "get": lambda: ch.get(timeout=timeout),
        "get_many": lambda: ch.get_many(4, timeout=timeout),
    }[op]
    t0 = time.monotonic()
    with pytest.raises(mdstream.TimeoutError):
        call()
    # Only a lower bound: a timeout never fires early (no upper bound on a busy machine).
    assert time.monotonic() - t0 >= timeout * 0.99
    # Nothing was added or lost by the timed-out call.
    assert len(ch) == (2 if op.startswith("put") else 0)
    assert issubclass(mdstream.TimeoutError, TimeoutError)


@pytest.mark.timeout(30)
def test_put_many_timeout_leaves_the_prefix_in():
    ch = TickChannel(3)
    ch.put(1)
    with pytest.raises(mdstream.TimeoutError, match="2 of 4"):
        ch.put_many([2, 3, 4, 5], timeout=0.02)
    assert ch.get_many(10) == [1, 2, 3]


# --- blocking, waking and closing with threads ------------------------------------------


def _run(target, *args):
    box = {}

    def body():
        try:
            box["value"] = target(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, box


@pytest.mark.timeout(30)
def test_blocked_get_is_woken_by_put_and_blocked_put_by_get():
    ch = TickChannel(1)
    t, box = _run(ch.get)
    time.sleep(0.05)
    ch.put(42)
    t.join(10)
    assert not t.is_alive() and box == {"value": 42}

    ch.put(1)                                  # now full
    t, box = _run(ch.put, 2)
    time.sleep(0.05)
    assert ch.get() == 1
    t.join(10)
    assert not t.is_alive() and "error" not in box
    assert ch.get(timeout=5) == 2


@pytest.mark.timeout(30)
def test_close_wakes_every_blocked_getter_and_putter():
    empty, full = TickChannel(4), TickChannel(1)
    full.put(0)
    waiters = [_run(empty.get) for _ in range(3)]
    waiters += [_run(empty.get_many, 5) for _ in range(2)]
    waiters += [_run(full.put, 1) for _ in range(3)]
    waiters += [_run(full.put_many, [1, 2, 3]) for _ in range(2)]
    time.sleep(0.1)                            # let them block (either way they must fail)
    empty.close()
    full.close()
    for t, box in waiters:
        t.join(10)
        assert not t.is_alive(), "close() did not wake a blocked waiter"
        assert isinstance(box.get("error"), mdstream.ChannelClosedError), box
    assert full.get() == 0                     # what was in stays readable
    with pytest.raises(mdstream.ChannelClosedError):
        full.get()


@pytest.mark.timeout(60)
@settings(max_examples=15)
@given(
    capacity=st.integers(1, 8),
    n_producers=st.integers(1, 3),
    n_consumers=st.integers(1, 3),
    per_producer=st.integers(0, 300),
    put_batch=st.integers(1, 10),
    get_batch=st.integers(1, 10),
)
def test_many_producers_many_consumers(capacity, n_producers, n_consumers, per_producer,
                                       put_batch, get_batch):
    """Every value is received exactly once, the channel never holds more than its
    capacity, and each consumer sees each producer's values in the order sent.

    With several consumers, FIFO cannot promise more than that: a producer's
    values are split among consumers, but since the channel hands values out in
    the order they came in and each consumer's gets follow each other in time,
    the values one consumer receives from one producer are in increasing order.
    """
    ch = TickChannel(capacity)
    errors = []
    received = [[] for _ in range(n_consumers)]
    stop_watch = threading.Event()
    max_seen = [0]

    def produce(p):
        try:
            vals = [p * 1_000_000 + i for i in range(per_producer)]
            for i in range(0, len(vals), put_batch):
                chunk = vals[i:i + put_batch]
                if len(chunk) == 1:
                    ch.put(chunk[0], timeout=20)
                else:
                    assert ch.put_many(chunk, timeout=20) == len(chunk)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def consume(c):
        try:
            while True:
                try:
                    if get_batch == 1:
                        received[c].append(ch.get(timeout=20))
                    else:
                        got = ch.get_many(get_batch, timeout=20)
                        assert 1 <= len(got) <= get_batch
                        received[c].extend(got)
                except mdstream.ChannelClosedError:
                    return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def watch():
        while not stop_watch.is_set():
            max_seen[0] = max(max_seen[0], len(ch))

    producers = [threading.Thread(target=produce, args=(p,), daemon=True)
                 for p in range(n_producers)]
    consumers = [threading.Thread(target=consume, args=(c,), daemon=True)
                 for c in range(n_consumers)]
    watcher = threading.Thread(target=watch, daemon=True)
    for t in consumers + producers + [watcher]:
        t.start()
    for t in producers:
        t.join(30)
        assert not t.is_alive(), "a producer is stuck"
    ch.close()
    for t in consumers:
        t.join(30)
        assert not t.is_alive(), "a consumer is stuck after close()"
    stop_watch.set()
    watcher.join(10)

    assert not errors, errors
    everything = sorted(v for r in received for v in r)
    assert everything == sorted(p * 1_000_000 + i for p in range(n_producers)
                                for i in range(per_producer))
    for r in received:
        by_producer = defaultdict(list)
        for v in r:
            by_producer[v // 1_000_000].append(v)
        for vs in by_producer.values():
            assert vs == sorted(vs)
    assert max_seen[0] <= capacity


# --- the C-to-C pump -----------------------------------------------------------------


@pytest.mark.timeout(60)
@settings(max_examples=25)
@given(n=st.integers(0, 50_000), batch=st.integers(1, 3000), capacity=st.integers(1, 5000))
def test_channel_pump_checksum(n, batch, capacity):
    seconds, checksum = channel_pump(n, batch, capacity)
    assert checksum == n * (n - 1) // 2
    assert seconds >= 0


def test_channel_pump_rejects_bad_arguments():
    for args in [(-1, 1, 1), (10, 0, 1), (10, 1, 0)]:
        with pytest.raises(mdstream.InvalidArgumentError):
            channel_pump(*args)


# --- Ctrl-C --------------------------------------------------------------------------

# A SIGINT while the main thread is blocked in the channel must raise
# KeyboardInterrupt promptly. Checked in a child interpreter: if the signal were
# lost, the wait would never end and would take the test run with it.
SIGINT_WHILE_BLOCKED = """
import os, signal, sys, threading
from mdstream._core import TickChannel
ch = TickChannel(1)
op = sys.argv[1] if len(sys.argv) > 1 else {op!r}
if op == "put":
    ch.put(1)
threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    ch.get() if op == "get" else ch.put(2)   # no timeout: only the signal ends the wait
except KeyboardInterrupt:
    print("interrupted", len(ch))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("op", ["get", "put"])
def test_blocked_call_on_main_thread_is_interrupted_by_sigint(op, run_snippet):
    proc = run_snippet(SIGINT_WHILE_BLOCKED.format(op=op), timeout=8)
    assert proc is not None, f"channel.{op}() ignored SIGINT and never returned"
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["interrupted", "1" if op == "put" else "0"], proc.stderr
