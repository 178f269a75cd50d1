"""The journal's block format: checksums, round trips, and damage detection.

Every prefix of a journal must read as whole blocks and then a torn tail;
every flipped byte must be reported, never read back as data.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mdstream
from mdstream import _core
from mdstream.errors import JournalCorruptError
from mdstream.journal import JournalConfig, crc32c_reference, list_segments

from helpers import SYMBOLS, collect, publish_ticks, tick_stream


@given(st.binary(max_size=300), st.integers(0, 2**32 - 1))
def test_crc32c_matches_the_plain_reference(data, seed):
    assert _core.crc32c(data) == crc32c_reference(data)
    # Continuing a CRC over two parts equals the CRC of the whole.
    cut = seed % (len(data) + 1)
    assert _core.crc32c(data[cut:], _core.crc32c(data[:cut])) == _core.crc32c(data)


def test_crc32c_known_value():
    assert _core.crc32c(b"123456789") == 0xE3069283


def write_journal(directory, ticks: np.ndarray, chunks: list[int]) -> np.ndarray:
    """Journal the ticks, publishing them in the given chunk sizes and waiting
    for each chunk to be journaled, so each chunk becomes its own block(s).
    Returns what a subscriber received."""
    engine = mdstream.Engine(symbols=SYMBOLS, journal=JournalConfig(directory, segment_bytes=1 << 16))
    sub = engine.subscribe()
    engine.start()
    got = []
    start = 0
    try:
        for size in chunks:
            part = ticks[start:start + size]
            start += size
            if len(part):
                publish_ticks(engine, part)
                got.append(collect(sub, len(part)))
    finally:
        engine.stop()
    return np.concatenate(got) if got else np.zeros(0, mdstream.RESULT_DTYPE)


def read_all(directory) -> np.ndarray:
    parts = []
    for first, path in list_segments(directory):
        scanner = _core.SegmentScanner(str(path), first)
        while (block := scanner.next_block()) is not None:
            parts.append(block[1])
        scanner.close()
    return np.concatenate(parts) if parts else np.zeros(0, mdstream.RESULT_DTYPE)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=6), st.integers(0, 1000))
def test_round_trip_is_byte_exact(tmp_path_factory, chunks, seed):
    directory = tmp_path_factory.mktemp("journal")
    ticks = tick_stream(sum(chunks), seed)
    delivered = write_journal(directory, ticks, chunks)
    stored = read_all(directory)
    assert stored.tobytes() == delivered.tobytes()
    assert np.array_equal(stored["seq"], np.arange(len(ticks)))


@pytest.fixture(scope="module")
def small_segment(tmp_path_factory):
    """One segment of three blocks of a few results each."""
    directory = tmp_path_factory.mktemp("small")
    write_journal(directory, tick_stream(9, 3), [2, 3, 4])
    (first, path), = list_segments(directory)
    data = path.read_bytes()
    whole = read_all(directory)
    scanner = _core.SegmentScanner(str(path), first)
    block_ends = []
    while scanner.next_block() is not None:
        block_ends.append(scanner.offset)
    scanner.close()
    assert len(block_ends) >= 3 and block_ends[-1] == len(data)
    return data, whole, block_ends


def scan_bytes(tmp_path, data: bytes):
    path = tmp_path / "00000000000000000000.mdj"
    path.write_bytes(data)
    scanner = _core.SegmentScanner(str(path), 0)
    blocks = []
    try:
        while (block := scanner.next_block()) is not None:
            blocks.append(block[1])
        return blocks, None
    except JournalCorruptError as e:
        return blocks, e
    finally:
        scanner.close()


def test_every_truncation_is_a_torn_tail_after_whole_blocks(tmp_path, small_segment):
    data, whole, block_ends = small_segment
    for cut in range(len(data)):
        blocks, error = scan_bytes(tmp_path, data[:cut])
        complete = sum(1 for end in block_ends if end <= cut)
        assert len(blocks) == complete, cut
        rows = np.concatenate(blocks) if blocks else whole[:0]
        assert rows.tobytes() == whole[:len(rows)].tobytes()
        if cut in block_ends or cut == 0:
            assert error is None, (cut, error)
        else:
            assert error is not None and error.torn, (cut, error)
            assert error.offset == max([0] + [e for e in block_ends if e <= cut])


def test_every_flipped_byte_is_reported_and_never_served(tmp_path, small_segment):
    data, whole, block_ends = small_segment
    starts = [0] + block_ends[:-1]
    for i in range(len(data)):
        damaged = bytearray(data)
        damaged[i] ^= 0x40
        blocks, error = scan_bytes(tmp_path, bytes(damaged))
        assert error is not None, f"flip at byte {i} went unnoticed"
        # Only a zeroed header could look torn; one flipped bit never zeroes a header.
        assert not error.torn, (i, error)
        assert error.offset == max(s for s in starts if s <= i)
        # Whatever was served before the damage is exactly the original data.
        rows = np.concatenate(blocks) if blocks else whole[:0]
        assert rows.tobytes() == whole[:len(rows)].tobytes()
        assert str(error.path) in str(error) and f"offset {error.offset}" in str(error)
