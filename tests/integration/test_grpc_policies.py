"""Slow-consumer policies over gRPC, each with a deliberately slow client.

The engine's ring is small (1024 results) and the feed runs as fast as it can,
so a client that sleeps between frames falls a ring behind at once; what
happens then is its policy: block (nothing lost, the engine waits), skip
(gap notices that account for every result jumped over) or disconnect
(RESOURCE_EXHAUSTED, "too slow"). The block tests lift the server's block
deadline (test_grpc_server_defaults covers it).
"""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest

from mdstream import SlowConsumerError

pytestmark = pytest.mark.timeout(60)

RING = 1024


def slow_read(stream, pause: float = 0.01, slow_frames: int = 30):
    """Read a stream, sleeping after each of the first slow_frames frames."""
    batches = []
    for i, batch in enumerate(stream):
        batches.append(batch)
        if i < slow_frames:
            time.sleep(pause)
    return batches


def test_block_slow_client_loses_nothing(make_server, make_client, helpers):
    n = 50_000
    engine = helpers.finite_engine(n, ring_size=RING)
    # Lossless back-pressure for remote clients: the operator lifts the deadline.
    server = make_server(engine, block_deadline=None)
    # Without BDP probing the HTTP/2 window stays small, so grpc cannot buffer
    # much ahead of a client that does not read.
    client = make_client(server, options=[("grpc.http2.bdp_probe", 0)])
    stream = client.stream_batches(policy="block", max_ticks_per_frame=256)
    it = iter(stream)
    helpers.wait_for_streams(server, 1)
    engine.start()
    first = next(it)
    time.sleep(0.3)
    # The client paused: the engine waits for it, a ring ahead at most.
    stats = engine.stats()
    assert stats.results < n, "the engine ran ahead of a stalled 'block' subscriber"
    assert [s.lag for s in stats.subscriptions if s.policy == "block"][0] <= RING
    batches = [first] + slow_read(it)
    rows = np.concatenate([b.rows for b in batches])
    assert rows["seq"].tolist() == list(range(n))
    assert all(b.gap is None for b in batches)
    assert stream.missed == 0


def test_skip_slow_client_gets_gap_notices(make_server, make_client, helpers):
    n = 30_000
    engine = helpers.finite_engine(n, ring_size=RING)
    server = make_server(engine)
    client = make_client(server)
    stream = client.stream_batches(policy="skip", max_ticks_per_frame=256)
    it = iter(stream)
    helpers.wait_for_streams(server, 1)
    engine.start()
    batches = slow_read(it, pause=0.02, slow_frames=10)
    rows = np.concatenate([b.rows for b in batches])
    gaps = [b.gap for b in batches if b.gap is not None]
    assert gaps, "a client this slow must have been skipped ahead"
    seqs = rows["seq"]
    assert np.all(np.diff(seqs) > 0)                   # no duplicate, in order
    # Every result is either received or counted as missed (no symbol filter).
    assert len(rows) + sum(g.missed for g in gaps) == n
    assert stream.missed == sum(g.missed for g in gaps)
    for g in gaps:                                      # nothing received inside a gap
        assert not np.any((seqs >= g.from_seq) & (seqs < g.to_seq))


def test_skip_per_tick_stream_reports_missed_before(make_server, make_client, helpers):
    # 200k ticks/s: far more than one message per tick can carry, so the
    # stream falls a ring behind again and again while it runs.
    n = 20_000
    engine = helpers.finite_engine(n, ring_size=RING, rate=200_000)
    server = make_server(engine)
    client = make_client(server)
    stream = client.stream_results(policy="skip")
    helpers.wait_for_streams(server, 1)
    engine.start()
    messages = list(stream)
    missed = sum(m.missed_before for m in messages)
    assert messages and missed > 0
    # A gap after the last result has no message to ride on, hence <=.
    assert len(messages) + missed <= n
    seqs = [m.seq for m in messages]
    assert seqs == sorted(set(seqs))


@pytest.mark.parametrize("rpc", ["batches", "results"])
def test_disconnect_slow_client_gets_resource_exhausted(make_server, make_client, helpers, rpc):
    n = 50_000
    engine = helpers.finite_engine(n, ring_size=RING)
    server = make_server(engine)
    client = make_client(server, options=[("grpc.http2.bdp_probe", 0)])
    if rpc == "batches":
        stream = client.stream_batches(policy="disconnect", max_ticks_per_frame=256)
    else:
        stream = client.stream_results(policy="disconnect")
    helpers.wait_for_streams(server, 1)
    engine.start()
    with pytest.raises(SlowConsumerError) as info:
        for i, _ in enumerate(stream):
            if i == 0:
                time.sleep(0.3)          # fall behind (or already did)
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too slow" in info.value.details
    assert helpers.wait_until(lambda: server.servicer.active_streams == 0)
    # The engine was never held back: it processed everything.
    assert engine.wait(10)
    assert engine.stats().processed == n


def test_a_slow_block_client_does_not_lose_data_for_a_fast_skip_client(make_server, make_client,
                                                                      helpers):
    """Policies are per subscriber: a skip client next to a slow block client."""
    n = 10_000
    engine = helpers.finite_engine(n, ring_size=RING)
    server = make_server(engine, block_deadline=None)
    client = make_client(server)
    slow = iter(client.stream_batches(policy="block", max_ticks_per_frame=256))
    fast = iter(client.stream_batches(policy="skip"))
    helpers.wait_for_streams(server, 2)
    engine.start()
    slow_rows = np.concatenate([b.rows for b in slow_read(slow, pause=0.005)])
    fast_rows = np.concatenate([b.rows for b in fast if len(b)])
    assert slow_rows["seq"].tolist() == list(range(n))
    assert np.all(np.diff(fast_rows["seq"]) > 0)
