"""Safe server defaults: a stalled remote client cannot stall the engine, the
operator chooses the policies remote clients may use, every stream shows it
is alive, and a replay does not start before its reader.

- A remote request without a policy gets 'skip'; a remote 'block' subscriber
  that holds the engine back for longer than the server's block deadline is
  disconnected with RESOURCE_EXHAUSTED / SLOW_CONSUMER naming the deadline
  (the core fails it like a 'disconnect' reader), while the others go on.
- A policy the server does not allow: PERMISSION_DENIED / POLICY_NOT_ALLOWED.
- StreamResults sends heartbeat Results when the request opts in
  (result_heartbeats); mdstream's clients take them in as ``heartbeat``.
- A CSV replay waits for its first subscriber (CSVFeed(wait_for_subscriber=True)).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import mdstream
from mdstream import CSVFeed, Engine, SimulatedFeed, SlowConsumerError
from mdstream.grpc.contract import METHOD_PREFIX, PolicyNotAllowedError, request_to_proto
from mdstream.grpc import Server
from mdstream.grpc.errors import error_info
from mdstream.request import StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

pytestmark = pytest.mark.timeout(60)

RING = 1024
TRADES = Path(__file__).resolve().parents[1] / "data" / "real" / "tardis_trades.csv"

# Without BDP probing the HTTP/2 window stays small, so grpc buffers little
# ahead of a client that does not read.
SMALL_WINDOW = [("grpc.http2.bdp_probe", 0)]


def endless_engine() -> Engine:
    return Engine(feed=SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=3),
                  workers=2, ring_size=RING)


def raw_results(channel, timeout=None, **fields):
    """A StreamResults call with a SubscribeRequest of exactly these fields."""
    call = channel.unary_stream(METHOD_PREFIX + "StreamResults",
                                request_serializer=pb.SubscribeRequest.SerializeToString,
                                response_deserializer=pb.Result.FromString)
    return call(pb.SubscribeRequest(**fields), timeout=timeout)


# -- point 8: one stalled client must not stall the server ----------------------------------

def test_a_stalled_block_client_is_cut_off_after_the_deadline_and_others_go_on(
        make_server, make_client, helpers):
    engine = endless_engine()
    server = make_server(engine, block_deadline=0.5)
    stalled = make_client(server, options=SMALL_WINDOW).stream_batches(
        policy="block", max_ticks_per_frame=64)        # opened, never read (until the end)
    helpers.wait_for_streams(server, 1)
    live = make_client(server).stream_batches(policy="skip", max_ticks_per_frame=1024)
    with grpc.insecure_channel(server.address) as channel:
        unset = raw_results(channel)                  # no policy: the server's default
        helpers.wait_for_streams(server, 3)
        assert sorted(s.policy for s in engine.stats().subscriptions) == ["block", "skip", "skip"]
        unset.cancel()
    assert helpers.wait_until(lambda: server.servicer.active_streams == 2)
    received = []
    stop = threading.Event()

    def read_live():
        for batch in live:
            received.append(len(batch))
            if stop.is_set():
                return

    reader = threading.Thread(target=read_live, daemon=True)
    reader.start()
    helpers.wait_for_streams(server, 2)
    engine.start()

    # The stalled client holds the engine back for its deadline at most ...
    assert helpers.wait_until(lambda: engine.stats().disconnected == 1, timeout=10), \
        "the stalled 'block' client was not cut off"
    # ... then the engine runs on and the other client keeps receiving.
    t0, n0 = engine.stats().ticks_in, sum(received)
    time.sleep(0.5)
    t1, n1 = engine.stats().ticks_in, sum(received)
    assert t1 > t0 + 10_000 and n1 > n0, (t0, t1, n0, n1)
    stop.set()
    reader.join(5)

    # The stalled client learns why once it reads: what was sent, then the status.
    with pytest.raises(SlowConsumerError) as err:
        for _ in stalled:
            pass
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "block deadline of 500ms" in str(err.value), str(err.value)
    live.close()


def test_a_block_client_that_keeps_up_is_not_cut_off(make_server, make_client, helpers):
    n = 50_000
    engine = helpers.finite_engine(n, ring_size=RING)
    server = make_server(engine, block_deadline=0.5)
    stream = make_client(server).stream_batches(policy="block")
    it = iter(stream)
    helpers.wait_for_streams(server, 1)
    engine.start()
    rows = np.concatenate([b.rows for b in it])
    assert rows["seq"].tolist() == list(range(n))
    assert engine.stats().disconnected == 0


def test_the_raw_stalled_call_gets_the_status_with_its_error_info(make_server, helpers):
    engine = endless_engine()
    server = make_server(engine, block_deadline=0.3)
    with grpc.insecure_channel(server.address, options=SMALL_WINDOW) as channel:
        call = raw_results(channel, policy=pb.POLICY_BLOCK)
        helpers.wait_for_streams(server, 1)
        engine.start()
        assert helpers.wait_until(lambda: engine.stats().disconnected == 1, timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            for _ in call:
                pass
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "block deadline of 300ms" in err.value.details()
        assert error_info(err.value).reason == "SLOW_CONSUMER"


def test_in_process_block_has_no_deadline_unless_asked(helpers):
    engine = endless_engine()
    held = engine.subscribe(policy="block")                       # never read
    cut = engine.subscribe(policy="block", block_deadline=0.2)    # never read either
    with engine:
        time.sleep(0.6)
        # The subscription without a deadline still holds the engine back.
        assert engine.stats().results <= RING
        held.close()
        assert helpers.wait_until(lambda: engine.stats().disconnected == 1, timeout=5)
        t0 = engine.stats().ticks_in
        time.sleep(0.2)
        assert engine.stats().ticks_in > t0
        with pytest.raises(SlowConsumerError, match="block deadline of 200ms"):
            while cut.next_batch(timeout=1) is not None:
                pass
    assert cut.counters()["disconnected"]


def test_a_policy_the_server_does_not_allow_is_refused(make_server, make_client, helpers):
    engine = helpers.finite_engine(10)
    server = make_server(engine, allowed_policies=("skip", "disconnect"))
    client = make_client(server)
    with pytest.raises(PolicyNotAllowedError) as err:
        next(iter(client.stream_batches(policy="block")))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "skip or disconnect" in str(err.value) and "--allowed-policies" in str(err.value)
    assert err.value.allowed == ("skip", "disconnect")
    # Unset is skip, which is allowed.
    with grpc.insecure_channel(server.address) as channel:
        call = raw_results(channel)
        helpers.wait_for_streams(server, 1)
        assert engine.stats().subscriptions[0].policy == "skip"
        call.cancel()


def test_server_settings_are_checked():
    engine = Engine(symbols=["A"])
    with pytest.raises(mdstream.InvalidArgumentError, match="allowed policies"):
        Server(engine, allowed_policies=("block", "wait"))
    with pytest.raises(mdstream.InvalidArgumentError, match="block_deadline"):
        Server(engine, block_deadline=-1)


# -- point 9: liveness on every stream -----------------------------------------------------

def test_stream_results_sends_heartbeats_when_asked(make_server, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    with grpc.insecure_channel(server.address) as channel:
        call = raw_results(channel, result_heartbeats=True, heartbeat_interval_ms=50)
        first = next(call)
        assert first.heartbeat and first.symbol == "" and first.last_seq == -1
        assert abs(first.server_time_ns - time.time_ns()) < 5e9
        engine.publish_trades("AAPL", 100.0, 1.0)
        msg = next(call)
        while msg.heartbeat:
            msg = next(call)
        assert msg.symbol == "AAPL" and msg.seq == 0 and not msg.heartbeat
        beat = next(call)
        assert beat.heartbeat and beat.last_seq == 0
        call.cancel()
        # A request that does not opt in (an old client) never gets one.
        old = raw_results(channel, timeout=0.6, heartbeat_interval_ms=50)
        with pytest.raises(grpc.RpcError) as err:
            next(old)
            pytest.fail("a heartbeat was sent to a client that did not ask")
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_the_legacy_service_sends_heartbeats_when_asked(make_server, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    with grpc.insecure_channel(server.address) as channel:
        call = channel.unary_stream("/mdstream.MDStream/StreamResults",
                                    request_serializer=pb.SubscribeRequest.SerializeToString,
                                    response_deserializer=pb.Result.FromString)(
            pb.SubscribeRequest(result_heartbeats=True, heartbeat_interval_ms=20))
        assert next(call).heartbeat
        call.cancel()


def test_result_streams_take_heartbeats_in(make_server, make_client, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    plain = client.stream_results(["AAPL"])
    resuming = client.stream_results(["AAPL"], resume=True)
    got = {}
    # A resuming stream connects on its first next().
    reader = threading.Thread(target=lambda: got.update(msg=next(resuming)), daemon=True)
    reader.start()
    helpers.wait_for_streams(server, 2)
    time.sleep(1.3)                       # the default heartbeat interval is 1 s
    engine.publish_trades("AAPL", 100.0, 1.0)
    reader.join(10)
    for stream, msg in ((plain, next(plain)), (resuming, got["msg"])):
        # the trade: the heartbeats before it were taken in, not yielded
        assert msg.symbol == "AAPL" and msg.seq == 0 and not msg.heartbeat
        assert stream.heartbeat is not None and stream.heartbeat.last_seq == -1
        assert stream.received == 1
        stream.close()


def test_request_to_proto_asks_for_result_heartbeats():
    assert request_to_proto(StreamRequest()).result_heartbeats


def test_the_server_configures_keepalive(make_server, helpers):
    server = make_server(helpers.publish_engine(), keepalive_time=30, keepalive_timeout=5)
    options = dict(server._options)
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.keepalive_timeout_ms"] == 5_000
    assert options["grpc.keepalive_permit_without_calls"] == 1


# -- point 10: a replay does not start before its reader -----------------------------------

def test_the_first_pattern_with_a_csv_replay_sees_every_row():
    engine = Engine(feed=CSVFeed(TRADES, speed=0), workers=2)
    seqs = []
    with engine:
        time.sleep(0.3)                   # a slow start: the replay waits for its reader
        with engine.subscribe() as sub:
            for batch in sub:
                seqs.extend(batch.seq.tolist())
    assert seqs == list(range(9999))


def test_a_replay_without_a_subscriber_runs_on_wait():
    feed = CSVFeed(TRADES, speed=0)
    with Engine(feed=feed, workers=2) as engine:
        time.sleep(0.1)
        assert engine.feed_waiting and feed.published == 0
        assert engine.wait(30)
    assert feed.published == 9999


def test_a_replay_waits_at_most_its_timeout():
    feed = CSVFeed(TRADES, speed=0, wait_for_subscriber=0.2)
    with Engine(feed=feed, workers=2) as engine:
        assert engine.feed_waiting
        assert feed.wait(10)              # started after 0.2 s without a subscriber
        assert not engine.feed_waiting


def test_a_replay_can_start_with_the_engine():
    feed = CSVFeed(TRADES, speed=0, wait_for_subscriber=False)
    with Engine(feed=feed, workers=2) as engine:
        assert not engine.feed_waiting
        assert feed.wait(10)


def test_a_replay_that_never_started_stops_cleanly(no_thread_leak):
    feed = CSVFeed(TRADES, speed=0)
    engine = Engine(feed=feed, workers=2).start()
    engine.stop()
    assert feed.published == 0 and not engine.feed_waiting
    with pytest.raises(mdstream.InvalidArgumentError, match="wait_for_subscriber"):
        CSVFeed(TRADES, wait_for_subscriber=-1)
