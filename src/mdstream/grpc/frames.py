"""Decoding what a server sends: StreamBatches frames, snapshots, symbol lists.

A :class:`FrameDecoder` turns the frames of a StreamBatches stream into
ResultBatch objects and keeps what the stream learns from them: symbol names
(sent once per stream, with the first result of a symbol), the newest
sequence number accounted for, heartbeats, gap notices, the snapshot a
stream may start with. The plain streams (sync and asyncio) own one; a
resuming stream keeps one across its connections.
"""

from __future__ import annotations

import time

import numpy as np

from mdstream import _codec
from mdstream._core import RESULT_DTYPE
from mdstream.batch import Gap, ResultBatch, Snapshot
from mdstream.errors import MDStreamError
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["Heartbeat", "FrameDecoder", "snapshot_from_message", "symbol_names"]


class Heartbeat:
    """The newest heartbeat of a batch stream: the stream is alive and had
    sent everything up to ``last_seq`` at the server's time ``server_time_ns``
    (``received_ns``: this machine's time of receipt, ns since the epoch)."""

    __slots__ = ("last_seq", "server_time_ns", "received_ns")

    def __init__(self, last_seq: int, server_time_ns: int, received_ns: int):
        self.last_seq = last_seq
        self.server_time_ns = server_time_ns
        self.received_ns = received_ns

    def __repr__(self) -> str:
        return f"Heartbeat(last_seq={self.last_seq}, server_time_ns={self.server_time_ns})"


class FrameDecoder:
    """The state a StreamBatches stream builds from its frames.

    ``symbols``: id -> name (grows as names arrive; ids not seen yet are
    None); ``last_seq``: the newest sequence number accounted for (results,
    gaps, heartbeats; -1 before any); ``heartbeat``: the newest Heartbeat;
    ``snapshot``: the Snapshot a ``snapshot=True`` stream began with, once
    received; ``frames``, ``bytes``, ``received`` (results), ``missed``
    (results skipped by a 'skip' subscriber, from gap notices).
    """

    def __init__(self, heartbeats: bool = False, snapshot: bool = False):
        self.heartbeats = heartbeats
        self.snapshot: Snapshot | None = None
        self.snapshot_pending = snapshot       # snapshot frames still to come
        self._snapshot_parts: list = []
        self.symbols: list[str | None] = []
        self.last_seq = -1
        self.heartbeat: Heartbeat | None = None
        self.frames = 0
        self.bytes = 0
        self.received = 0
        self.missed = 0

    def learn(self, names: dict[int, str]) -> None:
        """Take in symbol names by id."""
        top = max(names)
        if top >= len(self.symbols):
            self.symbols.extend([None] * (top + 1 - len(self.symbols)))
        for sid, name in names.items():
            self.symbols[sid] = name

    def _snapshot_frame(self, data: bytes) -> None:
        fence = pb.ResultBatch.FromString(data)
        if not fence.HasField("snapshot"):
            raise MDStreamError(
                "the server did not send the snapshot it was asked for first (a server that "
                "does not know SubscribeRequest.snapshot?); subscribe without snapshot=True "
                "and call snapshot() instead")
        rows, names, _, _ = _codec.decode_batch(data)
        self.frames += 1
        self.bytes += len(data)
        if names:
            self.learn(names)
        self._snapshot_parts.append(rows)
        if fence.snapshot.last:
            parts, self._snapshot_parts = self._snapshot_parts, []
            self.snapshot_pending = False
            as_of = fence.snapshot.as_of_seq
            self.snapshot = Snapshot(as_of, ResultBatch(np.concatenate(parts), self.symbols))
            self.last_seq = max(self.last_seq, as_of)

    def frame(self, data: bytes) -> ResultBatch | None:
        """The batch of a frame; None for a snapshot frame, or for a heartbeat
        when heartbeats are not to be yielded (``heartbeats=False``)."""
        if self.snapshot_pending:
            self._snapshot_frame(data)
            return None
        rows, names, gap, hb = _codec.decode_batch(data)
        self.frames += 1
        self.bytes += len(data)
        if names:
            self.learn(names)
        n = len(rows)
        if n:
            self.received += n
            self.last_seq = int(rows["seq"][n - 1])
        if gap is not None:
            self.missed += gap[2]
            self.last_seq = max(self.last_seq, gap[1] - 1)
        if hb is not None:
            self.heartbeat = Heartbeat(hb[0], hb[1], time.time_ns())
            self.last_seq = max(self.last_seq, hb[0])
            if not self.heartbeats and n == 0 and gap is None:
                return None
        return ResultBatch(rows, self.symbols, Gap(*gap) if gap is not None else None)

    def counters(self) -> dict:
        """frames, bytes, received, missed, last_seq."""
        return {"frames": self.frames, "bytes": self.bytes, "received": self.received,
                "missed": self.missed, "last_seq": self.last_seq}


def snapshot_from_message(resp: pb.Snapshot) -> Snapshot:
    """A Snapshot message (GetSnapshot) as an mdstream.Snapshot: ``as_of_seq``
    and ``results``, a ResultBatch of RESULT_DTYPE rows, one per symbol."""
    rows = np.zeros(len(resp.results), dtype=RESULT_DTYPE)
    names: list[str | None] = []
    for i, r in enumerate(resp.results):
        for field in RESULT_DTYPE.names or ():
            rows[field][i] = getattr(r, field)
        if r.symbol_id >= len(names):
            names.extend([None] * (r.symbol_id + 1 - len(names)))
        names[r.symbol_id] = r.symbol
    return Snapshot(resp.as_of_seq, ResultBatch(rows, names))


def symbol_names(resp: pb.ListSymbolsResponse) -> list[str]:
    """The names of a ListSymbols answer, by id."""
    names = [""] * len(resp.symbols)
    for s in resp.symbols:
        if s.id >= len(names):
            names.extend([""] * (s.id + 1 - len(names)))
        names[s.id] = s.name
    return names
