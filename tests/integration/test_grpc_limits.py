"""Stream slots, per-client limits and bounded requests and errors, with a
real server and real clients (mdstream.grpc.limits, mdstream.grpc.contract)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from mdstream.errors import InvalidArgumentError, TooManySubscribersError, UnknownSymbolError
from mdstream.grpc.contract import MAX_REQUEST_SYMBOLS
from mdstream.grpc.errors import error_info
from mdstream.grpc.limits import client_key
from mdstream.v1 import mdstream_pb2 as pb


def _idle_reflection_streams(channel, n: int, release: threading.Event) -> list:
    """n reflection streams that send nothing until ``release`` is set."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    def idle():
        release.wait()
        return
        yield reflection_pb2.ServerReflectionRequest()     # noqa: unreachable - a generator

    return [stub.ServerReflectionInfo(idle()) for _ in range(n)]


def _health(channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status


@pytest.mark.parametrize("per_client", [None, 16], ids=["no-per-client-limit", "per-client-16"])
def test_idle_reflection_streams_do_not_starve_control_calls(make_server, make_client, helpers,
                                                             per_client):
    server = make_server(helpers.publish_engine(), start_engine=True, max_streams=64,
                         max_streams_per_client=per_client)
    client = make_client(server)
    channel = client._channel
    release = threading.Event()
    calls = _idle_reflection_streams(channel, 80, release)
    try:
        # Every streaming call counts: the slots fill up (64, or 16 for one client).
        expected = per_client or 64
        assert helpers.wait_until(lambda: server.slots.open == expected, timeout=10)
        assert helpers.wait_until(lambda: sum(c.done() for c in calls) == 80 - expected,
                                  timeout=10)
        refused = [c for c in calls if c.done()]
        assert all(c.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for c in refused)
        assert "streams" in refused[0].details()

        # Unary calls and health checks still answer...
        assert client.list_symbols() == helpers.SYMBOLS
        assert client.get_stats().engine.running
        assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
        # ... and a burst of them too, all at once (they queue, none fail).
        with ThreadPoolExecutor(64) as pool:
            done = list(pool.map(lambda i: _health(channel) if i % 2 else
                                 len(client.list_symbols()), range(200)))
        assert done.count(health_pb2.HealthCheckResponse.SERVING) == 100
        assert done.count(len(helpers.SYMBOLS)) == 100

        # A new stream gets a clear RESOURCE_EXHAUSTED.
        with pytest.raises(TooManySubscribersError) as info:
            next(iter(client.stream_batches(["AAPL"])))
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert ("--max-streams-per-client" if per_client else "--max-streams") in str(info.value)
    finally:
        release.set()
        for c in calls:
            c.cancel()
    # The slots are given back when the streams end.
    assert helpers.wait_until(lambda: server.slots.open == 0, timeout=10)
    stream = client.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
    next(iter(stream))
    stream.cancel()


def test_per_client_limit_counts_connections_of_one_address_together(make_server, make_client,
                                                                     helpers):
    server = make_server(helpers.publish_engine(), start_engine=True, max_streams_per_client=2)
    a, b = make_client(server), make_client(server)        # two connections, one address
    streams = [a.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True) for _ in range(2)]
    for s in streams:
        next(iter(s))
    with pytest.raises(TooManySubscribersError) as info:
        next(iter(b.stream_batches(["AAPL"])))
    assert "this client already has 2 streams open" in str(info.value)
    assert "--max-streams-per-client" in str(info.value)
    streams[0].cancel()
    assert helpers.wait_until(lambda: server.slots.open == 1, timeout=5)
    again = b.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
    next(iter(again))
    for s in (again, streams[1]):
        s.cancel()


def test_per_client_limit_is_per_ip_address(make_server, make_client, helpers):
    """A client on another address (::1 next to 127.0.0.1) still gets a stream."""
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    engine = helpers.publish_engine()
    from mdstream.grpc.server import Server

    server = Server(engine, "::", 0, max_streams_per_client=1).start()
    try:
        engine.start()
        v4 = make_client(f"127.0.0.1:{server.port}")
        v6 = make_client(f"[::1]:{server.port}")
        first = v4.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
        next(iter(first))
        with pytest.raises(TooManySubscribersError):
            next(iter(v4.stream_batches(["AAPL"])))
        other = v6.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
        next(iter(other))
        for s in (first, other):
            s.cancel()
    finally:
        server.stop(grace=1.0)
        engine.stop()


def test_client_key_is_the_address_without_the_port():
    assert client_key("ipv4:10.0.0.5:51234") == "ipv4:10.0.0.5"
    assert client_key("ipv6:[::1]:5000") == "ipv6:[::1]"
    assert client_key("unix:/tmp/s") == "unix:/tmp/s"


@pytest.mark.parametrize("n", [700, 20_000])
def test_many_unknown_symbols_get_invalid_argument_with_a_short_message(make_server, make_client,
                                                                        helpers, n):
    server = make_server(helpers.publish_engine(), start_engine=True)
    client = make_client(server)
    names = [f"NOPE{i:06d}" for i in range(n)]
    for call in (lambda: next(iter(client.stream_batches(names))),
                 lambda: next(iter(client.stream_results(names))),
                 lambda: client.snapshot(names)):
        with pytest.raises((InvalidArgumentError, UnknownSymbolError)) as info:
            call()
        err = info.value
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert len(err.details) < 1200, len(err.details)
        if n > MAX_REQUEST_SYMBOLS:
            assert f"at most {MAX_REQUEST_SYMBOLS:,} symbols" in err.details
        else:
            assert isinstance(err, UnknownSymbolError)
            assert f"and {n - 10:,} more" in err.details and "NOPE000000" in err.details
            assert len(err.symbols) == 10


def test_unknown_symbol_metadata_is_bounded(make_server, helpers):
    server = make_server(helpers.publish_engine(), start_engine=True)
    with grpc.insecure_channel(server.address) as channel:
        stub = channel.unary_unary("/mdstream.v1.MDStream/GetSnapshot",
                                   request_serializer=pb.SnapshotRequest.SerializeToString,
                                   response_deserializer=pb.Snapshot.FromString)
        with pytest.raises(grpc.RpcError) as info:
            stub(pb.SnapshotRequest(symbols=[f"X{i}" for i in range(700)]), timeout=5)
    err = info.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    meta = error_info(err).metadata
    assert meta["symbols"].count(",") == 9 and meta["more"] == "690"
    trailing = sum(len(k) + len(v) for k, v in err.trailing_metadata())
    assert trailing < 4000, trailing


def test_a_request_larger_than_1_mib_is_refused(make_server, make_client, helpers):
    server = make_server(helpers.publish_engine(), start_engine=True)
    client = make_client(server)
    with pytest.raises(Exception) as info:
        client.snapshot(["A" * 64] * 20_000)            # ~1.3 MB
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
