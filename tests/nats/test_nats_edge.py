"""Edges: the gRPC API served from JetStream, checked against the engine itself."""

from __future__ import annotations

import io

import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console

import grpc
import mdstream
from mdstream.grpc import Server
from mdstream.nats import EdgeSource, NatsError, Publisher
from mdstream.observe import stats_view
from nats_helpers import run_async, start_edge

SYMBOLS = ["AAPL", "MSFT", "BRK.B", "GOOG"]


@pytest.fixture
def published(nats_server, tmp_path):
    """An engine whose 40,000 results are all in JetStream, and its own view of them."""
    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, count=40_000, seed=11)
    engine = mdstream.Engine(feed=feed, workers=2, journal=str(tmp_path / "journal"))
    sub = engine.subscribe(policy="block")
    publisher = Publisher(engine, nats_server.url, max_ticks_per_frame=2048).start()
    engine.start()
    rows = np.concatenate([b.rows for b in sub.batches(timeout=60)])
    assert publisher.wait_published(39_999, 60)
    yield engine, rows
    publisher.stop()
    engine.stop()


@pytest.fixture
def edge(nats_server, published):
    source = EdgeSource(nats_server.url).start()
    with Server(source, "127.0.0.1", 0) as server:
        yield source, server.address
    source.stop()


def test_an_edge_streams_the_engines_results_bit_for_bit(edge, published):
    engine, expected = published
    _source, address = edge
    with mdstream.Client(address) as client:
        assert client.list_symbols() == list(engine.symbol_table.names)
        got = []
        for batch in client.stream_batches(from_seq=0, max_ticks_per_frame=1000):
            assert len(batch) <= 1000
            got.append(batch.rows)
            if batch.seq[-1] == 39_999:
                break
        assert np.concatenate(got).tobytes() == expected.tobytes()

        # from the middle of a batch, for two symbols
        picked = expected[(expected["seq"] >= 12_345)
                          & np.isin(expected["symbol_id"], [1, 2])]
        got = []
        for batch in client.stream_batches(["MSFT", "BRK.B"], from_seq=12_345):
            got.append(batch.rows)
            if batch.seq[-1] == picked["seq"][-1]:
                break
        assert np.concatenate(got).tobytes() == picked.tobytes()

        # one symbol: the edge reads that symbol's subject only
        brk = expected[(expected["seq"] >= 777) & (expected["symbol_id"] == 2)]
        got = []
        stream = client.stream_batches("BRK.B", from_seq=777, heartbeats=True)
        for batch in stream:
            got.append(batch.rows)
            if len(batch) and batch.seq[-1] == brk["seq"][-1]:
                break
        assert np.concatenate(got).tobytes() == brk.tobytes()
        assert stream.last_seq >= brk["seq"][-1]
        stream.cancel()

        # one Result message per tick too
        results = client.stream_results("AAPL", from_seq=39_000)
        first = next(iter(results))
        aapl = expected[(expected["seq"] >= 39_000) & (expected["symbol_id"] == 0)][0]
        assert (first.seq, first.symbol, first.price) == (aapl["seq"], "AAPL", aapl["price"])
        results.cancel()


def test_an_edge_snapshot_is_the_engines(edge, published):
    engine, _rows = published
    _source, address = edge
    with mdstream.Client(address) as client:
        snap = client.snapshot()
        own = engine.snapshot()
        assert snap.as_of_seq == own.as_of_seq == 39_999
        assert snap.results.rows.tobytes() == own.results.rows.tobytes()
        assert client.snapshot(["GOOG"]).results.symbol_names().tolist() == ["GOOG"]
        stream = client.stream_batches(["AAPL"], snapshot=True, heartbeats=True)
        first = stream.read_snapshot()
        assert first.as_of_seq == 39_999 and first.results.symbol_names().tolist() == ["AAPL"]
        stream.cancel()
        with pytest.raises(mdstream.UnknownSymbolError, match="NOPE"):
            client.snapshot(["NOPE"])


def test_health_stats_and_out_of_range(edge, nats_server):
    source, address = edge
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest()).status == \
            health_pb2.HealthCheckResponse.SERVING
    with mdstream.Client(address) as client:
        stream = client.stream_batches(from_seq=5, heartbeats=True)
        assert next(iter(stream)).seq[0] == 5
        stats = client.get_stats()
        assert stats.engine.stream_id == source.stream_id and stats.streams_open == 1
        assert [s.lag >= 0 for s in source.stats().subscriptions] == [True]
        console = Console(record=True, width=200, file=io.StringIO())
        stats_view.run(lambda: stats, address, once=True, console=console)
        shown = console.export_text()                   # `mdstream stats`: no engine workers
        assert "streams: 1/" in shown and "workers" not in shown
        stream.cancel()

        # Older than JetStream keeps: OUT_OF_RANGE with the oldest seq kept.
        async def purge():
            import nats

            nc = await nats.connect(nats_server.url)
            await nc.jetstream().purge_stream("MDSTREAM", seq=20)     # keep from message 20
            await nc.close()

        run_async(purge())
        with pytest.raises(mdstream.OutOfRangeError) as info:
            next(iter(client.stream_batches(from_seq=0)))
        assert info.value.oldest > 0
        assert next(iter(client.stream_batches(from_seq=info.value.oldest))).seq[0] == \
            info.value.oldest


def test_an_edge_without_its_stream_says_so(nats_server):
    with pytest.raises(NatsError, match="no stream 'OTHER'.*--publish"):
        EdgeSource(nats_server.url, stream="OTHER", connect_timeout=3,
                   wait_for_stream=0.5).start()


def test_a_client_resumes_on_another_edge_when_its_edge_is_killed(nats_server, published,
                                                                   processes):
    engine, expected = published
    edge_a, address_a = start_edge(nats_server.url)
    processes.append(edge_a)
    edge_b, address_b = start_edge(nats_server.url)
    processes.append(edge_b)
    with mdstream.Client([address_a, address_b]) as client:
        stream = client.stream_batches(from_seq=0, max_ticks_per_frame=500, resume=True)
        got = []
        for batch in stream:
            got.append(batch.rows)
            if len(got) == 10:
                edge_a.kill()                      # kill -9 the edge serving this stream
                edge_a.wait(10)
            if batch.seq[-1] == 39_999:
                break
        assert stream.reconnects >= 1 and client.target == address_b
        assert stream.gaps == 0
        assert np.concatenate(got).tobytes() == expected.tobytes()      # no gap, no duplicate


def test_an_edge_started_before_its_engine_waits_for_the_stream(nats_server):
    import threading

    started = {}
    source = EdgeSource(nats_server.url, wait_for_stream=60)
    thread = threading.Thread(target=lambda: started.setdefault("edge", source.start()))
    thread.start()
    engine = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=["AAPL"], rate=0, count=1_000),
                             workers=1)
    publisher = Publisher(engine, nats_server.url, policy="block").start()
    with engine:
        assert publisher.wait_published(999, 30)
    publisher.stop()
    thread.join(60)
    assert started["edge"] is source and source.running
    assert source.snapshot().as_of_seq == 999
    source.stop()


def test_an_asyncio_client_resumes_on_another_edge(nats_server, published, processes):
    import asyncio

    _engine, expected = published
    edge_a, address_a = start_edge(nats_server.url)
    processes.append(edge_a)
    edge_b, address_b = start_edge(nats_server.url)
    processes.append(edge_b)

    async def read():
        got = []
        async with mdstream.AsyncClient(f"{address_a},{address_b}") as client:
            stream = client.stream_batches(from_seq=0, max_ticks_per_frame=500, resume=True)
            async for batch in stream:
                got.append(batch.rows)
                if len(got) == 10:
                    edge_a.kill()
                if batch.seq[-1] == 39_999:
                    break
            assert client.target == address_b and stream.reconnects >= 1
        return np.concatenate(got)

    assert asyncio.run(asyncio.wait_for(read(), 120)).tobytes() == expected.tobytes()


def test_an_edge_projects_fields_and_refuses_filters_it_cannot_apply(edge, published):
    """Columns are chosen by the encoder, so an edge sends only those asked for;
    row filters and conflation run in the engine's server, and an edge refuses
    them (INVALID_ARGUMENT) rather than send unfiltered results as filtered."""
    engine, expected = published
    _source, address = edge
    with mdstream.Client(address) as client:
        batch = next(iter(client.stream_batches(from_seq=0, fields=["seq", "price"])))
        assert set(batch.fields) >= {"seq", "price"} and "vwap" not in batch.fields
        assert batch.price.tolist() == expected["price"][:len(batch)].tolist()
        for kwargs in ({"kinds": ["trade"]}, {"min_size": 10.0}, {"conflate": 0.1}):
            with pytest.raises(mdstream.InvalidArgumentError, match="an edge serves results as"):
                next(iter(client.stream_batches(from_seq=0, **kwargs)))


def test_a_message_that_is_not_a_frame_is_skipped_not_fatal(nats_server, published):
    """Anyone allowed to publish on the stream's subjects can put anything
    there: an edge starts and streams past it, and every result still arrives."""
    engine, expected = published
    from mdstream.nats.subjects import subject_of

    async def put_garbage():
        import nats

        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.publish(subject_of("mdstream", "AAPL"), b"\xff not a frame")
        await js.publish(subject_of("mdstream", "MSFT"), b"", headers={"Mdstream-First": "x"})
        await nc.close()

    run_async(put_garbage())
    source = EdgeSource(nats_server.url).start()         # reads AAPL's newest message: garbage
    try:
        with Server(source, "127.0.0.1", 0) as server, mdstream.Client(server.address) as client:
            got = []
            for batch in client.stream_batches(from_seq=0, heartbeats=True, max_wait=0.01):
                if len(batch):
                    got.append(batch.rows)
                    if batch.seq[-1] == 39_999:
                        break
            assert np.concatenate(got).tobytes() == expected.tobytes()
            assert client.list_symbols() == list(engine.symbol_table.names)
    finally:
        source.stop()
