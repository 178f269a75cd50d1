"""Reading journal segments: the checked blocks of results from a sequence
number on, for the engine's replay (journal/directory.py) and the read-only
JournalReader (journal/reader.py) alike.

The block format and its checks (magic, header and payload CRC-32C, record
size, sequence continuity) are the core's: ``_core.SegmentScanner`` reads
and verifies one segment (core/journal.pxi). This module walks the segments
of a directory with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from mdstream import _core
from mdstream.errors import JournalCorruptError

__all__ = ["read_blocks", "TornTail"]

#: Called with the JournalCorruptError of a torn tail where reading stopped.
TornTail = Callable[[JournalCorruptError], None]


def read_blocks(segments: Sequence[tuple[int, Path]], from_seq: int, end: int | None = None,
                active: tuple[int, int] | None = None, *,
                torn_tail: TornTail | None = None, orders: bool = False) -> Iterator[np.ndarray]:
    """Results from ``from_seq`` (to ``end``, exclusive) over ``segments``
    ((first_seq, path), oldest first), in blocks (RESULT_DTYPE arrays, the
    first trimmed to start at from_seq, the last to stop before end).

    ``active`` is (first_seq, complete bytes) of a segment still being
    written by this process's engine: reading stops at its complete bytes.
    Without it, a block cut short at the end of the newest segment (a writer
    in the middle of a write, or a crash that left a torn tail) raises
    JournalCorruptError(torn=True), unless ``torn_tail`` is given: then it is
    called with that error and reading stops cleanly before the block. Damage
    (a failed checksum, a sequence jump, a torn block in an older segment)
    always raises JournalCorruptError naming the file and byte offset.
    FileNotFoundError when a segment was removed meanwhile (retention).
    Order requests (rows of kind ORDER, a paper venue's input) are left out
    unless ``orders``: they are not results.
    """
    before = [i for i, (first, _) in enumerate(segments) if first <= from_seq]
    start = before[-1] if before else 0
    for index in range(start, len(segments)):
        first, path = segments[index]
        if end is not None and first >= end:
            return
        limit = active[1] if active is not None and first == active[0] else -1
        newest = index == len(segments) - 1
        scanner = _core.SegmentScanner(str(path), first, limit)
        try:
            while True:
                try:
                    block = scanner.next_block()
                except JournalCorruptError as e:
                    if e.torn and newest and torn_tail is not None:
                        torn_tail(e)
                        return
                    raise
                if block is None:
                    break
                first_seq, rows = block
                if first_seq + len(rows) <= from_seq:
                    continue
                if first_seq < from_seq:
                    rows = rows[from_seq - first_seq:]
                if end is not None and int(rows["seq"][-1]) >= end:
                    rows = rows[rows["seq"] < end]
                if not orders and len(rows):
                    is_order = rows["kind"] == _core.KIND_ORDER_VALUE
                    if is_order.any():
                        rows = rows[~is_order]
                if len(rows):
                    yield rows
                if end is not None and first_seq + len(block[1]) >= end:
                    return
        finally:
            scanner.close()
        if not newest and scanner.expected_seq != segments[index + 1][0]:
            raise JournalCorruptError(
                str(segments[index + 1][1]), 0,
                f"the previous segment ends at seq {scanner.expected_seq}, this one starts at "
                f"{segments[index + 1][0]}: results are missing", False)
