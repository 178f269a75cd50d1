"""Every bad request gets the right status and a message a person can act on."""

from __future__ import annotations

import grpc
import pytest

from mdstream import InvalidArgumentError, TooManySubscribersError, UnknownSymbolError
from mdstream.grpc.client import RemoteError
from mdstream.grpc.server import PortInUseError, Server
from mdstream.v1 import mdstream_pb2 as pb

pytestmark = pytest.mark.timeout(60)


def raw_call(server, method: str, request: pb.SubscribeRequest):
    """Call a stream RPC with a hand-made request (bypassing the client's own checks)."""
    channel = grpc.insecure_channel(server.address)
    call = channel.unary_stream(f"/mdstream.v1.MDStream/{method}",
                                request_serializer=pb.SubscribeRequest.SerializeToString,
                                response_deserializer=None)
    try:
        with pytest.raises(grpc.RpcError) as info:
            for _ in call(request, timeout=10):
                pass
    finally:
        channel.close()
    return info.value


@pytest.fixture
def server(make_server, helpers):
    return make_server(helpers.publish_engine(), start_engine=True)


@pytest.mark.parametrize("method", ["StreamBatches", "StreamResults"])
def test_unknown_symbols_are_named(server, method):
    err = raw_call(server, method, pb.SubscribeRequest(symbols=["AAPL", "NOPE", "ZZZ"]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'NOPE'" in err.details() and "'ZZZ'" in err.details()
    assert "'AAPL'" not in err.details().split(";")[0]
    assert "AAPL, MSFT" in err.details()            # and what the server does know
    assert server.servicer.active_streams == 0


def test_unknown_symbols_raise_unknown_symbol_error_in_the_client(server, make_client):
    client = make_client(server)
    with pytest.raises(UnknownSymbolError) as info:
        next(iter(client.stream_batches(["NOPE"])))
    assert info.value.symbols == ["NOPE"]
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "NOPE" in str(info.value)
    with pytest.raises(UnknownSymbolError):
        client.snapshot(["AAPL", "NOPE"])


@pytest.mark.parametrize("request_kwargs, words", [
    ({"policy": 7}, ["invalid policy 7", "POLICY_SKIP"]),
    ({"max_ticks_per_frame": 16385}, ["max_ticks_per_frame 16385", "1 to 16384"]),
    ({"max_ticks_per_frame": 10**9}, ["max_ticks_per_frame", "too large"]),
    ({"max_wait_us": 1_000_001}, ["max_wait_us 1000001", "0 to 1000000"]),
    ({"heartbeat_interval_ms": 5}, ["heartbeat_interval_ms 5", "10 to 60000"]),
    ({"heartbeat_interval_ms": 60_001}, ["heartbeat_interval_ms 60001"]),
])
@pytest.mark.parametrize("method", ["StreamBatches", "StreamResults"])
def test_invalid_request_fields(server, method, request_kwargs, words):
    err = raw_call(server, method, pb.SubscribeRequest(**request_kwargs))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    for w in words:
        assert w in err.details()


def test_client_checks_policy_before_calling(server, make_client):
    client = make_client(server)
    with pytest.raises(InvalidArgumentError, match="unknown policy 'fast'"):
        client.stream_batches(policy="fast")


def test_invalid_frame_size_from_the_client(server, make_client):
    client = make_client(server)
    with pytest.raises(InvalidArgumentError) as info:
        next(iter(client.stream_batches(max_ticks_per_frame=100_000)))
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_too_many_streams_for_the_server(make_server, make_client, helpers):
    server = make_server(helpers.publish_engine(), start_engine=True, max_streams=2)
    client = make_client(server)
    open_streams = [client.stream_batches() for _ in range(2)]
    helpers.wait_for_streams(server, 2)
    with pytest.raises(TooManySubscribersError) as info:
        next(iter(client.stream_results()))
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "at most 2 streams" in info.value.details
    # Closing one frees its place at once.
    open_streams[0].cancel()
    assert helpers.wait_until(lambda: server.servicer.active_streams == 1)
    again = client.stream_batches(heartbeat_interval=0.02, heartbeats=True)
    assert len(next(iter(again))) == 0       # a heartbeat: the stream is open
    again.cancel()
    open_streams[1].cancel()


def test_too_many_subscribers_for_the_engine(make_server, make_client, helpers):
    engine = helpers.publish_engine(max_subscribers=1)
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    first = client.stream_batches()
    helpers.wait_for_streams(server, 1)
    with pytest.raises(TooManySubscribersError) as info:
        next(iter(client.stream_batches()))
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many subscribers" in info.value.details
    first.cancel()


def test_from_seq_out_of_range(make_server, make_client, helpers):
    engine = helpers.publish_engine(ring_size=16)
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    engine.publish_trades("AAPL", [float(i + 1) for i in range(100)], 1)
    assert helpers.wait_until(lambda: engine.stats().results == 100)
    with pytest.raises(Exception) as info:
        next(iter(client.stream_batches(from_seq=0)))
    assert getattr(info.value, "code", None) == grpc.StatusCode.OUT_OF_RANGE
    # A from_seq the ring still holds is replayed.
    stream = client.stream_batches(from_seq=95, max_wait=0.0)
    batch = next(iter(stream))
    assert batch.seq.tolist()[0] == 95
    stream.cancel()


def test_server_not_there(make_client):
    client = make_client("127.0.0.1:1")
    with pytest.raises(RemoteError) as info:
        next(iter(client.stream_batches(timeout=5)))
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(RemoteError, match="no mdstream server answered"):
        client.wait_ready(0.2)


def test_port_in_use(make_server, helpers):
    server = make_server(helpers.publish_engine())
    with pytest.raises(PortInUseError) as info:
        Server(helpers.publish_engine(), "127.0.0.1", server.port).start()
    message = str(info.value)
    assert f"127.0.0.1:{server.port}" in message and "in use" in message
    assert "\n" not in message and "Errno" not in message
