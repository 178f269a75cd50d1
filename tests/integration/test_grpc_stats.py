"""GetStats over a real server: the engine's counters, per-subscriber lag and
latency, what each stream sent (checked against what the client received),
the journal, and the server's recent rates."""

from __future__ import annotations

import numpy as np
import pytest

from mdstream.grpc.stats import RateTracker, SendCounters, read_stats
from mdstream.v1 import mdstream_pb2 as pb

pytestmark = pytest.mark.timeout(60)

STAGES = {"feed_to_ingest", "ingest_to_processed", "processed_to_sent", "age_at_send"}


def publish(engine, n: int, symbols=("AAPL", "MSFT")) -> None:
    ids = np.arange(n) % len(symbols)
    engine.publish_trades(np.asarray(symbols)[ids], 100.0 + ids + np.arange(n) * 0.01,
                          np.full(n, 10.0))


def read_rows(stream, n: int) -> int:
    """Read batches until n results came (the stream stays open)."""
    got = 0
    for batch in stream:
        got += len(batch)
        if got >= n:
            break
    return got


def test_get_stats_reports_the_engine_the_streams_and_what_they_were_sent(
        make_server, make_client, helpers):
    engine = helpers.publish_engine(["AAPL", "MSFT"])
    server = make_server(engine, start_engine=True, max_streams=7, detailed_stats=True)
    client = make_client(server)
    in_process = engine.subscribe(["MSFT"])          # not a gRPC stream: no rpc, no peer
    batches = client.stream_batches(["AAPL", "MSFT"], max_ticks_per_frame=256)
    results = client.stream_results(["AAPL"], policy="skip")
    helpers.wait_for_streams(server, 2)

    n = 3000
    publish(engine, n)
    assert read_rows(batches, n) == n
    per_tick = [next(results) for _ in range(n // 2)]          # every AAPL result
    assert all(m.symbol == "AAPL" for m in per_tick)
    assert helpers.wait_until(lambda: engine.stats().results == n)

    stats = client.get_stats()
    e = stats.engine
    assert (e.ticks_in, e.processed, e.results) == (n, n, n)
    assert e.running and not e.finished and e.bad_rows == 0 and e.dropped == 0
    assert len(e.processed_per_worker) == 2 and sum(e.processed_per_worker) == n
    assert e.channel_depth == [0, 0]
    assert stats.symbols == 2 and stats.feed.startswith("none")
    assert stats.max_streams == 7 and stats.streams_open == 2
    assert set(e.latency) == STAGES
    assert e.latency["ingest_to_processed"].total.count == n
    assert 0 < e.latency["ingest_to_processed"].total.p50 <= e.latency["ingest_to_processed"].total.max

    subs = {s.id: s for s in e.subscriptions}
    assert len(subs) == 3
    by_rpc = {info.rpc: (sid, info) for sid, info in stats.streams.items()}
    assert set(by_rpc) == {"StreamBatches", "StreamResults"}

    # The batch stream: everything read, nothing waiting; what the server
    # counted as sent is exactly what the client received.
    sid, info = by_rpc["StreamBatches"]
    # (the client left the policy to the server: its default for remote subscribers, skip)
    assert subs[sid].delivered == n and subs[sid].lag == 0 and subs[sid].policy == "skip"
    assert subs[sid].symbols == ["AAPL", "MSFT"]
    assert info.peer.startswith("ipv4:127.0.0.1:") or info.peer.startswith("ipv6:")
    assert (info.messages_sent, info.bytes_sent) == (batches.frames, batches.bytes)
    assert subs[sid].latency["processed_to_sent"].total.count == n

    # The per-tick stream: one message per AAPL result, its bytes as encoded.
    sid, info = by_rpc["StreamResults"]
    assert subs[sid].policy == "skip" and subs[sid].symbols == ["AAPL"]
    assert info.messages_sent == n // 2 == subs[sid].delivered
    assert info.bytes_sent == sum(m.ByteSize() for m in per_tick)

    # The in-process subscription read nothing yet: all its MSFT results wait.
    assert in_process.id in subs and in_process.id not in stats.streams
    assert subs[in_process.id].lag == n and subs[in_process.id].delivered == 0

    assert stats.rpcs["StreamBatches"].streams_open == 1
    assert stats.rpcs["StreamBatches"].messages_sent == batches.frames
    assert stats.rpcs["StreamResults"].messages_sent == n // 2
    assert stats.average.processed_per_s > 0 and stats.rates.window_s > 0
    assert stats.journal is None

    # A stream that ended stays in its RPC's totals.
    batches.cancel()
    helpers.wait_for_streams(server, 1)
    assert helpers.wait_until(lambda: client.get_stats().streams_open == 1)
    later = client.get_stats()
    assert later.rpcs["StreamBatches"].streams_open == 0
    assert later.rpcs["StreamBatches"].streams_served == 1
    assert later.rpcs["StreamBatches"].bytes_sent == batches.bytes
    results.cancel()
    in_process.close()


def test_get_stats_reports_the_journal(make_server, make_client, helpers, tmp_path):
    from mdstream import Engine

    engine = Engine(symbols=["AAPL", "MSFT"], workers=2, journal=tmp_path / "journal")
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    publish(engine, 1000)
    assert helpers.wait_until(lambda: engine.stats().results == 1000)
    j = client.get_stats().journal
    assert j is not None
    # The directory's name: the server's paths are not sent to clients.
    assert j.directory == "journal" and j.durability == "write"
    assert j.written_seq == 1000 and j.oldest_seq == 0 and j.bytes > 0 and j.error == ""
    assert j.recovered_segments == 0 and j.torn_bytes_cut == 0


def test_get_stats_of_a_finished_feed_while_the_server_keeps_serving(
        make_server, make_client, helpers):
    engine = helpers.finite_engine(2000)
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    assert helpers.wait_until(lambda: engine.finished and engine.stats().results == 2000, 10)
    stats = client.get_stats()
    assert stats.engine.finished and stats.engine.processed == 2000
    assert stats.feed == "simulated"
    # Late clients are still served.
    assert client.snapshot().as_of_seq == 1999


def test_the_message_reads_back_as_typed_stats():
    msg = pb.Stats(uptime_s=2.0, running=True, ticks_in=10, processed=9, results=9,
                   processed_per_worker=[4, 5], channel_depth=[1, 0],
                   average=pb.Rates(window_s=2.0, processed_per_s=4.5))
    msg.latency.add(stage="ingest_to_processed",
                    window=pb.LatencyPercentiles(count=9, p50_ns=100, p90_ns=200, p99_ns=300,
                                                 p999_ns=400, max_ns=500))
    msg.subscribers.add(id=3, policy=pb.POLICY_DISCONNECT, lag=7, rpc="StreamResults",
                        peer="ipv4:1.2.3.4:5", bytes_sent=99)
    msg.subscribers.add(id=4, symbols=["AAPL"], policy=pb.POLICY_SKIP, missed=2)
    st = read_stats(msg)
    assert st.engine.ticks_per_s == 4.5 and st.engine.channel_depth == [1, 0]
    lat = st.engine.latency["ingest_to_processed"]
    assert (lat.window.p50, lat.window.p999, lat.window.max, lat.total.count) == (100, 400, 500, 0)
    s3, s4 = st.engine.subscriptions
    assert (s3.policy, s3.lag, s3.symbols) == ("disconnect", 7, None)
    assert (s4.policy, s4.missed, s4.symbols) == ("skip", 2, ["AAPL"])
    assert set(st.streams) == {3} and st.streams[3].bytes_sent == 99
    assert st.journal is None


def test_recent_rates_come_from_the_newest_sample_at_least_a_window_old():
    rt = RateTracker(min_window=1.0, keep=10.0)
    assert rt.rates(100.0, (0, 0)) is None                 # nothing to compare with yet
    assert rt.rates(100.5, (50, 5)) is None                # too recent
    window, rates = rt.rates(101.2, (120, 12))             # against t=100.0 (100.5 is too recent)
    assert window == pytest.approx(1.2) and rates == pytest.approx((100.0, 10.0))
    window, rates = rt.rates(102.0, (220, 22))             # against t=100.5: the newest old enough
    assert window == pytest.approx(1.5) and rates == pytest.approx((170 / 1.5, 17 / 1.5))
    assert rt.rates(130.0, (0, 0)) is None                 # samples older than keep are dropped


def test_send_counters_fold_closed_streams_into_their_rpc():
    c = SendCounters()
    a = c.open("StreamBatches", "peer-a", 1)
    b = c.open("StreamResults", "peer-b", 2)
    a.sent(b"x" * 10)
    a.sent(b"y" * 5)
    b.sent_many([b"a", b"bc", b"def"])
    b.unsent([b"def"])
    c.close(a)
    c.close(a)                                              # twice: counted once
    totals = {t.method: t for t in c.totals()}
    assert (totals["StreamBatches"].streams_open, totals["StreamBatches"].streams_served,
            totals["StreamBatches"].messages_sent, totals["StreamBatches"].bytes_sent) == (0, 1, 2, 15)
    assert (totals["StreamResults"].streams_open, totals["StreamResults"].messages_sent,
            totals["StreamResults"].bytes_sent) == (1, 2, 3)
    assert [s.subscription_id for s in c.streams()] == [2]
    families = {f.name: f for f in c.metric_families()}
    assert {s.labels["rpc"]: s.value for s in families["mdstream_grpc_subscribers"].samples} == {
        "StreamBatches": 0, "StreamResults": 1}
    assert {s.labels["rpc"]: s.value for s in families["mdstream_grpc_bytes_sent"].samples} == {
        "StreamBatches": 15, "StreamResults": 3}
