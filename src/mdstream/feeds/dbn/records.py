"""DBN records of one fixed layout, read as NumPy arrays straight from the file's bytes.

A historical DBN file holds one schema, so every record after the metadata
has the same size: its bytes can be viewed as a NumPy structured array with
no Python object per record. The layouts are those of the DBN specification
(https://databento.com/docs/standards-and-conventions/databento-binary-encoding),
identical in DBN versions 1 to 3 for these records; the test suite checks
them against databento-dbn's own (``size_hint``, and every value decoded by
``DBNDecoder``). The metadata header is decoded by databento-dbn. A block
whose records are not all of the expected type and size (live data, with
symbol mapping and system records among them) makes the reader fall back to
databento-dbn's decoder.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

import numpy as np

__all__ = ["TRADE_RECORD", "MBP1_RECORD", "RTYPES", "metadata_length", "raw_blocks"]

_HEADER = [("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"),
           ("ts_event", "<u8")]
_TRADE_BODY = [("price", "<i8"), ("size", "<u4"), ("action", "S1"), ("side", "S1"),
               ("flags", "u1"), ("depth", "u1"), ("ts_recv", "<u8"), ("ts_in_delta", "<i4"),
               ("sequence", "<u4")]

#: TradeMsg (rtype 0x00, 48 bytes) and MBP1Msg (rtype 0x01, 80 bytes).
TRADE_RECORD = np.dtype(_HEADER + _TRADE_BODY)
MBP1_RECORD = np.dtype(_HEADER + _TRADE_BODY + [
    ("bid_px_00", "<i8"), ("ask_px_00", "<i8"), ("bid_sz_00", "<u4"), ("ask_sz_00", "<u4"),
    ("bid_ct_00", "<u4"), ("ask_ct_00", "<u4")])

#: The rtype of each layout's records.
RTYPES = {TRADE_RECORD: 0x00, MBP1_RECORD: 0x01}

_PREFIX = struct.Struct("<3sBI")      # b"DBN", version, metadata length


def metadata_length(head: bytes) -> int | None:
    """Bytes of the metadata header (prefix included), from the first 8
    bytes of a DBN stream; None if they are not DBN's."""
    if len(head) < _PREFIX.size:
        return None
    magic, _version, length = _PREFIX.unpack_from(head)
    return _PREFIX.size + length if magic == b"DBN" else None


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def raw_blocks(stream: BinaryIO, dtype: np.dtype, records_per_block: int
               ) -> Iterator[tuple[np.ndarray | None, bytes]]:
    """Blocks of records from a stream positioned after the metadata:
    (array, b"") while every record of a block has ``dtype``'s rtype and
    size; (None, the block's bytes) at the first block that does not (the
    caller decodes the rest another way). A final partial record is left in
    the bytes of a last (None, ...) block so the caller can name it."""
    size = dtype.itemsize
    rtype = RTYPES[dtype]
    while True:
        data = _read_exactly(stream, size * records_per_block)
        if not data:
            return
        whole = len(data) // size * size
        recs = np.frombuffer(data, dtype=dtype, count=whole // size)
        if whole != len(data) or not ((recs["length"] == size // 4).all()
                                      and (recs["rtype"] == rtype).all()):
            yield None, data
            return
        yield recs, b""
