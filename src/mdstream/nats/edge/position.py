"""Where an edge starts reading: engine seq -> JetStream message, and snapshots.

Every message carries the engine batch it belongs to (``Mdstream-Batch-Last``),
non-decreasing in JetStream order (mdstream.nats.subjects), so the first
message of the batch holding engine seq N is found by a binary search of
direct gets: about log2(messages) requests, 25 for 30 million messages.

A snapshot is one ephemeral consumer with deliver policy "last per
subject": JetStream hands it the newest message of every symbol as of one
moment. Its newest batch may not be stored whole yet (the publisher sends a
batch's messages together): the snapshot waits for the rest of that batch,
so ``as_of_seq`` is a batch's last seq and every symbol's row is its newest
at or below it. The stream then continues right after, at ``as_of_seq + 1``.

Sources: direct get and "last per subject" delivery,
https://docs.nats.io/nats-concepts/jetstream/consumers (DeliverPolicy) and
https://github.com/nats-io/nats-architecture-and-design ADR-31 (direct get).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from mdstream.errors import OutOfRangeError
from mdstream.nats.stream import NatsError, stored_seqs
from mdstream.nats.subjects import MessageSeqs

__all__ = ["Start", "start_of", "live_start", "SnapshotMessages", "take_snapshot"]

#: Seconds a snapshot waits for the rest of its newest batch.
BATCH_WAIT_S = 2.0


@dataclass(frozen=True)
class Start:
    """Read from JetStream message ``stream_seq``, dropping rows below
    engine seq ``from_seq`` (the batch it starts in may begin earlier)."""

    stream_seq: int
    from_seq: int


async def _state(js, stream: str):
    info = await js.stream_info(stream)
    return info.state


async def _seqs_at_or_after(js, stream: str, seq: int, last: int) -> tuple[int, MessageSeqs]:
    """The first message stored at or after JetStream seq ``seq`` (messages
    may have been deleted one by one)."""
    for s in range(seq, last + 1):
        found = await stored_seqs(js, stream, s)
        if found is not None:
            return s, found
    raise NatsError(f"JetStream stream {stream!r} has no message from seq {seq} to {last}")


async def live_start(js, stream: str) -> Start:
    """Start after the newest batch stored (a stream without ``from_seq``):
    messages of a batch cut in two by the moment are skipped, so the stream
    begins at a batch boundary."""
    state = await _state(js, stream)
    if not state.messages:
        return Start(max(1, state.last_seq + 1), 0)
    last = await stored_seqs(js, stream, state.last_seq)
    if last is None:
        return Start(state.last_seq + 1, 0)
    return Start(state.last_seq + 1, last.batch_last + 1)


async def start_of(js, stream: str, from_seq: int) -> Start:
    """Where engine seq ``from_seq`` is stored. OutOfRangeError (``oldest``)
    when the stream no longer holds it; a seq beyond the newest is waited for."""
    state = await _state(js, stream)
    if not state.messages:
        return Start(max(1, state.last_seq + 1), from_seq)
    first, last = state.first_seq, state.last_seq
    f_seq, f = await _seqs_at_or_after(js, stream, first, last)
    # The first message may be the tail of a batch whose head was removed
    # (limits): that batch is not whole any more.
    oldest = f.batch_first if f.part == 0 else f.batch_last + 1
    if from_seq < oldest:
        raise OutOfRangeError(
            f"seq {from_seq} is older than the JetStream stream {stream!r} holds "
            f"(oldest seq {oldest}); resume from there or later", oldest)
    newest = await stored_seqs(js, stream, last)
    if newest is not None and from_seq > newest.batch_last:
        return Start(last + 1, from_seq)
    # Smallest JetStream seq whose batch ends at or after from_seq (a
    # deleted message counts as the next one stored: still non-decreasing).
    lo, hi = f_seq, last
    while lo < hi:
        mid = (lo + hi) // 2
        _m_seq, m = await _seqs_at_or_after(js, stream, mid, hi)
        if m.batch_last >= from_seq:
            hi = mid
        else:
            lo = mid + 1
    return Start(lo, from_seq)


@dataclass(frozen=True)
class SnapshotMessages:
    """The newest message of each subject as of ``as_of_seq`` (-1: the
    stream is empty): {subject: payload}; the stream continues at
    ``next.stream_seq`` from engine seq ``next.from_seq``; ``stream_id``
    of the messages ("" when empty)."""

    as_of_seq: int
    payloads: dict
    next: Start
    stream_id: str


async def take_snapshot(js, stream: str, subject_prefix: str) -> SnapshotMessages:
    """The newest message per symbol, as of one batch boundary (module doc)."""
    from nats.js import api

    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
                                ack_policy=api.AckPolicy.NONE, inactive_threshold=30.0,
                                mem_storage=True, num_replicas=1)
    psub = await js.pull_subscribe(f"{subject_prefix}.>", stream=stream, config=config)
    try:
        info = await psub.consumer_info()
        pending = info.num_pending
        latest: dict[str, tuple[MessageSeqs, bytes]] = {}
        as_of, last_js = -1, 0
        got = 0
        while got < pending:
            for msg in await psub.fetch(min(pending - got, 1024), timeout=5):
                got += 1
                seqs = MessageSeqs.of(msg.headers)
                latest[msg.subject] = (seqs, msg.data)
                as_of = max(as_of, seqs.batch_last)
                last_js = max(last_js, msg.metadata.sequence.stream)
        if not latest:
            state = await _state(js, stream)
            return SnapshotMessages(-1, {}, Start(max(1, state.last_seq + 1), 0), "")
        parts = {s.part for s, _ in latest.values() if s.batch_last == as_of}
        total = next(s.parts for s, _ in latest.values() if s.batch_last == as_of)
        deadline = time.monotonic() + BATCH_WAIT_S
        while len(parts) < total and time.monotonic() < deadline:
            try:
                msgs = await psub.fetch(total - len(parts), timeout=max(0.05, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            for msg in msgs:
                seqs = MessageSeqs.of(msg.headers)
                if seqs.batch_last != as_of:      # a part lost for good: go on without it
                    deadline = 0
                    break
                latest[msg.subject] = (seqs, msg.data)
                parts.add(seqs.part)
                last_js = max(last_js, msg.metadata.sequence.stream)
        stream_id = next(iter(latest.values()))[0].stream_id
        return SnapshotMessages(as_of, {subj: data for subj, (_s, data) in latest.items()},
                                Start(last_js + 1, as_of + 1), stream_id)
    finally:
        try:
            await psub.unsubscribe()
            await js.delete_consumer(stream, info.name)
        except Exception:
            pass       # an ephemeral consumer also goes by itself (inactive_threshold)
