"""The adaptive frame linger: a frame goes out at once when ticks trickle in,
and waits (up to max_wait) only while they pour in; "fixed" waits max_wait.

No timing is asserted: ticks are published 50 ms apart, and what is checked
is how many of them one frame (batch) holds.
"""

from __future__ import annotations

import threading
import time

import pytest

from mdstream import Engine
from mdstream.errors import InvalidArgumentError
from mdstream.grpc.servicer import MDStreamServicer

SYMBOLS = ["AAPL", "MSFT"]


def _publish_later(engine: Engine, n: int, gap: float = 0.05) -> threading.Thread:
    def run():
        for i in range(n):
            time.sleep(gap)
            engine.publish_trades("AAPL", 1.0 + i, 1)
    t = threading.Thread(target=run)
    t.start()
    return t


def _wait_in_log(sub, n: int) -> None:
    """Until the subscription has n results waiting (its lag), at most 10 s."""
    deadline = time.monotonic() + 10
    while sub.counters()["lag"] < n and time.monotonic() < deadline:
        time.sleep(0.001)


def test_adaptive_sends_a_trickling_tick_at_once_over_grpc(make_server, make_client, helpers):
    engine = helpers.publish_engine(SYMBOLS)
    server = make_server(engine, start_engine=True)          # frame_linger="adaptive"
    client = make_client(server)
    stream = client.stream_batches(max_wait=1.0)              # the longest max_wait allowed
    it = iter(stream)
    helpers.wait_for_streams(server, 1)
    t = _publish_later(engine, 3)
    sizes = [len(next(it)) for _ in range(3)]
    t.join()
    # A fixed linger of 1 s would put all three (50 ms apart) in one frame.
    assert sizes == [1, 1, 1]
    stream.cancel()


def test_fixed_linger_still_fills_frames_over_grpc(make_server, make_client, helpers):
    engine = helpers.publish_engine(SYMBOLS)
    server = make_server(engine, start_engine=True, frame_linger="fixed")
    client = make_client(server)
    stream = client.stream_batches(max_wait=1.0)
    it = iter(stream)
    helpers.wait_for_streams(server, 1)
    t = _publish_later(engine, 3)
    batch = next(it)
    t.join()
    assert len(batch) == 3
    stream.cancel()


def test_in_process_adaptive_and_fixed():
    engine = Engine(symbols=SYMBOLS, workers=2)
    with engine, engine.subscribe(max_wait=1.0) as sub:
        t = _publish_later(engine, 2)
        first = sub.next_batch(5.0, adaptive=True)
        second = sub.next_batch(5.0, adaptive=True)
        t.join()
        assert (len(first), len(second)) == (1, 1)
        t = _publish_later(engine, 2)
        both = sub.next_batch(5.0)                            # the subscription's max_wait, fixed
        t.join()
        assert len(both) == 2 and both.price.tolist() == [1.0, 2.0]


def test_in_process_adaptive_lingers_while_results_pour_in():
    """After a large batch, a reader that comes back to results already
    waiting lingers for more (up to max_wait after the previous batch) instead
    of sending a small batch, however long its own code took between reads."""
    engine = Engine(symbols=SYMBOLS, workers=1)
    with engine, engine.subscribe(max_wait=1.0) as sub:
        engine.publish_trades("AAPL", [1.0] * 150, [1] * 150)
        _wait_in_log(sub, 150)
        first = sub.next_batch(5.0, max_ticks_per_frame=100, adaptive=True)
        time.sleep(0.01)                                      # a slow reader's own work
        t = _publish_later(engine, 1)                         # 50 ms from now
        second = sub.next_batch(5.0, adaptive=True)
        t.join()
        assert len(first) == 100
        assert len(second) == 51                              # the 50 waiting + the late one


def test_in_process_adaptive_sends_at_once_after_the_log_drained():
    """A reader whose previous batch was large but that then drained the log
    and waited sends the next result at once: the stream has gone quiet."""
    engine = Engine(symbols=SYMBOLS, workers=1)
    with engine, engine.subscribe(max_wait=1.0) as sub:
        engine.publish_trades("AAPL", [1.0] * 100, [1] * 100)
        _wait_in_log(sub, 100)
        first = sub.next_batch(5.0, max_ticks_per_frame=100, adaptive=True)
        t = _publish_later(engine, 2)                         # 50 and 100 ms from now
        second = sub.next_batch(5.0, adaptive=True)
        third = sub.next_batch(5.0, adaptive=True)
        t.join()
        assert (len(first), len(second), len(third)) == (100, 1, 1)


def test_frame_linger_is_checked():
    engine = Engine(symbols=SYMBOLS, workers=1)
    with pytest.raises(InvalidArgumentError, match="frame_linger must be one of adaptive, fixed"):
        MDStreamServicer(engine, frame_linger="nagle")
