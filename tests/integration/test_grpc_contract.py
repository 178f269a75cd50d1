"""The wire contract: the request conversion both ways, the policy map, and
errors as google.rpc.Status with ErrorInfo (read by a plain grpc client, and
by mdstream's client, from the rich status or the legacy metadata alone)."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import mdstream
from mdstream.errors import (
    EngineStateError,
    InvalidArgumentError,
    JournalCorruptError,
    JournalError,
    OutOfRangeError,
    SlowConsumerError,
    TooManySubscribersError,
    UnknownSymbolError,
)
from mdstream.grpc import contract
from mdstream.grpc.contract import ServerShutdownError, request_from_proto, request_to_proto
from mdstream.grpc.errors import RemoteError, error_status, translate_error
from mdstream.request import POLICIES, StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

pytestmark = pytest.mark.timeout(60)


# -- requests ---------------------------------------------------------------------

def test_request_round_trip_converts_units_once():
    req = StreamRequest(("AAPL", "MSFT"), "skip", 128, 0.0025, 0.25, from_seq=42)
    msg = request_to_proto(req)
    assert list(msg.symbols) == ["AAPL", "MSFT"] and msg.policy == pb.POLICY_SKIP
    assert (msg.max_ticks_per_frame, msg.max_wait_us, msg.heartbeat_interval_ms) == (128, 2500, 250)
    assert msg.HasField("from_seq") and msg.from_seq == 42 and not msg.snapshot
    assert request_from_proto(msg) == req
    assert not request_to_proto(StreamRequest()).HasField("from_seq")
    snap = StreamRequest(snapshot=True)
    assert request_from_proto(request_to_proto(snap)) == snap


def test_zero_and_unset_mean_the_defaults():
    req = request_from_proto(pb.SubscribeRequest())
    # An unset policy is the remote default, skip (block is the in-process default).
    assert req == StreamRequest(policy="skip")
    assert (req.policy, req.max_ticks_per_frame, req.heartbeat_interval, req.from_seq) == \
        ("skip", contract.DEFAULT_TICKS_PER_FRAME, 1.0, None)
    assert request_from_proto(pb.SubscribeRequest(from_seq=0)).from_seq == 0


def test_policy_map_both_ways():
    assert set(contract.POLICY_TO_PB) == set(POLICIES)
    for name, value in contract.POLICY_TO_PB.items():
        assert contract.PB_TO_POLICY[value] == name
        assert request_from_proto(pb.SubscribeRequest(policy=value)).policy == name
    assert contract.PB_TO_POLICY[pb.POLICY_UNSPECIFIED] == contract.REMOTE_DEFAULT_POLICY == "skip"


@pytest.mark.parametrize("fields, words", [
    ({"policy": 7}, ["invalid policy 7: use POLICY_BLOCK (1)"]),
    ({"max_ticks_per_frame": 16385}, ["max_ticks_per_frame 16385", "1 to 16384"]),
    ({"max_wait_us": 1_000_001}, ["max_wait_us 1000001", "0 to 1000000"]),
    ({"heartbeat_interval_ms": 5}, ["heartbeat_interval_ms 5", "10 to 60000"]),
    ({"from_seq": -1}, ["from_seq must be >= 0"]),
    ({"from_seq": 3, "snapshot": True}, ["snapshot and from_seq cannot be combined"]),
])
def test_request_from_proto_names_the_field(fields, words):
    with pytest.raises(InvalidArgumentError) as info:
        request_from_proto(pb.SubscribeRequest(**fields))
    for w in words:
        assert w in str(info.value)


def test_request_to_proto_checks_the_wire_limit():
    with pytest.raises(InvalidArgumentError, match="too large") as info:
        request_to_proto(StreamRequest(max_ticks_per_frame=contract.MAX_TICKS_PER_FRAME + 1))
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT


# -- the error table, both ways ----------------------------------------------------

class StatusError(grpc.RpcError):
    """What a client sees of a call that ended with ``status`` (a grpc.Status)."""

    def __init__(self, status, drop_rich: bool = False):
        self._status = status
        self._metadata = tuple((k, v) for k, v in status.trailing_metadata
                               if not (drop_rich and k == "grpc-status-details-bin"))

    def code(self):
        return self._status.code

    def details(self):
        return self._status.details

    def trailing_metadata(self):
        return self._metadata


ERRORS = [
    (UnknownSymbolError(["NOPE", "ZZZ"], ["AAPL"], hint="ListSymbols gives the list."),
     grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_SYMBOL", {"symbols": "NOPE,ZZZ"}),
    (InvalidArgumentError("bad"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", {}),
    (SlowConsumerError("a ring behind"), grpc.StatusCode.RESOURCE_EXHAUSTED, "SLOW_CONSUMER", {}),
    (TooManySubscribersError("at most 2"), grpc.StatusCode.RESOURCE_EXHAUSTED,
     "TOO_MANY_SUBSCRIBERS", {}),
    (OutOfRangeError("older than seq 20", 20), grpc.StatusCode.OUT_OF_RANGE, "OUT_OF_RANGE",
     {"oldest_seq": "20"}),
    (JournalCorruptError("/j/0000.seg", 77, "bad crc", False), grpc.StatusCode.DATA_LOSS,
     "JOURNAL_CORRUPT", {"path": "0000.seg", "offset": "77"}),
    (JournalError("unreadable"), grpc.StatusCode.DATA_LOSS, "DATA_LOSS", {}),
    (ServerShutdownError("the server is shutting down"), grpc.StatusCode.UNAVAILABLE,
     "SERVER_SHUTDOWN", {}),
    (EngineStateError("stopped"), grpc.StatusCode.UNAVAILABLE, "ENGINE_STATE", {}),
]


@pytest.mark.parametrize("drop_rich", [False, True], ids=["rich", "legacy-only"])
@pytest.mark.parametrize("exc, code, reason, metadata", ERRORS, ids=[e[2] for e in ERRORS])
def test_error_table_round_trip(exc, code, reason, metadata, drop_rich):
    status, rule = error_status(exc)
    assert status.code == code and rule.reason == reason
    keys = dict(status.trailing_metadata)
    assert keys["mdstream-error"] == rule.legacy
    rich = rpc_status.from_call(StatusError(status))
    info = error_details_pb2.ErrorInfo()
    assert rich.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (reason, "mdstream.dev", metadata)

    back = translate_error(StatusError(status, drop_rich))
    assert back.code == code and back.details == status.details
    if rule.rebuild is None:
        assert type(back) is RemoteError
    else:
        assert isinstance(back, type(exc))
    if isinstance(exc, UnknownSymbolError):
        assert back.symbols == ["NOPE", "ZZZ"] and str(back) == str(exc)
        assert "ListSymbols gives the list." in str(back)
    if isinstance(exc, OutOfRangeError):
        assert back.oldest == 20
    if isinstance(exc, JournalCorruptError):
        # The file's name, never the server's path.
        assert (back.path, back.offset) == ("0000.seg", 77) and "/j/" not in back.details


def test_exceptions_outside_the_table_are_not_mapped():
    assert error_status(mdstream.SubscriptionClosedError("closed")) is None
    assert error_status(RuntimeError("x")) is None


# -- a plain grpc client (no mdstream code) reads the ErrorInfo -------------------------

def _subscribe_request(symbols=(), from_seq=None) -> bytes:
    """A SubscribeRequest serialized by hand: symbols = 1 (string), from_seq = 6 (int64)."""
    out = b""
    for s in symbols:
        data = s.encode()
        out += b"\x0a" + bytes([len(data)]) + data
    if from_seq is not None:
        out += b"\x30" + _varint(from_seq)
    return out


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _plain_error(address: str, request: bytes) -> tuple[grpc.RpcError, error_details_pb2.ErrorInfo]:
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_stream("/mdstream.v1.MDStream/StreamBatches")
        with pytest.raises(grpc.RpcError) as raised:
            for _ in call(request, timeout=10):
                pass
    status = rpc_status.from_call(raised.value)
    assert status is not None and status.code == raised.value.code().value[0]
    info = error_details_pb2.ErrorInfo()
    assert len(status.details) == 1 and status.details[0].Unpack(info)
    return raised.value, info


def test_plain_grpc_client_reads_unknown_symbol_error_info(make_server, helpers):
    server = make_server(helpers.publish_engine(), start_engine=True)
    err, info = _plain_error(server.address, _subscribe_request(["AAPL", "NOPE", "ZZZ"]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.reason, info.domain) == ("UNKNOWN_SYMBOL", "mdstream.dev")
    assert info.metadata["symbols"] == "NOPE,ZZZ"
    assert "'NOPE'" in err.details() and "ListSymbols gives the list." in err.details()
    # The first servers' keys are still there.
    trailing = dict(err.trailing_metadata())
    assert trailing["mdstream-error"] == "UnknownSymbolError"
    assert trailing["mdstream-unknown-symbols-bin"] == b'["NOPE", "ZZZ"]'


def test_plain_grpc_client_reads_out_of_range_error_info(make_server, helpers):
    engine = helpers.publish_engine(ring_size=16)
    server = make_server(engine, start_engine=True)
    engine.publish_trades("AAPL", [float(i + 1) for i in range(100)], 1)
    assert helpers.wait_until(lambda: engine.stats().results == 100)
    err, info = _plain_error(server.address, _subscribe_request(from_seq=0))
    assert err.code() == grpc.StatusCode.OUT_OF_RANGE
    assert (info.reason, info.domain) == ("OUT_OF_RANGE", "mdstream.dev")
    oldest = int(info.metadata["oldest_seq"])
    assert 0 < oldest <= 100 - 16 + 1 and f"the oldest is {oldest}" in err.details()
    assert dict(err.trailing_metadata())["mdstream-oldest-seq"] == str(oldest)


# -- one stream abstraction ---------------------------------------------------------

def test_sync_streams_follow_the_batch_stream_protocol(make_server, make_client, helpers):
    from mdstream.stream import BatchStream

    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    engine.publish_trades("AAPL", [1.0, 2.0, 3.0], 1)
    assert helpers.wait_until(lambda: engine.stats().results == 3)
    for resume in (False, True):
        stream = client.stream_batches(["AAPL"], from_seq=0, resume=resume, max_wait=0.0)
        assert isinstance(stream, BatchStream)
        assert stream.read_snapshot() is None and stream.snapshot is None
        batch = next(iter(stream))
        assert batch.seq.tolist() == [0, 1, 2] and stream.last_seq == 2
        stats = stream.stats()
        assert stats["received"] == 3 and stats["missed"] == 0 and stats["last_seq"] == 2
        stream.close()
        stream.close()
    results = client.stream_results(["AAPL"], from_seq=1, resume=True)
    assert isinstance(results, BatchStream)
    assert [next(results).seq, next(results).seq] == [1, 2] and results.last_seq == 2
    results.close()
