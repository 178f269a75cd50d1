"""Streams that outlive their connection: reconnect with backoff, resume from
the last sequence number, never yield a duplicate, report every gap.

    import mdstream

    with mdstream.Client("127.0.0.1:50051") as client:
        stream = client.stream_batches(["AAPL"], resume=True)
        for batch in stream:            # goes on across server restarts
            if batch.gap:
                print("lost", batch.gap.from_seq, "to", batch.gap.to_seq)
            ...
        print(stream.reconnects, stream.gaps)

``Client.stream_batches(resume=True)``, ``Client.stream_results(resume=True)``
and ``AsyncClient.stream_batches(resume=True)`` return resuming streams: a
wrapper over "open the stream at sequence number N". When the connection
drops or the server goes away (UNAVAILABLE: a network failure, a server
shutting down or killed), the stream waits (exponential backoff with jitter,
see :class:`Reconnect`) and opens the stream again with
``request.at(last_seq + 1)``: a server with a journal replays what the
stream missed, then goes live, so the caller sees every sequence number
once. Rows at or below ``last_seq`` that arrive anyway are dropped (counted
in ``duplicates``). What cannot be replayed - the server's journal no longer
holds it (OUT_OF_RANGE) - becomes a Gap notice on the next batch
(``batch.gap``; StreamResults: the next Result's ``missed_before``), and the
stream goes on from the oldest result the server holds. After
``Reconnect.give_up_after`` seconds without a working connection, the
stream raises :class:`ReconnectError`.

A stream resumes only the stream it was reading: the server names its
stream (``Engine.stream_id``, in GetSnapshot's answer and in every call's
initial metadata ``mdstream-stream-id``), the stream remembers the first id
it sees and sends it back (``SubscribeRequest.expect_stream_id``) on every
reconnect. A server that serves another stream now (restarted without a
journal, or on a new one: its sequence numbers mean other results) answers
FAILED_PRECONDITION / STREAM_CHANGED, and the stream raises
:class:`~mdstream.errors.StreamChangedError` instead of going on.

Where a stream begins: at ``from_seq`` if given; otherwise the stream first
asks the server for a snapshot (GetSnapshot, which returns the sequence
number it is as of) and subscribes from the next sequence number, so it
knows its position from the start. With ``snapshot=True`` that snapshot is
the stream's ``snapshot``.

:class:`ResumeLogic` is that logic without any I/O; the sync streams here
and the asyncio one in mdstream.grpc.aio only connect, read and wait.
"""

from __future__ import annotations

import collections
import dataclasses
import random
import threading
import time
from typing import Any

import grpc
import numpy as np

from mdstream.batch import Gap, ResultBatch, Snapshot
from mdstream.errors import (
    MDStreamError,
    OutOfRangeError,
    StreamChangedError,
    TooManySubscribersError,
)
from mdstream.grpc.connect import FailureLog
from mdstream.grpc.contract import request_from_proto, request_to_proto
from mdstream.grpc.errors import translate_error
from mdstream.grpc.frames import FrameDecoder, Heartbeat, snapshot_from_message
from mdstream.grpc.reconnect import Reconnect, ReconnectError
from mdstream.grpc.streams import BatchStream, ResultStream, decoded
from mdstream.request import StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["Reconnect", "ReconnectError", "ResumeLogic", "ResumingBatchStream",
           "ResumingResultStream", "SnapshotMessages", "resume_request"]


def resume_request(request: StreamRequest | pb.SubscribeRequest, from_seq: int | None = None,
                   snapshot: bool | None = None) -> StreamRequest:
    """A StreamRequest (from a SubscribeRequest message too), with
    ``from_seq``/``snapshot`` replaced when given."""
    if isinstance(request, pb.SubscribeRequest):
        request = request_from_proto(request)
    changes = {}
    if from_seq is not None:
        changes["from_seq"] = from_seq
    if snapshot is not None:
        changes["snapshot"] = snapshot
    return dataclasses.replace(request, **changes) if changes else request


@decoded("symbols", "heartbeat", "frames", "bytes")
class ResumeLogic:
    """What a resuming stream decides, without I/O: where to (re)open, what
    to do about a failure (a gap, a wait, or raise), which rows are
    duplicates, which gaps to report. Its counters: ``reconnects`` (new
    connections after a failure), ``attempts`` (connection attempts that
    failed), ``gaps`` (gap notices), ``missed`` (results those gaps
    reported), ``duplicates`` (results dropped: at or below last_seq),
    ``received`` (results yielded).

    ``client``: the Client (or AsyncClient) a stream's I/O uses, if any: a
    failure moves it to its next target (fail_over), and its errors are
    translated by it (ConnectError for a failure to connect)."""

    def __init__(self, request: StreamRequest, reconnect: Reconnect | None, target: str,
                 heartbeats: bool = False, client: Any = None):
        self.request = request
        self._client = client
        # The client's error translator (ConnectError for a failure to connect).
        self._errors = getattr(client, "_error", translate_error)
        self._reconnect = reconnect if reconnect is not None else Reconnect()
        self._target = target
        self._heartbeats = heartbeats
        self._want_snapshot = request.snapshot
        #: The newest sequence number accounted for: every result of this
        #: stream at or below it was yielded, reported in a gap, or filtered
        #: out by the server (None: the stream has no position yet).
        self.last_seq: int | None = None if request.from_seq is None else request.from_seq - 1
        #: With snapshot=True: the Snapshot the stream began with.
        self.snapshot: Snapshot | None = None
        #: The id of the stream this one reads (the server's Engine.stream_id;
        #: None until a server named it, or from a server too old to).
        self.stream_id: str | None = None
        #: Frames of every connection (batch streams): symbols, heartbeat, frames, bytes.
        self.decoder = FrameDecoder(heartbeats=True, fields=request.fields)
        self.reconnects = self.attempts = self.gaps = self.missed = 0
        self.duplicates = self.received = 0
        self._pending: tuple[int, int, int] | None = None    # a gap for the next item
        self._down_since: float | None = None
        self._delay = self._reconnect.initial_backoff
        self._rng = random.Random()
        self._failure_log = FailureLog(target)     # an outage is logged once, not per attempt

    # -- where to open ----------------------------------------------------------

    def snapshot_request(self) -> pb.SnapshotRequest:
        """The GetSnapshot call that gives a stream without from_seq its position."""
        return pb.SnapshotRequest(symbols=list(self.request.symbols or ()))

    def took_snapshot(self, resp: pb.Snapshot) -> None:
        """The position (and with snapshot=True the snapshot) from GetSnapshot."""
        if self._want_snapshot:
            self.snapshot = snapshot_from_message(resp)
            for r in resp.results:
                self.decoder.learn({r.symbol_id: r.symbol})
        self.learn_stream(resp.stream_id or None)
        self.last_seq = int(resp.as_of_seq)

    def learn_stream(self, stream_id: str | None) -> None:
        """The stream id a server named: remembered the first time; another
        one later raises StreamChangedError (None: the server did not say)."""
        if stream_id is None:
            return
        if self.stream_id is None:
            self.stream_id = stream_id
        elif stream_id != self.stream_id:
            raise StreamChangedError(self.stream_id, stream_id)

    def open_request(self) -> pb.SubscribeRequest:
        """The request of the next connection: the same, at last_seq + 1,
        expecting the same stream."""
        # the stream has a position (_position() ran) here
        message = request_to_proto(self.request.at(self.last_seq + 1))  # type: ignore[operator]
        if self.stream_id is not None:
            message.expect_stream_id = self.stream_id
        return message

    # -- failures ---------------------------------------------------------------

    def _retryable(self, error: Exception) -> bool:
        return (isinstance(error, TooManySubscribersError)
                or getattr(error, "code", None) in self._reconnect.retry_codes)

    def failed(self, error: MDStreamError) -> float:
        """A failed call or connection attempt: note a gap (returns 0: go on
        at once), or return the seconds to wait before the next attempt, or
        raise (the error itself, or ReconnectError)."""
        if isinstance(error, OutOfRangeError) and self.last_seq is not None \
                and error.oldest > self.last_seq + 1:
            # The server no longer holds what we missed: report it, go on
            # from the oldest it has.
            self._gap(self.last_seq + 1, error.oldest, error.oldest - self.last_seq - 1)
            self.last_seq = error.oldest - 1
            return 0.0
        if not self._retryable(error):
            raise error
        self._fail_over()
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
            self._delay = self._reconnect.initial_backoff
        self.attempts += 1
        self._failure_log.failed(error)
        down_for = now - self._down_since
        if down_for >= self._reconnect.give_up_after:
            raise ReconnectError(self._target, self.last_seq, self.attempts, down_for,
                                 error) from error
        j = self._reconnect.jitter
        wait = self._delay * (1 + self._rng.uniform(-j, j))
        wait = min(wait, self._reconnect.give_up_after - down_for)
        self._delay = min(self._delay * self._reconnect.multiplier, self._reconnect.max_backoff)
        return wait

    def _fail_over(self) -> None:
        """A connection failed: a client with several targets moves to the
        next one (Client.fail_over), so the stream resumes there."""
        hop = getattr(self._client, "fail_over", None)     # none: a client without fail_over
        if hop is not None and hop():
            self._target = self._failure_log.target = self._client.target

    def up(self) -> None:
        """A message arrived: the connection works."""
        if self._down_since is not None:
            self._down_since = None
            self.reconnects += 1
            self._failure_log.recovered()

    # -- what the caller gets ----------------------------------------------------

    def _gap(self, from_seq: int, to_seq: int, missed: int) -> None:
        self.gaps += 1
        self.missed += missed
        if self._pending is None:
            self._pending = (from_seq, to_seq, missed)
        else:
            f, t, m = self._pending
            self._pending = (min(f, from_seq), max(t, to_seq), m + missed)

    def _take_pending(self) -> tuple[int, int, int] | None:
        pending, self._pending = self._pending, None
        return pending

    def accept_batch(self, batch: ResultBatch) -> ResultBatch | None:
        """A batch of a connection (heartbeats included) as the caller gets
        it: without duplicates, with the gaps to report; None: nothing to yield."""
        rows, gap = batch.rows, batch.gap
        n = len(rows)
        beat = n == 0 and gap is None
        if n and rows["seq"][0] <= self.last_seq:
            keep = rows["seq"] > self.last_seq
            kept = int(np.count_nonzero(keep))
            self.duplicates += n - kept
            rows = rows[keep]
            n = kept
        # the stream has a position (_position() ran) here
        if gap is not None and gap.to_seq - 1 > self.last_seq:  # type: ignore[operator]
            self._gap(gap.from_seq, gap.to_seq, gap.missed)          # the server's skip notice
        if n:
            self.received += n
            self.last_seq = int(rows["seq"][n - 1])
        if gap is not None:
            # the stream has a position (_position() ran) here
            self.last_seq = max(self.last_seq, gap.to_seq - 1)  # type: ignore[type-var]
        if beat and self.decoder.heartbeat is not None:
            # the stream has a position (_position() ran) here
            self.last_seq = max(self.last_seq, self.decoder.heartbeat.last_seq)  # type: ignore[type-var]
        pending = self._take_pending()
        if n or pending is not None or (beat and self._heartbeats):
            return ResultBatch(rows, self.decoder.symbols, Gap(*pending) if pending else None,
                               self.decoder.fields)
        return None

    def accept_result(self, msg: pb.Result) -> pb.Result | None:
        """A Result of a connection as the caller gets it (None: a duplicate,
        a snapshot message not asked of the server, or a heartbeat, taken in
        as ``heartbeat``)."""
        if msg.heartbeat:
            self.decoder.heartbeat = Heartbeat(msg.last_seq, msg.server_time_ns, time.time_ns())
            if self.last_seq is not None:
                self.last_seq = max(self.last_seq, msg.last_seq)
            return None
        if msg.snapshot:
            return None
        # the stream has a position (_position() ran) here
        if msg.seq <= self.last_seq:  # type: ignore[operator]
            self.duplicates += 1
            return None
        if msg.missed_before:
            # the stream has a position (_position() ran) here
            self._gap(self.last_seq + 1, msg.seq, msg.missed_before)  # type: ignore[operator]
        pending = self._take_pending()
        if pending is not None:
            msg.missed_before = pending[2]
        self.last_seq = msg.seq
        self.received += 1
        return msg

    def counters(self) -> dict:
        """reconnects, attempts, gaps, missed, duplicates, received, last_seq."""
        return {"reconnects": self.reconnects, "attempts": self.attempts, "gaps": self.gaps,
                "missed": self.missed, "duplicates": self.duplicates,
                "received": self.received, "last_seq": self.last_seq}

    def stats(self) -> dict:
        """counters(), with the frames and bytes received."""
        return {**self.counters(), "frames": self.decoder.frames, "bytes": self.decoder.bytes}


class _SyncResuming(ResumeLogic):
    """The sync I/O of a resuming stream: connect, read, wait."""

    def __init__(self, client, request, reconnect: Reconnect | None = None,
                 from_seq: int | None = None, snapshot: bool | None = None,
                 heartbeats: bool = False):
        super().__init__(resume_request(request, from_seq, snapshot), reconnect,
                         client.target, heartbeats, client)
        self._stream = None
        self._identified = False
        self._cancelled = threading.Event()
        self._done = False

    def _open(self, request: pb.SubscribeRequest):
        raise NotImplementedError

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._cancelled.wait(seconds):
            raise StopIteration

    def _position(self) -> None:
        """Until the stream has a position: GetSnapshot (the snapshot loop)."""
        while self.last_seq is None:
            if self._cancelled.is_set():
                raise StopIteration
            try:
                resp = self._client._get_snapshot(self.snapshot_request(),
                                                  timeout=self._client.timeout)
            except grpc.RpcError as exc:
                self._wait(self.failed(self._errors(exc)))
                continue
            self.took_snapshot(resp)

    def _next_item(self):
        """The next item of a working connection, reconnecting as needed."""
        while True:
            if self._done or self._cancelled.is_set():
                raise StopIteration
            if self._stream is None:
                self._position()
                self._stream = self._open(self.open_request())
                self._identified = False
                if self._cancelled.is_set():
                    self._stream.cancel()
            try:
                item = next(self._stream)
            except StopIteration:
                if not self._cancelled.is_set():
                    # The server ended the stream with OK: every result was delivered.
                    self._done = True
                    self.up()
                raise
            except MDStreamError as error:
                self._stream = None
                if self._cancelled.is_set():
                    raise StopIteration from None
                self._wait(self.failed(error))
                continue
            if not self._identified:
                self._identified = True
                self.learn_stream(self._stream.stream_id)
            self.up()
            return item

    def read_snapshot(self) -> Snapshot | None:
        """The snapshot the stream starts with (snapshot=True; None
        otherwise), connecting if need be."""
        if self._want_snapshot:
            self._position()
        return self.snapshot

    def cancel(self) -> None:
        """Leave the stream (also from another thread, also while it waits
        to reconnect); iteration then ends. Safe to call twice."""
        self._cancelled.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()

    close = cancel

    def __repr__(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.counters().items())
        state = "cancelled" if self._cancelled.is_set() else "open"
        return f"<{type(self).__name__} {self._target} {state} {counts}>"

    def __iter__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


class ResumingBatchStream(_SyncResuming):
    """A StreamBatches stream that reconnects and resumes by itself (an
    iterator of ResultBatch, a BatchStream; see the module docstring).

    ``symbols`` (id -> name), ``heartbeat``, ``frames`` and ``bytes`` are as
    on BatchStream, across connections; ``snapshot`` holds the starting
    snapshot with snapshot=True (``read_snapshot()`` returns it). Gap
    notices come as ``batch.gap``: skips of a 'skip' subscriber, and ranges
    the server could no longer replay after a reconnect (their ``missed`` is
    the count of sequence numbers lost; with a symbol filter, fewer of them
    may have been for these symbols).
    """

    def _open(self, request: pb.SubscribeRequest) -> BatchStream:
        return BatchStream(self._client._stream_batches(request), decoder=self.decoder,
                           errors=self._errors)

    def __next__(self) -> ResultBatch:
        while True:
            batch = self.accept_batch(self._next_item())
            if batch is not None:
                return batch


class SnapshotMessages(ResumeLogic):
    """For the per-result resuming streams (sync and asyncio): with
    snapshot=True the snapshot's Result messages, flagged ``snapshot`` with
    ``as_of_seq`` set, are queued to be yielded first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._queued: collections.deque = collections.deque()

    def took_snapshot(self, resp: pb.Snapshot) -> None:
        super().took_snapshot(resp)
        if self._want_snapshot:
            for r in resp.results:
                r.snapshot = True
                r.as_of_seq = resp.as_of_seq
            self._queued.extend(resp.results)


class ResumingResultStream(SnapshotMessages, _SyncResuming):
    """A StreamResults stream that reconnects and resumes by itself (an
    iterator of mdstream.v1 ``Result`` messages; see the module docstring).

    With snapshot=True the first messages are the snapshot, one per symbol,
    flagged ``snapshot`` with ``as_of_seq`` set. Results the stream could not
    get back after a reconnect are added to the next Result's
    ``missed_before`` (as the server does for a 'skip' subscriber's skips).
    """

    def _open(self, request: pb.SubscribeRequest) -> ResultStream:
        # Heartbeats come through to accept_result, which takes them in.
        return ResultStream(self._client._stream_results(request), heartbeats=True,
                            errors=self._errors)

    def __next__(self) -> pb.Result:
        if self.last_seq is None:
            self._position()
        if self._queued:
            return self._queued.popleft()
        while True:
            msg = self.accept_result(self._next_item())
            if msg is not None:
                return msg
