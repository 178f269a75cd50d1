"""JournalReader: a journal read without an engine, its lock or any write.

The reader must return exactly what a subscription received (every column,
every seq), stop cleanly at a torn tail, report damage with the file and
offset, never change a byte of the directory, and read a journal that a
live engine (another process) is writing.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mdstream
from mdstream import _core
from mdstream.errors import InvalidArgumentError, JournalCorruptError, JournalError, OutOfRangeError
from mdstream.journal import JournalConfig, JournalReader, list_segments

from helpers import SYMBOLS, collect, publish_ticks, reference_results, tick_stream, assert_same_analytics

HERE = Path(__file__).parent
N = 20_000


def journal_with_subscription(directory: Path, n: int = N) -> tuple[np.ndarray, str]:
    """Journal n ticks over several segments (published 500 at a time, so
    blocks stay small and segments many); what a subscription received,
    and the stream id."""
    engine = mdstream.Engine(symbols=SYMBOLS, journal=JournalConfig(directory, segment_bytes=1 << 18))
    sub = engine.subscribe()
    ticks = tick_stream(n)
    parts = []
    with engine:
        for start in range(0, n, 500):
            publish_ticks(engine, ticks[start:start + 500])
            parts.append(collect(sub, len(ticks[start:start + 500])))
    return np.concatenate(parts), engine.stream_id


def fingerprint(directory: Path) -> dict:
    """Every file's bytes and modification time."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(directory.iterdir())}


def test_reader_returns_what_a_subscription_received(tmp_path):
    received, stream_id = journal_with_subscription(tmp_path)
    assert len(list_segments(tmp_path)) > 2
    before = fingerprint(tmp_path)
    reader = JournalReader(tmp_path)
    assert (reader.first_seq, reader.last_seq) == (0, N - 1)
    assert reader.stream_id == stream_id
    assert reader.symbols == SYMBOLS
    blocks = [len(b) for b in reader.batches()]                # a batch per journal block
    assert all(0 < n <= 4_096 for n in blocks)
    batches = list(reader.batches(max_results=100))            # ... split to at most 100
    assert [len(b) for b in batches] == [min(100, n - k) for n in blocks for k in range(0, n, 100)]
    rows = np.concatenate([b.rows for b in batches])
    assert rows.dtype == mdstream.RESULT_DTYPE
    assert rows.tobytes() == received.tobytes()          # every column, every seq
    names = np.concatenate([b.symbol_names() for b in batches])
    assert list(names) == [SYMBOLS[i] for i in received["symbol_id"]]
    # Ranges: from inclusive, to exclusive, across segment boundaries.
    part = reader.read(from_seq=1_234, to_seq=17_001)
    assert np.array_equal(part.seq, np.arange(1_234, 17_001))
    assert part.rows.tobytes() == received[1_234:17_001].tobytes()
    assert len(reader.read(from_seq=N - 1)) == 1
    assert len(reader.read(from_seq=500, to_seq=500)) == 0
    assert len(reader.read(from_seq=N + 10)) == 0
    info = reader.info()
    assert info.results == N and info.segments == len(list_segments(tmp_path))
    assert info.torn_tail is None and info.segment_bytes > N * mdstream.RESULT_DTYPE.itemsize
    assert fingerprint(tmp_path) == before, "reading changed the journal"


def test_reader_rejects_bad_arguments_and_what_is_not_a_journal(tmp_path):
    journal_with_subscription(tmp_path / "j", 100)
    reader = JournalReader(tmp_path / "j")
    with pytest.raises(InvalidArgumentError, match="from_seq"):
        list(reader.batches(from_seq=-1))
    with pytest.raises(InvalidArgumentError, match="to_seq"):
        list(reader.batches(from_seq=10, to_seq=5))
    with pytest.raises(InvalidArgumentError, match="max_results"):
        list(reader.batches(max_results=0))
    with pytest.raises(JournalError, match="does not exist") as e:
        JournalReader(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(JournalError, match="not an mdstream journal: it has no journal.json"):
        JournalReader(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(JournalError, match="not a directory"):
        JournalReader(tmp_path / "file")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "journal.json").write_text('{"format": 1, "record_size": 8}')
    with pytest.raises(JournalError, match="records of 8 bytes"):
        JournalReader(tmp_path / "other")


def test_an_empty_journal_holds_nothing(tmp_path):
    with mdstream.Engine(symbols=SYMBOLS, journal=tmp_path):
        pass
    reader = JournalReader(tmp_path)
    assert reader.first_seq is None and reader.last_seq is None
    assert list(reader.batches()) == []


def test_a_torn_tail_ends_the_reading_cleanly_and_stays(tmp_path):
    received, _ = journal_with_subscription(tmp_path, 5_000)
    first, newest = list_segments(tmp_path)[-1]
    record = mdstream.RESULT_DTYPE.itemsize
    # What a crash mid-write leaves: a prefix of the next block (part of its
    # header, or a whole header and part of its records).
    head = struct.pack("<IIqIII", 0x424A444D, 10, 5_000, record, 0, 0)
    header = head + struct.pack("<I", _core.crc32c(head))
    for torn in (header[:17], header + b"\x01" * (record * 3 + 5)):
        with open(newest, "ab") as f:
            f.write(torn)
        before = fingerprint(tmp_path)
        reader = JournalReader(tmp_path)
        assert reader.last_seq == 4_999
        assert reader.read().rows.tobytes() == received.tobytes()
        assert "torn tail" in reader.info().torn_tail and str(newest) in reader.info().torn_tail
        assert fingerprint(tmp_path) == before, "the reader cut the torn tail"
        with open(newest, "r+b") as f:
            f.truncate(newest.stat().st_size - len(torn))


def test_damage_is_reported_with_file_and_offset_never_served(tmp_path):
    journal_with_subscription(tmp_path, 5_000)
    first, path = list_segments(tmp_path)[0]
    data = bytearray(path.read_bytes())
    data[32 + 3] ^= 0xFF                                  # a flipped byte in the first block's payload
    path.write_bytes(bytes(data))
    reader = JournalReader(tmp_path)
    with pytest.raises(JournalCorruptError) as e:
        list(reader.batches())
    assert e.value.path == str(path) and e.value.offset == 0 and not e.value.torn
    # A missing segment in the middle is a hole, not a clean end.
    journal_with_subscription(tmp_path / "hole", 5_000)
    segments = list_segments(tmp_path / "hole")
    assert len(segments) >= 3
    segments[1][1].unlink()
    with pytest.raises(JournalCorruptError, match="results are missing"):
        list(JournalReader(tmp_path / "hole").batches())
    # An older from_seq than retention kept.
    segments[0][1].unlink()
    with pytest.raises(OutOfRangeError) as e:
        list(JournalReader(tmp_path / "hole").batches(from_seq=0))
    assert e.value.oldest == segments[2][0]


def test_reading_does_not_take_the_lock_of_a_running_engine(tmp_path):
    engine = mdstream.Engine(symbols=SYMBOLS, journal=tmp_path)
    sub = engine.subscribe()
    with engine:
        publish_ticks(engine, tick_stream(1_000))
        received = collect(sub, 1_000)
        # The engine holds the LOCK; the reader neither needs nor takes it.
        assert JournalReader(tmp_path).read().rows.tobytes() == received.tobytes()
        with pytest.raises(JournalError, match="in use by another engine"):
            mdstream.Engine(symbols=SYMBOLS, journal=tmp_path)
        publish_ticks(engine, tick_stream(1_500)[1_000:])
        received = np.concatenate([received, collect(sub, 500)])
        assert JournalReader(tmp_path).read().rows.tobytes() == received.tobytes()


@pytest.mark.timeout(120)
def test_reading_while_another_process_writes(tmp_path):
    """Every read of a journal being written is a gap-free prefix of the
    stream with the analytics of an uninterrupted run."""
    directory = tmp_path / "journal"
    total = 400_000
    reference = reference_results(tick_stream(total))
    proc = subprocess.Popen([sys.executable, str(HERE / "writer_process.py"), str(directory), "write"],
                            stdout=subprocess.PIPE, text=True, cwd=str(HERE))
    try:
        assert proc.stdout.readline().startswith("ready")
        reader = JournalReader(directory)
        lengths = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = reader.read().rows
            lengths.append(len(rows))
            assert np.array_equal(rows["seq"], np.arange(len(rows))), "not a gap-free prefix"
            assert_same_analytics(rows, reference[:len(rows)])
            if proc.poll() is not None or len(lengths) >= 6 and lengths[-1] > lengths[0]:
                break
        assert len(lengths) >= 2 and max(lengths) > 0
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # After a kill -9: whatever the tail, the reader still reads a clean prefix.
    rows = JournalReader(directory).read().rows
    assert len(rows) >= max(lengths)
    assert np.array_equal(rows["seq"], np.arange(len(rows)))
    assert_same_analytics(rows, reference[:len(rows)])
