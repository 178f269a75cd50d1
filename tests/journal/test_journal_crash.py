"""Crash safety: kill -9 a journaling process mid-write, restart, resume.

After every kill the journal must recover to a gap-free prefix of the
stream whose every result equals what an uninterrupted run computes, and a
restart must continue the stream exactly.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mdstream
from mdstream.errors import JournalCorruptError
from mdstream.journal import JournalConfig, list_segments

from helpers import SYMBOLS, assert_same_analytics, collect, publish_ticks, reference_results, tick_stream

HERE = Path(__file__).parent
STREAM = tick_stream(400_000)
REFERENCE = reference_results(STREAM)


def run_writer_and_kill(directory: Path, durability: str, after_s: float) -> None:
    proc = subprocess.Popen([sys.executable, str(HERE / "writer_process.py"), str(directory), durability],
                            stdout=subprocess.PIPE, text=True, cwd=str(HERE))
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready"), line
        time.sleep(after_s)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def recovered_results(directory: Path) -> tuple[mdstream.Engine, np.ndarray]:
    """Open the journal again and read back everything it holds."""
    engine = mdstream.Engine(symbols=SYMBOLS, journal=directory)
    n = engine.recovery.next_seq
    sub = engine.subscribe(from_seq=0) if n else None
    rows = collect(sub, n) if n else np.zeros(0, mdstream.RESULT_DTYPE)
    if sub is not None:
        sub.close()
    return engine, rows


def check_prefix(rows: np.ndarray) -> None:
    n = len(rows)
    assert np.array_equal(rows["seq"], np.arange(n)), "journal is not a gap-free prefix"
    assert_same_analytics(rows, REFERENCE[:n])


@pytest.mark.timeout(180)
@pytest.mark.parametrize("durability", ["write", "interval", "fsync"])
def test_kill_during_writes_then_restart_and_resume(tmp_path, durability):
    rng = random.Random(durability)
    directory = tmp_path / "journal"
    last_n = 0
    # Several kills at random moments, each followed by a restart that continues.
    for round_ in range(3):
        run_writer_and_kill(directory, durability, rng.uniform(0.3, 1.2))
        engine, rows = recovered_results(directory)
        try:
            check_prefix(rows)
            assert len(rows) >= last_n, "a restart lost journaled results"
            last_n = len(rows)
            # Continue the stream in this process, and resume a client from its
            # last seen sequence number: every seq exactly once, correct values.
            resume_from = max(0, last_n - 25)
            sub = engine.subscribe(from_seq=resume_from)
            engine.start()
            more = STREAM[last_n:last_n + 500]
            publish_ticks(engine, more)
            got = collect(sub, last_n + len(more) - resume_from)
            assert np.array_equal(got["seq"], np.arange(resume_from, last_n + len(more)))
            assert_same_analytics(got, REFERENCE[resume_from:last_n + len(more)])
            last_n += len(more)
        finally:
            engine.stop()
    assert last_n > 0


@pytest.fixture(scope="module")
def killed_journal(tmp_path_factory):
    """A journal left by a process killed mid-run."""
    directory = tmp_path_factory.mktemp("killed") / "journal"
    run_writer_and_kill(directory, "write", 1.0)
    return directory


@pytest.mark.timeout(120)
def test_torn_tails_inside_records_are_cut_to_the_last_whole_block(tmp_path, killed_journal):
    segments = list_segments(killed_journal)
    first_seq, last = segments[-1]
    size = last.stat().st_size
    scanner = mdstream._core.SegmentScanner(str(last), first_seq)
    boundaries = {0}
    try:
        while scanner.next_block() is not None:
            boundaries.add(scanner.offset)
    except JournalCorruptError:
        pass                    # the kill may itself have left a torn tail
    scanner.close()
    rng = random.Random(7)
    record = mdstream.RESULT_DTYPE.itemsize
    # Cut points inside block headers and inside records, near the end of the file.
    cuts = sorted({size - k for k in [1, 5, 31, 33, record // 2, record + 3, 3 * record + 100]
                   + [rng.randrange(1, min(size, 20_000)) for _ in range(5)] if size - k > 0})
    for cut in cuts:
        directory = tmp_path / f"cut{cut}"
        shutil.copytree(killed_journal, directory)
        os.truncate(directory / last.name, cut)
        engine, rows = recovered_results(directory)
        engine.stop()
        check_prefix(rows)
        whole_end = max(b for b in boundaries if b <= cut)
        assert engine.recovery.torn_bytes_cut == cut - whole_end
        # What was cut is gone from the file: a second start finds nothing to cut.
        again = mdstream.Engine(symbols=SYMBOLS, journal=directory)
        assert again.recovery.torn_bytes_cut == 0
        assert again.recovery.next_seq == len(rows)
        again.stop()


@pytest.mark.timeout(60)
def test_a_flipped_byte_in_the_middle_is_reported_with_file_and_offset(tmp_path, killed_journal):
    directory = tmp_path / "flipped"
    shutil.copytree(killed_journal, directory)
    first, path = list_segments(directory)[-1]
    data = bytearray(path.read_bytes())
    where = len(data) // 2
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError) as err:
        mdstream.Engine(symbols=SYMBOLS, journal=directory)
    assert not err.value.torn
    assert err.value.path == str(path)
    assert err.value.offset <= where
    assert path.name in str(err.value) and "offset" in str(err.value)


@pytest.mark.timeout(60)
def test_damage_in_an_old_segment_is_never_served(tmp_path):
    directory = tmp_path / "journal"
    engine = mdstream.Engine(symbols=SYMBOLS, journal=JournalConfig(directory, segment_bytes=1 << 16))
    sub = engine.subscribe()
    engine.start()
    # In parts, each read before the next: blocks of at most 500 results, so
    # that segments roll often however busy the machine is.
    for start in range(0, 5000, 500):
        publish_ticks(engine, STREAM[start:start + 500])
        collect(sub, 500)
    engine.stop()
    segments = list_segments(directory)
    assert len(segments) > 2
    first, path = segments[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x80
    path.write_bytes(bytes(data))
    # Restart needs only the newest state and segment: it starts...
    engine = mdstream.Engine(symbols=SYMBOLS, journal=directory)
    try:
        sub = engine.subscribe(from_seq=0)
        served = []
        with pytest.raises(JournalCorruptError) as err:
            while True:
                batch = sub.next_batch(timeout=5)
                assert batch is not None
                served.append(batch.rows)
        assert err.value.path == str(path)
        # ...and what it served before the damage is exact.
        rows = np.concatenate(served) if served else STREAM[:0]
        if len(rows):
            check_prefix(rows)
    finally:
        engine.stop()
