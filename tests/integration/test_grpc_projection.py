"""Field projection (SubscribeRequest.fields): frames carry only the columns asked for.

The codec against protobuf's own parser and against a plain reference (the
full frame's columns), the request's validation, and real servers with the
real clients (sync, asyncio), the in-process subscription and the CLI.
"""

from __future__ import annotations

import asyncio
import subprocess

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdstream import RESULT_DTYPE, InvalidArgumentError, _codec
from mdstream.batch import ResultBatch
from mdstream.grpc.client import AsyncClient
from mdstream.request import FIELDS, StreamRequest, field_list
from mdstream.v1 import mdstream_pb2 as pb

from test_grpc_codec import same
from test_grpc_codec import sample_rows as codec_sample_rows

pytestmark = pytest.mark.timeout(60)

NAMES = ["AAPL", "MSFT", "GOOG"]
FIVE = ["seq", "ts_ns", "symbol_id", "price", "size"]
NON_COLUMNS = {"count", "symbols", "gap", "heartbeat"}


def sample_rows(n: int, seed: int = 7) -> np.ndarray:
    return codec_sample_rows(n, seed, len(NAMES))


# -- the names ---------------------------------------------------------------------

def test_fields_are_the_columns_of_the_frame_in_frame_order():
    columns = [k for k in _codec.BATCH_FIELD_NUMBERS if k not in NON_COLUMNS]
    assert list(FIELDS) == columns
    assert set(FIELDS) == set(RESULT_DTYPE.names)


def test_field_list_normalises_and_rejects_unknown_names():
    assert field_list(None) is None and field_list([]) is None and field_list("") is None
    assert field_list("price, seq") == ("seq", "symbol_id", "price")
    assert field_list(["size", "price", "price"]) == ("seq", "symbol_id", "price", "size")
    assert field_list(list(FIELDS)) is None              # every column: the unprojected stream
    with pytest.raises(InvalidArgumentError) as info:
        StreamRequest(fields=["price", "prise", "bogus"])
    message = str(info.value)
    assert "'bogus'" in message and "'prise'" in message and "'price'" not in message
    assert "choose from seq, ts_ns" in message and "open" in message


def test_a_resumed_request_keeps_its_fields():
    req = StreamRequest(fields=FIVE)
    assert req.at(42).fields == req.fields == tuple(FIVE)


# -- the codec -----------------------------------------------------------------------

def test_no_fields_is_the_same_bytes_as_before():
    rows = sample_rows(500)
    old = _codec.BatchEncoder(NAMES).encode(rows, gap=(1, 2, 3))
    assert _codec.BatchEncoder(NAMES, None).encode(rows, gap=(1, 2, 3)) == old
    assert _codec.BatchEncoder(NAMES, list(FIELDS)).encode(rows, gap=(1, 2, 3)) == old
    assert _codec.BatchEncoder(NAMES, ()).fields == FIELDS


def test_a_projected_frame_holds_only_those_columns():
    rows = sample_rows(1000)
    enc = _codec.BatchEncoder(NAMES, FIVE)
    assert enc.fields == ("seq", "ts_ns", "symbol_id", "price", "size")
    frame = enc.encode(rows)
    full = _codec.BatchEncoder(NAMES).encode(rows)
    assert len(frame) < len(full) / 4
    msg = pb.ResultBatch.FromString(frame)           # protobuf's own parser
    assert msg.count == 1000
    for name in FIELDS:
        values = getattr(msg, name)
        if name in FIVE:
            assert same(rows[name], list(values)), name
        else:
            assert len(values) == 0, name
    assert dict(msg.symbols) == dict(enumerate(NAMES))


def test_unknown_codec_column_is_refused():
    with pytest.raises(ValueError, match="nope"):
        _codec.BatchEncoder(NAMES, ["seq", "nope"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FIELDS), unique=True), st.integers(0, 300), st.integers(0, 99))
def test_projection_equals_the_full_frame_restricted(fields, n, seed):
    """Reference: decode the full frame, keep the requested columns."""
    rows = sample_rows(n, seed)
    full, _, _, _ = _codec.decode_batch(_codec.BatchEncoder(NAMES).encode(rows))
    out, names, gap, hb = _codec.decode_batch(_codec.BatchEncoder(NAMES, fields).encode(rows))
    assert len(out) == n and gap is None and hb is None
    kept = set(fields) or set(FIELDS)
    for name in FIELDS:
        if name in kept:
            assert same(out[name], full[name]), name
        else:
            assert not out[name].any(), name            # absent: zero in the rows
    if n:
        assert names == {int(i): NAMES[i] for i in np.unique(rows["symbol_id"])}


# -- ResultBatch --------------------------------------------------------------------

def test_a_projected_batch_refuses_other_columns_and_tables_hold_only_its_own():
    batch = ResultBatch(sample_rows(10), NAMES, fields=field_list(FIVE))
    assert same(batch.price, batch.rows["price"])
    with pytest.raises(AttributeError, match="'vwap' was not requested.*seq, ts_ns"):
        batch.vwap
    df = batch.to_pandas()
    assert list(df.columns) == ["seq", "ts_ns", "symbol_id", "symbol", "price", "size"]
    assert batch.select(0).fields == batch.fields


# -- over gRPC, in process, CLI -----------------------------------------------------------

def test_stream_batches_with_fields(make_server, make_client, helpers):
    n = 20_000
    engine = helpers.finite_engine(n)
    server = make_server(engine)
    client = make_client(server)
    projected = client.stream_batches(fields=FIVE, max_ticks_per_frame=1000)
    everything = client.stream_batches(max_ticks_per_frame=1000)
    helpers.wait_for_streams(server, 2)
    engine.start()
    a = list(projected)
    b = list(everything)
    rows_a = np.concatenate([x.rows for x in a])
    rows_b = np.concatenate([x.rows for x in b])
    assert rows_a["seq"].tolist() == list(range(n)) == rows_b["seq"].tolist()
    for name in FIVE:
        assert same(rows_a[name], rows_b[name]), name
    assert not rows_a["vwap"].any() and rows_b["vwap"].any()
    assert all(x.fields == tuple(FIVE) for x in a) and all(x.fields is None for x in b)
    with pytest.raises(AttributeError, match="not requested"):
        a[0].vwap
    # Fewer bytes on the wire for the same results.
    assert projected.decoder.bytes < everything.decoder.bytes / 4


def test_unknown_field_is_invalid_argument_listing_the_valid_names(make_server, helpers):
    server = make_server(helpers.publish_engine(), start_engine=True)
    channel = grpc.insecure_channel(server.address)
    call = channel.unary_stream("/mdstream.v1.MDStream/StreamBatches",
                                request_serializer=pb.SubscribeRequest.SerializeToString,
                                response_deserializer=None)
    try:
        with pytest.raises(grpc.RpcError) as info:
            for _ in call(pb.SubscribeRequest(fields=["price", "vwapp"]), timeout=10):
                pass
    finally:
        channel.close()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'vwapp'" in info.value.details() and "vwap" in info.value.details()
    assert server.servicer.active_streams == 0


def test_client_refuses_an_unknown_field_before_calling(make_server, make_client, helpers):
    client = make_client(make_server(helpers.publish_engine(), start_engine=True))
    with pytest.raises(InvalidArgumentError, match="'nope'"):
        client.stream_batches(fields=["nope"])
    assert client.streams_opened == 0


def test_resuming_stream_keeps_its_projection(make_server, make_client, helpers):
    n = 3000
    engine = helpers.finite_engine(n)
    server = make_server(engine)
    engine.start()          # the ring keeps all n: the stream starts at seq 0
    stream = make_client(server).stream_batches(fields="seq,price", resume=True, from_seq=0,
                                                max_ticks_per_frame=500)
    got = []
    for batch in stream:
        got.append(batch)
        if sum(len(b) for b in got) >= n:
            break
    stream.cancel()
    rows = np.concatenate([b.rows for b in got])
    assert rows["seq"].tolist() == list(range(n))
    assert all(b.fields == ("seq", "symbol_id", "price") for b in got)
    assert not rows["size"].any()


def test_async_client_with_fields(make_server, helpers):
    n = 5000
    engine = helpers.finite_engine(n)
    server = make_server(engine)

    async def main():
        async with AsyncClient(server.address) as client:
            stream = client.stream_batches(fields=FIVE, max_ticks_per_frame=1000)
            while server.servicer.active_streams < 1:
                await asyncio.sleep(0.005)
            engine.start()
            return [b async for b in stream]

    batches = asyncio.run(main())
    rows = np.concatenate([b.rows for b in batches])
    assert rows["seq"].tolist() == list(range(n))
    assert rows["price"].all() and not rows["ema"].any()
    assert all(b.fields == tuple(FIVE) for b in batches)


def test_in_process_subscription_with_fields(helpers):
    engine = helpers.finite_engine(2000)
    sub = engine.subscribe(fields=["price"])
    with pytest.raises(InvalidArgumentError, match="choose from"):
        engine.subscribe(fields=["px"])
    engine.start()
    try:
        batches = list(sub.batches(timeout=5))
    finally:
        engine.stop()
    assert sum(len(b) for b in batches) == 2000
    assert all(b.fields == ("seq", "symbol_id", "price") for b in batches)
    assert batches[0].price.all()
    with pytest.raises(AttributeError, match="not requested"):
        batches[0].size
    assert list(batches[0].to_pandas().columns) == ["seq", "symbol_id", "symbol", "price"]


def test_cli_subscribe_fields(make_server, helpers):
    engine = helpers.finite_engine(10**9, rate=20_000)
    server = make_server(engine, start_engine=True)
    done = subprocess.run(helpers.mdstream_command(
        "subscribe", "--target", server.address, "--batches", "--fields", "price,size",
        "--limit", "5"), capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6, lines
    for line in lines[:5]:
        assert line.startswith("[PY] ") and " price=" in line and " size=" in line, line
        assert "vwap" not in line
    assert lines[5].startswith("summary: 5 results")
    # A bad name, or --fields without --batches: a usage error before connecting.
    for argv, words in ((["--batches", "--fields", "price,nope"], "'nope'"),
                        (["--fields", "price"], "--fields needs --batches")):
        done = subprocess.run(helpers.mdstream_command(
            "subscribe", "--target", server.address, *argv),
            capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
        assert done.returncode == 2 and words in done.stderr, done.stderr
