"""EdgeSubscription: one client's stream of results, read from JetStream.

An ordered JetStream consumer (nats-py recreates it from the last stream
sequence it saw when a node goes away) delivers the messages from a start
position (mdstream.nats.edge.position). The messages of one engine batch (a
message per symbol) are gathered until the batch is whole, merged into seq
order and filtered to the client's symbols, so a client's ``last_seq`` means
what it means on ``mdstream serve``: every result at or below it was
delivered (or filtered out), and resuming at ``last_seq + 1`` on any edge
gives no gap and no duplicate. A jump in engine seqs between two batches
(results the publisher had to skip) becomes the next batch's Gap. A stream
of one symbol reads that symbol's subject only (a message is then all it
needs of a batch); it reports no gap notices.

The consumer pushes at the client's pace: when ``MAX_PENDING`` messages
wait here, the message callback waits, nats-py's pending queue fills and
JetStream's flow control stops sending. A slow client lags in the stream
(``lag``: messages JetStream has not delivered yet) and holds nobody back,
whatever its policy.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from typing import TYPE_CHECKING

import numpy as np

from mdstream.batch import Gap, ResultBatch, Snapshot
from mdstream.engine.subscription import StreamEnded
from mdstream.errors import SubscriptionClosedError
from mdstream.nats.frames import decode_message, merge_parts
from mdstream.nats.subjects import MessageSeqs

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from mdstream.request import StreamRequest

__all__ = ["EdgeSubscription", "MAX_PENDING"]

#: Messages a subscription holds before JetStream is made to wait.
MAX_PENDING = 1024

_ids = itertools.count(1)

log = logging.getLogger("mdstream.nats.edge")


class EdgeSubscription:
    """A stream of ResultBatch objects from JetStream (the part of
    mdstream.engine.Subscription the gRPC servicer uses: ``next_batch``,
    ``last_seq``, ``snapshot``, ``close``, ``closed``, ``counters``)."""

    def __init__(self, request: "StreamRequest", names, ids: set[int] | None, from_seq: int,
                 learn, on_close=None):
        self.id = next(_ids)
        self.request = request
        self.filter = None if request.symbols is None else list(request.symbols)
        self.policy = request.policy or "skip"
        self.snapshot: Snapshot | None = None
        self._names = names
        self._ids = None if ids is None else np.fromiter(ids, dtype=np.int32)
        self._id_set = frozenset(ids or ())
        self._learn = learn
        self._on_close = on_close
        self._cond = threading.Condition()
        self._inbox: collections.deque = collections.deque()
        self._closed = False
        self._error: BaseException | None = None
        self._ended = False
        self._from_seq = from_seq
        self._cursor = from_seq           # next engine seq not yet accounted for
        self._expect = from_seq           # the next batch should start here
        self._parts: list[np.ndarray] = []
        self._batch: MessageSeqs | None = None
        self._got = 0
        self._ready: collections.deque = collections.deque()    # (rows, batch_last, gap)
        self.nats_subscription: JetStreamContext.PushSubscription | None = None  # by EdgeSource
        #: One symbol: the consumer reads that symbol's subject only, and each
        #: message is whole on its own (batches without the symbol never come,
        #: so a jump in seqs is no gap notice there).
        self.single_subject = self._ids is not None and len(self._ids) == 1
        self.delivered = 0
        self.gaps = 0
        self.missed = 0
        self.incomplete_batches = 0
        #: Messages in the stream that are not mdstream frames (skipped; their
        #: results, if any, are reported as a gap).
        self.malformed = 0
        self._newest = None         # the newest message offered (its metadata: the lag)
        self._pending = 0

    def __repr__(self) -> str:
        what = "all symbols" if self.filter is None else ",".join(self.filter)
        return f"<EdgeSubscription #{self.id} {what} from seq {self._from_seq}>"

    # -- fed by the event loop ---------------------------------------------------

    def full(self) -> bool:
        return len(self._inbox) >= MAX_PENDING and not self._closed

    def offer(self, msg) -> None:
        """A message from the consumer (called on the event loop's thread)."""
        self._newest = msg
        with self._cond:
            self._inbox.append(msg)
            self._cond.notify()

    def fail(self, error: BaseException) -> None:
        """The consumer cannot go on: next_batch raises ``error``."""
        with self._cond:
            self._error = error
            self._cond.notify()

    def end(self) -> None:
        """The source stops: next_batch raises StreamEnded once drained."""
        with self._cond:
            self._ended = True
            self._cond.notify()

    # -- read by the gRPC handler's thread ----------------------------------------

    def _take(self, msg) -> None:
        try:
            seqs = MessageSeqs.of(msg.headers)
            rows, symbols = decode_message(msg.data or b"")
        except (ValueError, KeyError, TypeError) as exc:    # FrameError is a ValueError
            # Anyone allowed to publish on the subjects can put anything there:
            # skip it, never end the stream on it.
            self.malformed += 1
            if self.malformed == 1:
                log.warning("skipped a message of the stream that is not an mdstream frame "
                            "(stream seq %s): %s", _stream_seq(msg), exc)
            return
        if self._batch is not None and seqs.batch_last != self._batch.batch_last:
            self.incomplete_batches += 1           # a part never came: go on without it
            self._flush()
        if self._batch is None:
            self._batch = seqs
        self._learn(symbols, seqs.stream_id)
        self._got += 1
        if seqs.last >= self._cursor and len(rows):
            if seqs.first < self._cursor:
                rows = rows[rows["seq"] >= self._cursor]
            if self._ids is not None:
                rows = self._wanted(rows)
            if len(rows):
                self._parts.append(rows)
        if self._got >= seqs.parts or self.single_subject:
            self._flush()

    def _wanted(self, rows: np.ndarray) -> np.ndarray:
        """The rows of the client's symbols. A message holds one symbol (the
        publisher's always do): a set lookup then, np.isin only otherwise."""
        sids = rows["symbol_id"]
        if not len(sids):
            return rows
        first = int(sids[0])
        if (sids == first).all():
            return rows if first in self._id_set else rows[:0]
        assert self._ids is not None        # called only for a stream with a symbol filter
        return rows[np.isin(sids, self._ids)]

    def _flush(self) -> None:
        batch, parts = self._batch, self._parts
        self._batch, self._parts, self._got = None, [], 0
        if batch is None or batch.batch_last < self._cursor:
            return
        gap = None
        if batch.batch_first > self._expect and not self.single_subject:
            gap = (self._expect, batch.batch_first, batch.batch_first - self._expect)
            self.gaps += 1
            self.missed += gap[2]
        self._expect = batch.batch_last + 1
        self._ready.append((merge_parts(parts), batch.batch_last, gap))

    def _pop(self, max_ticks: int) -> ResultBatch:
        rows, batch_last, gap = self._ready[0]
        if len(rows) > max_ticks:
            head = rows[:max_ticks]
            self._ready[0] = (rows[max_ticks:], batch_last, None)
            self._cursor = int(head["seq"][-1]) + 1
            rows = head
        else:
            self._ready.popleft()
            self._cursor = batch_last + 1
        self.delivered += len(rows)
        return ResultBatch(rows, self._names, Gap(*gap) if gap is not None else None)

    def next_batch(self, timeout: float | None = None, max_ticks_per_frame: int = 0,
                   max_wait: float | None = None, adaptive: bool = False) -> ResultBatch | None:
        """The next batch (None when nothing came within ``timeout`` s).

        Raises SubscriptionClosedError after close(), StreamEnded when the
        edge stops and all that arrived was delivered, NatsError when the
        stream cannot be read any more. ``max_wait`` and ``adaptive`` are not
        used: batches come whole from JetStream, and are sent as they come.
        """
        max_ticks = max_ticks_per_frame or self.request.max_ticks_per_frame
        while True:
            while self._ready:
                rows = self._ready[0][0]
                if len(rows) == 0:           # filtered out whole: only the position moves
                    _rows, batch_last, gap = self._ready.popleft()
                    self._cursor = batch_last + 1
                    if gap is not None:
                        return ResultBatch(_rows, self._names, Gap(*gap))
                    continue
                return self._pop(max_ticks)
            with self._cond:
                if self._closed:
                    raise SubscriptionClosedError("the subscription was closed")
                if not self._inbox:
                    if self._error is not None:
                        raise self._error
                    if self._ended:
                        raise StreamEnded("the edge has stopped")
                    if not self._cond.wait(timeout):
                        return None
                    continue
                msgs = list(self._inbox)
                self._inbox.clear()
            for msg in msgs:
                self._take(msg)

    def close(self) -> None:
        """Leave; safe to call more than once and from another thread."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._on_close is not None:
            self._on_close(self)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_seq(self) -> int:
        """Every result at or below it was delivered or filtered out (-1: none)."""
        return self._cursor - 1

    @property
    def pending_in_stream(self) -> int:
        """Messages JetStream held for this stream, not delivered yet, as of
        the newest message (read from its metadata when asked, not per message)."""
        msg = self._newest
        if msg is not None:
            try:
                self._pending = msg.metadata.num_pending
            except Exception:
                pass
        return self._pending

    def counters(self) -> dict:
        """cursor, lag (messages JetStream holds for it, not yet delivered
        here, plus those waiting here), delivered, missed, gaps, disconnected."""
        return {"cursor": self._cursor, "lag": self.pending_in_stream + len(self._inbox),
                "delivered": self.delivered, "missed": self.missed, "gaps": self.gaps,
                "disconnected": False}


def _stream_seq(msg) -> object:
    try:
        return msg.metadata.sequence.stream
    except Exception:   # noqa: BLE001 - only for the log line
        return "?"
