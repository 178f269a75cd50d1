"""Fuzzing the gRPC port with a bounded budget: every request message with
generated field values, raw bytes as request messages, and raw bytes on the
TCP port. Each gets a status a person can act on (never UNKNOWN or INTERNAL,
never a hang), and the server keeps serving everyone else."""

from __future__ import annotations

import socket

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdstream.v1 import mdstream_pb2 as pb

pytestmark = pytest.mark.timeout(300)

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

#: What a bad request may get; anything else (UNKNOWN, INTERNAL, ...) is a bug.
ACCEPTABLE = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE,
              grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION}

METHODS = {
    "StreamBatches": (True, pb.SubscribeRequest),
    "StreamResults": (True, pb.SubscribeRequest),
    "GetSnapshot": (False, pb.SnapshotRequest),
    "GetStats": (False, pb.StatsRequest),
    "ListSymbols": (False, pb.ListSymbolsRequest),
}

names = st.text(min_size=0, max_size=12)
int64 = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
int32 = st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1)
uint32 = st.integers(min_value=0, max_value=(1 << 32) - 1)


@st.composite
def subscribe_requests(draw) -> pb.SubscribeRequest:
    msg = pb.SubscribeRequest(
        symbols=draw(st.lists(st.one_of(st.sampled_from(["AAPL", "MSFT"]), names), max_size=5)),
        policy=draw(st.integers(min_value=-3, max_value=9)),
        max_ticks_per_frame=draw(uint32),
        max_wait_us=draw(uint32),
        heartbeat_interval_ms=draw(uint32),
        snapshot=draw(st.booleans()))
    if draw(st.booleans()):
        msg.from_seq = draw(int64)
    return msg


@pytest.fixture(scope="module")
def server():
    import mdstream
    from mdstream.grpc.server import Server

    engine = mdstream.Engine(symbols=["AAPL", "MSFT"], workers=1)
    srv = Server(engine, "127.0.0.1", 0).start()
    engine.start()
    engine.publish_trades(["AAPL", "MSFT"], [10.0, 20.0], [1.0, 2.0])
    yield srv
    srv.stop(grace=0.5)
    engine.stop()


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.address) as ch:
        yield ch


def call_raw(channel, method: str, payload: bytes) -> grpc.StatusCode:
    """Send ``payload`` as the request of ``method``; the status it gets (OK
    for a stream that delivered something or ended cleanly within 0.3 s)."""
    streaming, _ = METHODS[method]
    path = f"/mdstream.v1.MDStream/{method}"
    try:
        if streaming:
            call = channel.unary_stream(path, request_serializer=None,
                                        response_deserializer=None)(payload, timeout=0.3)
            next(iter(call), None)
            call.cancel()
        else:
            channel.unary_unary(path, request_serializer=None,
                                response_deserializer=None)(payload, timeout=2)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED or exc.details(), exc
        return exc.code()
    return grpc.StatusCode.OK


def still_serving(channel) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    names = channel.unary_unary("/mdstream.v1.MDStream/ListSymbols",
                                request_serializer=pb.ListSymbolsRequest.SerializeToString,
                                response_deserializer=pb.ListSymbolsResponse.FromString)
    assert [s.name for s in names(pb.ListSymbolsRequest(), timeout=5).symbols] == ["AAPL", "MSFT"]
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


@FUZZ
@given(request=subscribe_requests(), method=st.sampled_from(["StreamBatches", "StreamResults"]))
def test_generated_subscribe_requests_get_a_status(channel, request, method):
    code = call_raw(channel, method, request.SerializeToString())
    assert code == grpc.StatusCode.OK or code in ACCEPTABLE, (code, request)


@FUZZ
@given(symbols=st.lists(names, max_size=8))
def test_generated_snapshot_requests_get_a_status(channel, symbols):
    payload = pb.SnapshotRequest(symbols=symbols).SerializeToString()
    code = call_raw(channel, "GetSnapshot", payload)
    assert code == grpc.StatusCode.OK or code in ACCEPTABLE, (code, symbols)


@FUZZ
@given(payload=st.binary(max_size=64), method=st.sampled_from(sorted(METHODS)))
def test_raw_bytes_as_a_request_get_a_status(channel, payload, method):
    code = call_raw(channel, method, payload)
    assert code == grpc.StatusCode.OK or code in ACCEPTABLE, (code, payload)


def test_the_server_still_serves_after_the_fuzzing(channel):
    still_serving(channel)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(min_size=1, max_size=512))
def test_raw_bytes_on_the_port_leave_the_server_serving(server, channel, junk):
    host, port = server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as s:
        try:
            s.sendall(junk)
            s.settimeout(0.2)
            s.recv(256)
        except OSError:
            pass                 # the server may close the connection: fine
    still_serving(channel)
