"""Engine batches to per-symbol JetStream messages, and messages back to batches.

A message's payload is one ``mdstream.v1.ResultBatch`` frame encoded by the
core's ``BatchEncoder`` (the bytes StreamBatches sends), holding the rows of
one symbol and that symbol's name (a fresh encoder per message, so every
message names its symbol and decodes on its own). Splitting a batch by
symbol is a stable NumPy sort on ``symbol_id``: no Python per tick.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from mdstream import _codec
from mdstream._core import RESULT_DTYPE

__all__ = ["split_by_symbol", "encode_part", "decode_message", "merge_parts", "EMPTY_ROWS"]

#: A batch with no rows (RESULT_DTYPE).
EMPTY_ROWS = np.empty(0, dtype=RESULT_DTYPE)


def split_by_symbol(rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(symbol id, that symbol's rows in seq order) for each symbol of a
    batch, by increasing symbol id. ``rows``: a RESULT_DTYPE array."""
    n = len(rows)
    if n == 0:
        return
    sids = rows["symbol_id"]
    first = sids[0]
    if (sids == first).all():
        yield int(first), rows
        return
    order = np.argsort(sids, kind="stable")
    ordered = sids[order]
    # One gather of the whole batch; each symbol's rows are then a slice
    # (a contiguous view), not a gather of its own.
    by_symbol = rows[order]
    cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [n]))
    for s, e in zip(starts.tolist(), ends.tolist()):
        yield int(ordered[s]), by_symbol[s:e]


def encode_part(rows: np.ndarray, names: Sequence[str]) -> bytes:
    """One message's payload: a ResultBatch frame of ``rows`` that names
    their symbol (``names``: symbol names by id)."""
    return _codec.BatchEncoder(names).encode(rows)


def decode_message(data: bytes) -> tuple[np.ndarray, dict[int, str]]:
    """A message's payload back to (RESULT_DTYPE rows, {symbol id: name});
    raises mdstream._codec.FrameError for bytes that are not a frame."""
    rows, symbols, _gap, _beat = _codec.decode_batch(data)
    return rows, symbols


def merge_parts(parts: list[np.ndarray]) -> np.ndarray:
    """The parts of one engine batch as one array in seq order."""
    if not parts:
        return EMPTY_ROWS
    if len(parts) == 1:
        return parts[0]
    # Copied into one array of the same dtype (np.concatenate of structured
    # arrays goes through a slow field-promotion path), then put in seq order.
    rows = np.empty(sum(len(p) for p in parts), dtype=RESULT_DTYPE)
    at = 0
    for part in parts:
        rows[at:at + len(part)] = part
        at += len(part)
    return rows.take(np.argsort(rows["seq"], kind="stable"))
