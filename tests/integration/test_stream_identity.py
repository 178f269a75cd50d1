"""A resuming client never continues into another stream.

Every engine has a stream id (Engine.stream_id): its journal's, kept across
restarts on that journal, else new for every engine. The server sends it
(initial metadata `mdstream-stream-id`, heartbeats, Snapshot, Stats) and
refuses a resume that expects another one (FAILED_PRECONDITION /
STREAM_CHANGED); a resume=True client raises StreamChangedError instead of
going on with a from_seq that means other results there.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import grpc
import numpy as np
import pytest

from mdstream.errors import StreamChangedError
from mdstream.grpc.errors import error_info, translate_error
from mdstream.grpc.identity import STREAM_ID_KEY
from mdstream.grpc.resume import Reconnect
from mdstream.grpc.server import Server
from mdstream.v1 import mdstream_pb2 as pb

RECONNECT = Reconnect(initial_backoff=0.02, max_backoff=0.1, give_up_after=20)


@contextmanager
def serving(engine, port: int = 0):
    server = Server(engine, "127.0.0.1", port).start()
    engine.start()
    try:
        yield server
    finally:
        server.stop(grace=0.2)
        engine.stop()


def publish(engine, n: int, symbols) -> None:
    names = [symbols[i % len(symbols)] for i in range(n)]
    engine.publish_trades(names, np.full(n, 10.0), np.ones(n))


def read(stream, n: int) -> np.ndarray:
    got = []
    while sum(map(len, got)) < n:
        got.append(next(stream).rows["seq"].copy())
    return np.concatenate(got)


@pytest.mark.parametrize("from_seq", [None, 0], ids=["snapshot-first", "from-seq"])
def test_a_server_without_journal_restarted_is_another_stream(helpers, make_client, from_seq,
                                                              no_thread_leak):
    first = helpers.publish_engine()
    with serving(first) as server:
        port = server.port
        client = make_client(server)
        stream = client.stream_batches(policy="block", from_seq=from_seq,
                                       snapshot=from_seq is None, resume=RECONNECT)
        if from_seq is None:
            stream.read_snapshot()      # positioned (and named) by GetSnapshot before publishing
        publish(first, 100, helpers.SYMBOLS)
        assert np.array_equal(read(stream, 100), np.arange(100))
        assert stream.stream_id == first.stream_id
    second = helpers.publish_engine()
    assert second.stream_id != first.stream_id
    with serving(second, port):
        publish(second, 200, helpers.SYMBOLS)     # seq 100.. exists here, but means other results
        with pytest.raises(StreamChangedError) as changed:
            read(stream, 1)
        assert first.stream_id in str(changed.value) and second.stream_id in str(changed.value)
        assert changed.value.expected == first.stream_id
        assert changed.value.actual == second.stream_id
        assert changed.value.code == grpc.StatusCode.FAILED_PRECONDITION
        stream.cancel()


def test_a_server_restarted_on_its_journal_is_the_same_stream(tmp_path, helpers, make_client,
                                                              no_thread_leak):
    first = helpers.publish_engine(journal=tmp_path / "j")
    with serving(first) as server:
        port = server.port
        stream = make_client(server).stream_batches(policy="block", from_seq=0, resume=RECONNECT)
        publish(first, 100, helpers.SYMBOLS)
        assert np.array_equal(read(stream, 100), np.arange(100))
    second = helpers.publish_engine(journal=tmp_path / "j")
    assert second.stream_id == first.stream_id
    with serving(second, port):
        publish(second, 100, helpers.SYMBOLS)
        assert np.array_equal(read(stream, 100), np.arange(100, 200))    # no gap, no duplicate
        assert stream.reconnects >= 1 and stream.duplicates == 0
        stream.cancel()


def test_a_deleted_and_recreated_journal_is_another_stream(tmp_path, helpers, make_client,
                                                           no_thread_leak):
    first = helpers.publish_engine(journal=tmp_path / "j")
    with serving(first) as server:
        port = server.port
        stream = make_client(server).stream_batches(policy="block", from_seq=0, resume=RECONNECT)
        publish(first, 100, helpers.SYMBOLS)
        read(stream, 100)
    shutil.rmtree(tmp_path / "j")
    second = helpers.publish_engine(journal=tmp_path / "j")
    with serving(second, port):
        publish(second, 200, helpers.SYMBOLS)
        with pytest.raises(StreamChangedError):
            read(stream, 1)
        stream.cancel()


def test_the_server_names_its_stream_everywhere(helpers, make_server, make_client):
    engine = helpers.publish_engine()
    server = make_server(engine)
    engine.start()
    publish(engine, 10, helpers.SYMBOLS)
    client = make_client(server)
    sid = engine.stream_id
    with grpc.insecure_channel(server.address) as channel:
        snapshot = channel.unary_unary(
            "/mdstream.v1.MDStream/GetSnapshot", request_serializer=pb.SnapshotRequest.SerializeToString,
            response_deserializer=pb.Snapshot.FromString)(pb.SnapshotRequest(), timeout=5)
        assert snapshot.stream_id == sid
        batches = channel.unary_stream(
            "/mdstream.v1.MDStream/StreamBatches",
            request_serializer=pb.SubscribeRequest.SerializeToString,
            response_deserializer=pb.ResultBatch.FromString)
        call = batches(pb.SubscribeRequest(from_seq=0, heartbeat_interval_ms=10,
                                           expect_stream_id=sid), timeout=5)
        assert (STREAM_ID_KEY, sid) in tuple(call.initial_metadata())
        beat = next(m for m in call if m.HasField("heartbeat"))
        assert beat.stream_id == sid
        call.cancel()
        wrong = batches(pb.SubscribeRequest(from_seq=0, expect_stream_id="other"), timeout=5)
        with pytest.raises(grpc.RpcError) as failed:
            next(wrong)
        assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_info(failed.value).reason == "STREAM_CHANGED"
        assert "other" in failed.value.details() and sid in failed.value.details()
        assert isinstance(translate_error(failed.value), StreamChangedError)
        results = channel.unary_stream(
            "/mdstream.v1.MDStream/StreamResults",
            request_serializer=pb.SubscribeRequest.SerializeToString,
            response_deserializer=pb.Result.FromString)
        call = results(pb.SubscribeRequest(from_seq=10, result_heartbeats=True,
                                           heartbeat_interval_ms=10), timeout=5)
        beat = next(m for m in call if m.heartbeat)
        assert beat.stream_id == sid
        call.cancel()
    assert client.get_stats().engine.stream_id == sid


def test_the_asyncio_client_raises_stream_changed_too(helpers, no_thread_leak):
    import asyncio

    from mdstream.grpc.aio import AsyncClient

    first = helpers.publish_engine()
    with serving(first) as server:
        port, address = server.port, server.address

        async def first_part(client):
            stream = client.stream_batches(policy="block", from_seq=0, resume=RECONNECT)
            publish(first, 50, helpers.SYMBOLS)
            got = 0
            while got < 50:
                got += len((await stream.__anext__()).rows)
            return stream

        async def run_all():
            async with AsyncClient(address) as client:
                stream = await first_part(client)
                assert stream.stream_id == first.stream_id
                server.stop(grace=0.2)
                first.stop()
                second = helpers.publish_engine()
                with serving(second, port):
                    publish(second, 100, helpers.SYMBOLS)
                    with pytest.raises(StreamChangedError):
                        while True:
                            await stream.__anext__()
                    stream.cancel()

        asyncio.run(run_all())
