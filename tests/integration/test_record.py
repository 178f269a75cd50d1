"""Recording a real server's stream to Parquet: the Python recorder and the
`mdstream record` command, read back with pyarrow.dataset and compared with
the stream; a recorder killed with SIGKILL and restarted records every
sequence number exactly once; SIGTERM writes what is buffered and exits 0."""

from __future__ import annotations

import json
import re
import signal
import time

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
ds = pytest.importorskip("pyarrow.dataset")

import mdstream  # noqa: E402
from mdstream import RESULT_DTYPE  # noqa: E402
from mdstream.batch import KIND_NAMES  # noqa: E402
from mdstream.record import ParquetRecorder, record  # noqa: E402
from mdstream.record import layout  # noqa: E402

pytestmark = pytest.mark.timeout(120)

PART = re.compile(r"^part-(\d{20})-(\d{20})\.parquet$")
DATE_DIR = re.compile(r"^date=\d{4}-\d{2}-\d{2}$")


def read_all(stream) -> np.ndarray:
    parts = [b.rows for b in stream]
    return np.concatenate(parts) if parts else np.zeros(0, RESULT_DTYPE)


def dataset(directory) -> pa.Table:
    return ds.dataset(directory, partitioning="hive").to_table().sort_by("seq")


def assert_same(table: pa.Table, rows: np.ndarray, symbols) -> None:
    """The recorded table equals the stream's rows, column by column."""
    assert table["seq"].to_pylist() == rows["seq"].tolist()
    for name in RESULT_DTYPE.names:
        if name == "kind":
            assert table["kind"].to_pylist() == [KIND_NAMES[int(k)] for k in rows["kind"]]
            continue
        np.testing.assert_array_equal(table[name].to_numpy(), rows[name], err_msg=name)
    assert table["symbol"].to_pylist() == [symbols[i] for i in rows["symbol_id"]]


def test_a_finite_stream_is_recorded_as_streamed(make_server, make_client, helpers, tmp_path):
    engine = helpers.finite_engine(30_000, bars=("1s",))
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    stats = record(client.stream_batches(from_seq=0, resume=True, heartbeats=True),
                   tmp_path / "rec", flush_rows=4000)
    want = read_all(client.stream_batches(from_seq=0))
    got = dataset(tmp_path / "rec")
    assert len(want) > 30_000                                   # ticks and bars
    assert_same(got, want, client.list_symbols())
    assert stats["rows"] == len(want) and stats["last_seq"] == int(want["seq"][-1])
    assert stats["files"] > 3 and stats["gaps"] == 0
    # the layout: date=YYYY-MM-DD (event time, UTC) / kind=trade|quote|bar / part-FIRST-LAST
    files = sorted((tmp_path / "rec").rglob("*.parquet"))
    for f in files:
        assert PART.match(f.name) and DATE_DIR.match(f.parent.parent.name)
        assert f.parent.name in ("kind=trade", "kind=quote", "kind=bar")
        first, last = map(int, PART.match(f.name).groups())
        seq = ds.dataset(f).to_table()["seq"].to_numpy()
        assert first <= seq.min() and seq.max() <= last
    days = (want["ts_ns"] // (86_400 * 10**9)).astype("datetime64[D]").astype(str)
    assert sorted(set(got["date"].to_pylist())) == sorted(set(days))


def test_an_in_process_subscription_records_too(helpers, tmp_path):
    engine = helpers.finite_engine(5_000)
    sub = engine.subscribe()
    with engine:
        stats = record(sub, tmp_path, partition_by="symbol", flush_rows=500)
    got = dataset(tmp_path)
    assert got["seq"].to_pylist() == list(range(5_000))
    assert sorted({p.parent.name for p in tmp_path.rglob("part-*")}) == \
        sorted(f"symbol={s}" for s in helpers.SYMBOLS)
    assert stats["rows"] == 5_000


def _recorder(helpers, target: str, directory, *extra: str):
    return helpers.popen(helpers.mdstream_command(
        "record", "--target", target, "--parquet", str(directory), "--flush-rows", "1500",
        "--flush-interval", "100ms", "--policy", "block", *extra))


def _recorded_seq(directory) -> int:
    try:
        return json.loads((directory / layout.STATE_FILE).read_text())["last_seq"]
    except (OSError, ValueError):
        return -1


def test_killed_recorder_restarts_without_gaps_or_duplicates(make_server, make_client, helpers,
                                                             tmp_path):
    total = 60_000
    engine = helpers.finite_engine(total, rate=12_000, journal=str(tmp_path / "journal"))
    server = make_server(engine, start_engine=True)
    out = tmp_path / "rec"
    kills = 0
    # Kill it three times at different points, then let it finish the stream.
    for at in (5_000, 20_000, 35_000):
        with _recorder(helpers, server.address, out, "--from-seq", "0") as proc:
            assert helpers.wait_until(lambda: _recorded_seq(out) >= at or proc.poll() is not None,
                                      timeout=30)
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05 * kills)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
    with _recorder(helpers, server.address, out) as proc:
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "continuing at seq" in stdout and "the stream ended" in stdout, stdout
    want = read_all(make_client(server).stream_batches(from_seq=0))
    got = dataset(out)
    seq = got["seq"].to_numpy()
    assert len(np.unique(seq)) == len(seq), "duplicates"
    assert_same(got, want, make_client(server).list_symbols())
    assert len(want) == total
    assert f"last seq {total - 1:,}" in stdout


def test_sigterm_writes_what_is_buffered_and_exits_0(make_server, helpers, tmp_path):
    engine = helpers.finite_engine(10_000_000, rate=20_000)
    server = make_server(engine, start_engine=True)
    with helpers.popen(helpers.mdstream_command(
            "record", "--target", server.address, "--parquet", str(tmp_path),
            "--flush-interval", "1h", "--flush-rows", "10000000")) as proc:
        helpers.read_line_matching(proc.stdout, "a new recording from the next result")
        time.sleep(1.0)
        assert not list(tmp_path.rglob("part-*"))               # nothing written yet
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    summary = [line for line in stdout.splitlines() if line.startswith("summary:")]
    assert len(summary) == 1 and "interrupted" in summary[0], stdout
    got = dataset(tmp_path)
    assert got.num_rows > 1000
    assert f"last seq {_recorded_seq(tmp_path):,}" in summary[0]
    seq = got["seq"].to_numpy()
    assert np.array_equal(seq, np.arange(seq[0], seq[0] + len(seq)))     # no gap


def test_duration_and_an_unreachable_server(helpers, make_server, tmp_path):
    engine = helpers.finite_engine(10_000_000, rate=5_000)
    server = make_server(engine, start_engine=True)
    with helpers.popen(helpers.mdstream_command(
            "record", "--target", server.address, "--parquet", str(tmp_path / "a"),
            "--duration", "1s", "--symbols", "AAPL,MSFT")) as proc:
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "--duration 1 s reached" in stdout
    assert set(dataset(tmp_path / "a")["symbol"].to_pylist()) <= {"AAPL", "MSFT"}
    with helpers.popen(helpers.mdstream_command(
            "record", "--target", "127.0.0.1:1", "--parquet", str(tmp_path / "b"),
            "--connect-timeout", "0.5")) as proc:
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "cannot reach" in stderr, (stdout, stderr)


def test_a_recording_is_not_continued_from_another_stream(make_server, make_client, helpers,
                                                          tmp_path):
    """The recording keeps its stream id: results of another engine (whose
    sequence numbers mean other results) are refused before any is written."""
    first = make_server(helpers.finite_engine(5_000), start_engine=True)
    record(make_client(first).stream_batches(from_seq=0, resume=True, heartbeats=True),
           tmp_path / "rec")
    rec = ParquetRecorder(tmp_path / "rec")
    assert rec.stream_id == first.engine.stream_id
    rows = rec.recovery.rows

    other = make_server(helpers.finite_engine(9_000), start_engine=True)
    assert other.engine.stream_id != first.engine.stream_id
    stream = make_client(other).stream_batches(from_seq=rec.resume_seq, resume=True,
                                               heartbeats=True)
    with pytest.raises(mdstream.StreamChangedError, match="write them into another directory"):
        rec.consume(stream)
    rec.close()
    again = ParquetRecorder(tmp_path / "rec")
    assert again.recovery.rows == rows and again.stream_id == first.engine.stream_id
