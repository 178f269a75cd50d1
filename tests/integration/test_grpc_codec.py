"""The wire codec against the protobuf classes generated from the .proto.

The codec writes ResultBatch and Result messages by hand, in C; protobuf's
own parser must read exactly the values that went in, the codec's decoder
must give back the same rows, and per-tick messages must be byte for byte
what protobuf itself would serialize.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mdstream import RESULT_DTYPE, _codec, _testing
from mdstream.v1 import mdstream_pb2 as pb

NAMES = ["AAPL", "MSFT", "GOOG", "Ünïcode", "X" * 40]


def sample_rows(n: int, seed: int = 7, symbols: int = len(NAMES)) -> np.ndarray:
    """Realistic rows: simulated ticks (of ``symbols`` symbols) through the core's analytics."""
    ticks = _testing.simulate_ticks(n, seed, symbols)
    ticks["seq"] = np.arange(n)
    ticks["recv_ns"] = ticks["ts_ns"] + 1000
    rows, _ = _testing.compute_analytics(ticks, 0.1, symbols)
    rows["done_ns"] = rows["recv_ns"] + 500
    return rows


def same(a, b) -> bool:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        # Bit for bit: NaN == NaN and -0.0 != 0.0.
        return np.array_equal(a.astype(np.float64).view(np.int64), b.astype(np.float64).view(np.int64))
    return np.array_equal(a.astype(np.int64), b.astype(np.int64))


def rows_strategy(max_n: int = 40):
    """Arbitrary RESULT_DTYPE rows (any float bits, any ints), symbol ids valid."""
    def build(raw, ids):
        rows = np.frombuffer(raw, dtype=RESULT_DTYPE).copy() if raw else np.zeros(0, RESULT_DTYPE)
        rows["symbol_id"] = ids[: len(rows)]
        return rows

    return st.integers(0, max_n).flatmap(lambda n: st.builds(
        build,
        st.binary(min_size=n * RESULT_DTYPE.itemsize, max_size=n * RESULT_DTYPE.itemsize),
        st.lists(st.integers(0, len(NAMES) - 1), min_size=n, max_size=n)))


# -- the tables follow the .proto -----------------------------------------------

def test_every_result_field_is_on_the_wire():
    """A field added to the C Result struct must be added to the codec and the .proto."""
    columns = set(_codec.BATCH_FIELD_NUMBERS) - {"count", "symbols", "gap", "heartbeat"}
    assert columns == set(RESULT_DTYPE.names)
    result_fields = set(_codec.RESULT_FIELD_NUMBERS) - {"symbol", "missed_before"}
    assert result_fields == set(RESULT_DTYPE.names)


# Fields of a subscription's opening snapshot: the servicer appends them to
# the codec's bytes (server.py), the codec itself never writes them.
# Fields the codec does not write: the snapshot fence, and StreamResults heartbeats.
# Fields the codec does not write (the servicer appends or sets them).
SNAPSHOT_FIELDS = {"ResultBatch": {"snapshot": 50, "stream_id": 51},
                   "Result": {"snapshot": 50, "as_of_seq": 51, "heartbeat": 52, "last_seq": 53,
                              "server_time_ns": 54, "stream_id": 55}}


def test_field_numbers_match_the_generated_descriptors():
    batch = {f.name: f.number for f in pb.ResultBatch.DESCRIPTOR.fields}
    assert batch == {**_codec.BATCH_FIELD_NUMBERS, **SNAPSHOT_FIELDS["ResultBatch"]}
    result = {f.name: f.number for f in pb.Result.DESCRIPTOR.fields}
    assert result == {**_codec.RESULT_FIELD_NUMBERS, **SNAPSHOT_FIELDS["Result"]}


# -- ResultBatch ------------------------------------------------------------------

def test_batch_frame_parses_with_protobuf():
    rows = sample_rows(3000)
    enc = _codec.BatchEncoder(NAMES)
    frame = enc.encode(rows, gap=(10, 20, 7))
    msg = pb.ResultBatch.FromString(frame)
    assert msg.count == len(rows)
    assert dict(msg.symbols) == dict(enumerate(NAMES))
    assert (msg.gap.from_seq, msg.gap.to_seq, msg.gap.missed) == (10, 20, 7)
    assert not msg.HasField("heartbeat")
    for name in RESULT_DTYPE.names:
        assert same(list(getattr(msg, name)), rows[name]), name


def test_symbol_names_are_sent_once_per_stream():
    rows = sample_rows(500)
    enc = _codec.BatchEncoder(NAMES)
    first = pb.ResultBatch.FromString(enc.encode(rows[:1]))
    assert dict(first.symbols) == {int(rows["symbol_id"][0]): NAMES[rows["symbol_id"][0]]}
    rest = pb.ResultBatch.FromString(enc.encode(rows[1:]))
    assert set(rest.symbols) == set(np.unique(rows["symbol_id"])) - {rows["symbol_id"][0]}
    again = pb.ResultBatch.FromString(enc.encode(rows))
    assert len(again.symbols) == 0
    # Another stream's encoder names them again.
    other = pb.ResultBatch.FromString(_codec.BatchEncoder(NAMES).encode(rows))
    assert len(other.symbols) == len(np.unique(rows["symbol_id"]))


def test_heartbeat_frame():
    enc = _codec.BatchEncoder(NAMES)
    for last_seq in (-1, 0, 123456789):
        frame = enc.heartbeat(last_seq, 1_700_000_000_123_456_789)
        msg = pb.ResultBatch.FromString(frame)
        assert msg.count == 0 and len(msg.seq) == 0
        assert (msg.heartbeat.last_seq, msg.heartbeat.server_time_ns) == (
            last_seq, 1_700_000_000_123_456_789)
        rows, names, gap, hb = _codec.decode_batch(frame)
        assert len(rows) == 0 and names == {} and gap is None
        assert hb == (last_seq, 1_700_000_000_123_456_789)


def test_decode_batch_round_trip():
    rows = sample_rows(4096)
    frame = _codec.BatchEncoder(NAMES).encode(rows, gap=(1, 5, 3))
    out, names, gap, hb = _codec.decode_batch(frame)
    assert out.dtype == RESULT_DTYPE
    assert out.tobytes() == rows.tobytes()
    assert names == dict(enumerate(NAMES))
    assert gap == (1, 5, 3) and hb is None


def test_decode_reads_frames_serialized_by_protobuf():
    """The decoder does not depend on the encoder's field order."""
    rows = sample_rows(50)
    msg = pb.ResultBatch(count=len(rows), symbols={1: "MSFT"})
    for name in reversed(RESULT_DTYPE.names):
        getattr(msg, name).extend(rows[name].tolist())
    out, names, gap, hb = _codec.decode_batch(msg.SerializeToString())
    assert out.tobytes() == rows.tobytes() and names == {1: "MSFT"}


def test_non_contiguous_rows_are_encoded():
    rows = sample_rows(100)
    frame = _codec.BatchEncoder(NAMES).encode(rows[::3])
    assert _codec.decode_batch(frame)[0].tobytes() == rows[::3].tobytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy())
def test_any_rows_round_trip_through_protobuf_and_the_decoder(rows):
    frame = _codec.BatchEncoder(NAMES).encode(rows)
    out = _codec.decode_batch(frame)[0]
    assert out.tobytes() == rows.tobytes()
    msg = pb.ResultBatch.FromString(frame)
    for name in RESULT_DTYPE.names:
        assert same(list(getattr(msg, name)), rows[name]), name


@settings(max_examples=80, deadline=None)
@given(cut=st.integers(0, 10_000), flip=st.integers(0, 255))
@example(cut=1, flip=0)
def test_damaged_frames_raise_frame_error_or_decode(cut, flip):
    """Truncated or altered frames never crash: FrameError, or a valid decode."""
    frame = bytearray(_codec.BatchEncoder(NAMES).encode(sample_rows(20), gap=(1, 2, 3)))
    cut %= len(frame)
    damaged = bytes(frame[:cut])
    try:
        _codec.decode_batch(damaged)
    except _codec.FrameError:
        pass
    frame[cut] ^= flip
    try:
        _codec.decode_batch(bytes(frame))
    except _codec.FrameError:
        pass


def test_inconsistent_columns_are_rejected():
    rows = sample_rows(10)
    msg = pb.ResultBatch(count=10)
    msg.seq.extend(rows["seq"].tolist())
    msg.price.extend(rows["price"][:9].tolist())       # one short
    with pytest.raises(_codec.FrameError, match="field 11"):
        _codec.decode_batch(msg.SerializeToString())


def test_unknown_symbol_id_is_an_error_not_a_crash():
    rows = sample_rows(5)
    rows["symbol_id"][2] = len(NAMES) + 3
    with pytest.raises(ValueError, match="has no name"):
        _codec.BatchEncoder(NAMES).encode(rows)
    with pytest.raises(ValueError, match="has no name"):
        _codec.ResultEncoder(NAMES).encode(rows)


def test_wrong_dtype_is_rejected():
    with pytest.raises(TypeError, match="RESULT_DTYPE"):
        _codec.BatchEncoder(NAMES).encode(np.zeros(3, dtype=np.float64))


# -- Result (StreamResults) -------------------------------------------------------

def expected_result(row, missed_before: int = 0) -> pb.Result:
    msg = pb.Result(symbol=NAMES[row["symbol_id"]], missed_before=missed_before)
    for name in RESULT_DTYPE.names:
        setattr(msg, name, row[name].item())
    return msg


def test_result_messages_equal_protobuf_serialization():
    rows = sample_rows(2000)
    messages = _codec.ResultEncoder(NAMES).encode(rows, missed_before=42)
    assert len(messages) == len(rows)
    for i, data in enumerate(messages):
        assert data == expected_result(rows[i], 42 if i == 0 else 0).SerializeToString(), i


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy(), missed=st.integers(0, 2**62))
def test_any_result_equals_protobuf_serialization(rows, missed):
    messages = _codec.ResultEncoder(NAMES).encode(rows, missed_before=missed)
    for i, data in enumerate(messages):
        assert data == expected_result(rows[i], missed if i == 0 else 0).SerializeToString()


def test_result_encoder_learns_new_names():
    names = ["AAPL"]
    enc = _codec.ResultEncoder(names)
    rows = sample_rows(10)
    rows["symbol_id"] = 0
    assert pb.Result.FromString(enc.encode(rows[:1])[0]).symbol == "AAPL"
    names.append("NEW")        # the engine's list grows while streaming
    rows["symbol_id"] = 1
    assert pb.Result.FromString(enc.encode(rows[:1])[0]).symbol == "NEW"
