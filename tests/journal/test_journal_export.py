"""`mdstream journal export` and `mdstream journal info` on real journals.

An export must hold exactly what a subscription received (every column,
every seq) in the same files `mdstream record --parquet` writes for that
subscription; it continues where it stopped, refuses to leave a gap, and
exports a journal a live engine (another process) is writing.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
ds = pytest.importorskip("pyarrow.dataset")

import mdstream  # noqa: E402
from mdstream import _core  # noqa: E402
from mdstream.batch import KIND_NAMES  # noqa: E402
from mdstream.cli.parser import main  # noqa: E402
from mdstream.journal import JournalConfig, JournalReader, list_segments  # noqa: E402
from mdstream.record import record  # noqa: E402

from helpers import SYMBOLS, assert_same_analytics, publish_ticks, reference_results, tick_stream  # noqa: E402

HERE = Path(__file__).parent
N = 12_000
MDSTREAM = [sys.executable, "-m", "mdstream"]


def dataset(directory) -> pa.Table:
    return ds.dataset(directory, partitioning="hive").to_table().sort_by("seq")


def assert_same(table: pa.Table, rows: np.ndarray, symbols) -> None:
    """The Parquet table equals the subscription's rows, column by column."""
    assert table["seq"].to_pylist() == rows["seq"].tolist()
    for name in mdstream.RESULT_DTYPE.names:
        if name == "kind":
            assert table["kind"].to_pylist() == [KIND_NAMES[int(k)] for k in rows["kind"]]
            continue
        np.testing.assert_array_equal(table[name].to_numpy(), rows[name], err_msg=name)
    assert table["symbol"].to_pylist() == [symbols[i] for i in rows["symbol_id"]]


def files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*.parquet"))


def partitions(directory: Path) -> set[str]:
    return {str(p.parent.relative_to(directory)) for p in directory.rglob("*.parquet")}


@pytest.fixture
def journaled(tmp_path):
    """A journal of N ticks with 1 s bars over several segments; what one
    subscription received and the recording `mdstream record` makes of another."""
    directory = tmp_path / "journal"
    engine = mdstream.Engine(symbols=SYMBOLS, bars=("1s",),
                             journal=JournalConfig(directory, segment_bytes=1 << 18))
    watched, recorded = engine.subscribe(), engine.subscribe()
    with engine:
        publish_ticks(engine, tick_stream(N))
        engine.close_ingest()
        record(recorded, tmp_path / "recorded", flush_rows=3_000)
        rows = np.concatenate([b.rows for b in watched])
    assert len(list_segments(directory)) > 2 and len(rows) > N     # ticks and bars
    return directory, rows


def test_export_holds_what_a_subscription_received_as_a_recording_does(journaled, tmp_path, capsys):
    directory, rows = journaled
    out = tmp_path / "export"
    assert main(["journal", "export", "--parquet", str(out), str(directory),
                 "--flush-rows", "3000"]) == 0
    assert f"exported {len(rows):,} results" in capsys.readouterr().out
    exported = dataset(out)
    assert_same(exported, rows, SYMBOLS)
    # The same partitions, columns and values as the recording of a subscription
    # (where checkpoints cut the files depends on the batches each one saw).
    assert partitions(out) == partitions(tmp_path / "recorded")
    recorded = dataset(tmp_path / "recorded")
    assert exported.schema.equals(recorded.schema)
    for name in exported.column_names:        # NaN is equal to NaN here (absent quote sides)
        a, b = exported[name].to_pandas(), recorded[name].to_pandas()
        assert a.equals(b), name
    # Again on the same directory: nothing new, nothing doubled; and the
    # Ctrl-C handler is given back, not left ignored (processes started later
    # would inherit an ignored SIGINT).
    import signal

    before = signal.getsignal(signal.SIGINT)
    assert main(["journal", "export", "--parquet", str(out), str(directory)]) == 0
    assert signal.getsignal(signal.SIGINT) == before != signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) != signal.SIG_IGN
    assert "nothing to export" in capsys.readouterr().out
    assert dataset(out).num_rows == len(rows)


def test_export_a_range_then_continue_it(journaled, tmp_path, capsys):
    directory, rows = journaled
    out = tmp_path / "part"
    assert main(["journal", "export", "--parquet", str(out), str(directory),
                 "--from-seq", "100", "--to-seq", "5000", "--partition-by", "symbol"]) == 0
    assert_same(dataset(out), rows[100:5000], SYMBOLS)
    assert {p.split("/")[1] for p in files(out)} == {f"symbol={s}" for s in SYMBOLS}
    # Starting past the end of what DIR holds would leave a gap: refused, DIR untouched.
    assert main(["journal", "export", "--parquet", str(out), str(directory),
                 "--from-seq", "6000", "--partition-by", "symbol"]) == 1
    err = capsys.readouterr().err
    assert "holds results up to seq 4,999" in err and "would leave a gap" in err
    assert dataset(out).num_rows == 4_900
    # Continuing: from 5000 to the end, no gap, no duplicate.
    assert main(["journal", "export", "--parquet", str(out), str(directory),
                 "--partition-by", "symbol"]) == 0
    assert_same(dataset(out), rows[100:], SYMBOLS)
    # Some symbols only; an unknown one is named, with the journal's.
    assert main(["journal", "export", "--parquet", str(tmp_path / "some"), str(directory),
                 "--symbols", "AAA,CCC"]) == 0
    assert_same(dataset(tmp_path / "some"), rows[np.isin(rows["symbol_id"], [0, 2])], SYMBOLS)
    assert main(["journal", "export", "--parquet", str(tmp_path / "none"), str(directory),
                 "--symbols", "AAA,ZZZ"]) == 1
    assert capsys.readouterr().err.endswith(
        f"ZZZ: not a symbol of {directory} (its symbols: AAA, BBB, CCC)\n")
    assert not (tmp_path / "none").exists()
    # Usage errors.
    assert main(["journal", "export", "--parquet", str(tmp_path / "x"), str(directory),
                 "--from-seq", "10", "--to-seq", "5"]) == 2
    assert main(["journal", "export", "--parquet", str(tmp_path / "x"),
                 str(tmp_path / "nothing")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_export_refuses_a_directory_holding_another_journals_export(journaled, tmp_path, capsys):
    """Two journals number their results from 0: continuing one's export with
    the other's would mix two sequence spaces, so it is refused, DIR untouched."""
    directory, _ = journaled
    other = tmp_path / "other"
    with mdstream.Engine(symbols=SYMBOLS, journal=JournalConfig(other)) as engine:
        publish_ticks(engine, tick_stream(100))
        engine.close_ingest()
    out = tmp_path / "export"
    assert main(["journal", "export", "--parquet", str(out), str(directory),
                 "--to-seq", "1000"]) == 0
    capsys.readouterr()
    assert main(["journal", "export", "--parquet", str(out), str(other)]) == 1
    err = capsys.readouterr().err
    assert f"{out} records stream" in err and "write them into another directory" in err
    assert dataset(out).num_rows == 1_000


def run(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([*MDSTREAM, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(180)
def test_export_while_another_process_writes_then_after_a_kill(tmp_path):
    directory, out = tmp_path / "journal", tmp_path / "export"
    reference = reference_results(tick_stream(400_000))
    proc = subprocess.Popen([sys.executable, str(HERE / "writer_process.py"), str(directory), "write"],
                            stdout=subprocess.PIPE, text=True, cwd=str(HERE))
    try:
        assert proc.stdout.readline().startswith("ready")
        time.sleep(0.5)
        done = run("journal", "export", "--parquet", str(out), str(directory))
        assert done.returncode == 0, done.stderr
        first = dataset(out)
        assert first.num_rows > 0
        assert first["seq"].to_pylist() == list(range(first.num_rows))
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # Whatever the kill left at the tail, the rest exports cleanly and continues the first run.
    done = run("journal", "export", "--parquet", str(out), str(directory))
    assert done.returncode == 0, done.stderr
    table = dataset(out)
    held = JournalReader(directory).read()
    assert table.num_rows == len(held) >= first.num_rows
    assert table["seq"].to_pylist() == list(range(len(held)))
    np.testing.assert_array_equal(table["vwap"].to_numpy(), held.vwap)
    assert_same_analytics(held.rows, reference[:len(held)])


def test_info_prints_the_range_symbols_segments_and_a_torn_tail(journaled, tmp_path):
    directory, rows = journaled
    done = run("journal", "info", str(directory))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(None, 1) if not line.startswith("stream id") else ("stream-id", line[9:].strip())
                 for line in done.stdout.splitlines())
    last = int(rows["seq"][-1])
    assert lines["results"] == f"seq 0 to {last:,} ({last + 1:,} results)"
    assert lines["symbols"] == "3: AAA, BBB, CCC"
    assert lines["segments"].startswith(f"{len(list_segments(directory))} (")
    as_json = json.loads(run("journal", "info", "--json", str(directory)).stdout)
    assert as_json["last_seq"] == last and as_json["symbols"] == SYMBOLS
    assert as_json["stream_id"] == lines["stream-id"] and as_json["torn_tail"] is None
    # A block cut short at the end (a crash mid-write) is reported, not cut.
    first, newest = list_segments(directory)[-1]
    head = struct.pack("<IIqIII", 0x424A444D, 5, last + 1, mdstream.RESULT_DTYPE.itemsize, 0, 0)
    with open(newest, "ab") as f:
        f.write(head + struct.pack("<I", _core.crc32c(head)) + b"\0" * 40)
    size = os.path.getsize(newest)
    done = run("journal", "info", str(directory))
    assert "torn tail" in done.stdout and f"seq 0 to {last:,}" in done.stdout
    assert os.path.getsize(newest) == size
    # ... and an export takes everything before it, and leaves it in place.
    done = run("journal", "export", "--parquet", str(tmp_path / "torn"), str(directory))
    assert done.returncode == 0, done.stderr
    assert_same(dataset(tmp_path / "torn"), rows, SYMBOLS)
    assert os.path.getsize(newest) == size
    # Not a journal: one line naming the directory.
    done = run("journal", "info", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == (f"mdstream: error: {tmp_path} is not an mdstream journal: it has "
                                   "no journal.json (give the directory of Engine(journal=...) or "
                                   "mdstream serve --journal)")
