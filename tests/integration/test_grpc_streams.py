"""StreamBatches and StreamResults over a real server: same data, filters,
symbol dictionaries, heartbeats, snapshots, symbols, health and reflection."""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest

from mdstream import RESULT_DTYPE
from mdstream.v1 import mdstream_pb2 as pb

pytestmark = pytest.mark.timeout(60)


def collect(stream, out: dict, key: str) -> threading.Thread:
    """Drain a stream in a thread into out[key] (a list), or the error into out[key+'_error']."""
    def run():
        items = []
        try:
            for item in stream:
                items.append(item)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            out[key + "_error"] = exc
        out[key] = items

    t = threading.Thread(target=run, name=f"collect-{key}")
    t.start()
    return t


def result_rows(messages, names) -> np.ndarray:
    """Per-tick Result messages as RESULT_DTYPE rows (for comparing with batches)."""
    rows = np.zeros(len(messages), dtype=RESULT_DTYPE)
    for i, m in enumerate(messages):
        for name in RESULT_DTYPE.names:
            rows[name][i] = getattr(m, name)
        assert names[m.symbol_id] == m.symbol
    return rows


def test_batch_and_per_tick_streams_carry_identical_data(make_server, make_client, helpers):
    h = helpers
    n = 6000
    engine = h.finite_engine(n)
    server = make_server(engine)
    client = make_client(server)
    out: dict = {}
    batches = client.stream_batches(max_ticks_per_frame=500)
    results = client.stream_results()
    threads = [collect(batches, out, "batches"), collect(results, out, "results")]
    h.wait_for_streams(server, 2)
    engine.start()          # both streams are open: each sees every result from seq 0
    for t in threads:
        t.join(30)
    assert "batches_error" not in out and "results_error" not in out, out
    got = np.concatenate([b.rows for b in out["batches"]])
    assert got["seq"].tolist() == list(range(n))
    assert all(len(b) <= 500 for b in out["batches"])
    per_tick = result_rows(out["results"], list(engine.symbols))
    # Identical values, bit for bit (NaN included).
    assert per_tick.tobytes() == got.tobytes()
    # The batch stream's dictionary names every id it used.
    assert batches.symbols == list(engine.symbols)
    names = out["batches"][-1].symbol_names()
    assert set(names) <= set(h.SYMBOLS)
    assert batches.last_seq == n - 1


def test_symbol_filter(make_server, make_client, helpers):
    h = helpers
    n = 4000
    engine = h.finite_engine(n)
    server = make_server(engine)
    client = make_client(server)
    out: dict = {}
    threads = [collect(client.stream_batches(["MSFT", "TSLA"]), out, "b"),
               collect(client.stream_results("GOOG"), out, "r")]
    h.wait_for_streams(server, 2)
    engine.start()
    for t in threads:
        t.join(30)
    rows = np.concatenate([b.rows for b in out["b"]])
    ids = {engine.symbol_table.id("MSFT"), engine.symbol_table.id("TSLA")}
    assert len(rows) > 0 and set(np.unique(rows["symbol_id"]).tolist()) == ids
    assert np.all(np.diff(rows["seq"]) > 0)
    goog = [m for m in out["r"]]
    assert goog and {m.symbol for m in goog} == {"GOOG"}
    # Together with the engine's own per-symbol counts: nothing lost.
    counts = engine._core.symbol_result_counts(len(engine.symbols))
    assert len(rows) == sum(counts[i] for i in ids)
    assert len(goog) == counts[engine.symbol_table.id("GOOG")]
    # The dictionary of a filtered stream names only its symbols.
    assert {s for s in out["b"][0].symbols if s is not None} <= {"MSFT", "TSLA"}


def test_symbols_added_while_streaming_are_named(make_server, make_client, helpers):
    h = helpers
    engine = h.publish_engine(["AAPL"])
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    stream = client.stream_batches(max_wait=0.0)
    it = iter(stream)
    h.wait_for_streams(server, 1)
    engine.publish_trades("AAPL", 100.0, 1)
    first = next(it)
    assert first.symbol_names().tolist() == ["AAPL"]
    engine.add_symbols(["NEWCO"])
    engine.publish_trades("NEWCO", 5.0, 2)
    second = next(it)
    assert second.symbol_names().tolist() == ["NEWCO"]
    assert second.value.tolist() == [10.0]
    stream.cancel()


def test_heartbeats_when_idle(make_server, make_client, helpers):
    h = helpers
    engine = h.publish_engine()
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    stream = client.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
    it = iter(stream)
    beat = next(it)                      # nothing published: a heartbeat
    assert len(beat) == 0 and stream.heartbeat is not None
    assert stream.heartbeat.last_seq == -1
    assert abs(stream.heartbeat.server_time_ns - time.time_ns()) < 5e9
    # Results of other symbols move the stream's watermark on, without rows.
    engine.publish_trades("MSFT", [1.0, 2.0, 3.0], 1)
    assert wait_for_watermark(it, stream, 2)
    engine.publish_trades("AAPL", 7.0, 1)
    batch = next(b for b in it if len(b))
    assert batch.price.tolist() == [7.0] and batch.seq.tolist() == [3]
    stream.cancel()


def wait_for_watermark(it, stream, seq, limit=100) -> bool:
    for _ in range(limit):
        next(it)
        if stream.last_seq >= seq:
            return True
    return False


def test_heartbeats_are_not_yielded_by_default(make_server, make_client, helpers):
    h = helpers
    engine = h.publish_engine()
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    stream = client.stream_batches(["AAPL"], heartbeat_interval=0.02, max_wait=0.0)
    it = iter(stream)
    h.wait_for_streams(server, 1)
    time.sleep(0.15)                     # several heartbeats go by
    engine.publish_trades("AAPL", 3.0, 1)
    batch = next(it)
    assert len(batch) == 1 and stream.frames >= 2
    stream.cancel()


def test_frame_limits(make_server, make_client, helpers):
    h = helpers
    n = 3000
    engine = h.finite_engine(n)
    server = make_server(engine)
    client = make_client(server)
    out: dict = {}
    t = collect(client.stream_batches(max_ticks_per_frame=7, max_wait=0.0), out, "b")
    h.wait_for_streams(server, 1)
    engine.start()
    t.join(30)
    sizes = [len(b) for b in out["b"]]
    assert sum(sizes) == n and max(sizes) == 7


def test_max_wait_fills_frames(make_server, make_client, helpers):
    h = helpers
    """With frame_linger="fixed" the server holds a frame open for max_wait to fill it."""
    engine = h.publish_engine()
    server = make_server(engine, start_engine=True, frame_linger="fixed")
    client = make_client(server)
    stream = client.stream_batches(max_wait=0.5)
    it = iter(stream)
    h.wait_for_streams(server, 1)

    def publish_slowly():
        for i in range(5):
            engine.publish_trades("AAPL", 1.0 + i, 1)
            time.sleep(0.02)

    t = threading.Thread(target=publish_slowly)
    t.start()
    batch = next(it)
    t.join()
    assert len(batch) == 5                # one frame, although they came 20 ms apart
    stream.cancel()


def test_snapshot_and_list_symbols(make_server, make_client, helpers):
    h = helpers
    engine = h.publish_engine()
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    assert client.list_symbols() == h.SYMBOLS
    empty = client.snapshot()
    assert empty.as_of_seq == -1 and len(empty.results) == 0
    engine.publish_trades(["AAPL", "MSFT", "AAPL"], [10.0, 20.0, 11.0], [1, 2, 3])
    engine.publish_quotes("MSFT", 19.9, 20.1, 5, 6)
    snap = _wait_snapshot(client, 3)
    assert snap.as_of_seq == 3
    by_name = dict(zip(snap.results.symbol_names(), snap.results.rows))
    assert set(by_name) == {"AAPL", "MSFT"}
    assert by_name["AAPL"]["price"] == 11.0 and by_name["AAPL"]["volume"] == 4.0
    assert by_name["MSFT"]["bid"] == 19.9 and by_name["MSFT"]["seq"] == 3
    only = client.snapshot(["MSFT"])
    assert only.results.symbol_names().tolist() == ["MSFT"]
    # The same values as the engine's own snapshot.
    local = engine.snapshot()
    assert local.results.rows.tobytes() == snap.results.rows.tobytes()


def _wait_snapshot(client, seq, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        snap = client.snapshot()
        if snap.as_of_seq >= seq or time.monotonic() > deadline:
            return snap
        time.sleep(0.01)


def test_legacy_service_name_serves_the_original_contract(make_server, helpers):
    h = helpers
    """Clients of the original project call mdstream.MDStream/StreamResults."""
    engine = h.publish_engine()
    server = make_server(engine, start_engine=True)
    with grpc.insecure_channel(server.address) as channel:
        call = channel.unary_stream("/mdstream.MDStream/StreamResults",
                                    request_serializer=lambda b: b,
                                    response_deserializer=pb.Result.FromString)
        stream = call(b"")               # the original SubscribeRequest was empty
        h.wait_for_streams(server, 1)
        engine.publish_trades("AAPL", 150.0, 10)
        first = next(stream)
        assert (first.symbol, first.value) == ("AAPL", 1500.0)
        stream.cancel()


def test_health_and_reflection(make_server, helpers):
    h = helpers
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    engine = h.publish_engine()
    server = make_server(engine, start_engine=True)
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "mdstream.v1.MDStream", "mdstream.MDStream"):
            resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        req = reflection_pb2.ServerReflectionRequest(list_services="")
        resp = next(iter(refl.ServerReflectionInfo(iter([req]), timeout=5)))
        names = {s.name for s in resp.list_services_response.service}
        assert {"mdstream.v1.MDStream", "mdstream.MDStream", "grpc.health.v1.Health"} <= names
        # The original service is described too, over the v1 messages.
        req = reflection_pb2.ServerReflectionRequest(file_containing_symbol="mdstream.MDStream")
        resp = next(iter(refl.ServerReflectionInfo(iter([req]), timeout=5)))
        assert resp.file_descriptor_response.file_descriptor_proto
        req = reflection_pb2.ServerReflectionRequest(file_containing_symbol="mdstream.v1.ResultBatch")
        resp = next(iter(refl.ServerReflectionInfo(iter([req]), timeout=5)))
        assert resp.file_descriptor_response.file_descriptor_proto


def test_stream_ends_ok_when_the_engine_finishes(make_server, make_client, helpers):
    h = helpers
    engine = h.finite_engine(100)
    server = make_server(engine)
    client = make_client(server)
    out: dict = {}
    t = collect(client.stream_batches(), out, "b")
    h.wait_for_streams(server, 1)
    engine.start()
    t.join(30)
    assert "b_error" not in out
    assert sum(len(b) for b in out["b"]) == 100
    assert server.servicer.active_streams == 0
