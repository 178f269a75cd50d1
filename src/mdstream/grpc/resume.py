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

``Client.stream_batches(resume=True)`` and ``Client.stream_results(resume=True)``
return the streams of this module. When the connection drops or the server
goes away (UNAVAILABLE: a network failure, a server shutting down or killed),
the stream waits (exponential backoff with jitter, see :class:`Reconnect`)
and subscribes again with ``from_seq = last_seq + 1``: a server with a
journal replays what the stream missed, then goes live, so the caller sees
every sequence number once. Rows at or below ``last_seq`` that arrive anyway
are dropped (counted in ``duplicates``). What cannot be replayed - the
server's journal no longer holds it (OUT_OF_RANGE) - becomes a Gap notice on
the next batch (``batch.gap``; StreamResults: the next Result's
``missed_before``), and the stream goes on from the oldest result the server
holds. After ``Reconnect.give_up_after`` seconds without a working
connection, the stream raises :class:`ReconnectError`.

Where a stream begins: at ``from_seq`` if given; otherwise the stream first
asks the server for a snapshot (GetSnapshot, which returns the sequence
number it is as of) and subscribes from the next sequence number, so it
knows its position from the start. With ``snapshot=True`` that snapshot is
the stream's ``snapshot``.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import grpc
import numpy as np

from mdstream import _codec
from mdstream.batch import Gap, ResultBatch
from mdstream.grpc.client import Heartbeat, RemoteError, _snapshot, translate_error
from mdstream.batch import Snapshot
from mdstream.errors import InvalidArgumentError, OutOfRangeError, TooManySubscribersError
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["Reconnect", "ReconnectError", "ResumingBatchStream", "ResumingResultStream"]


@dataclass(frozen=True)
class Reconnect:
    """How a resuming stream reconnects.

    After a failure the stream waits ``initial_backoff`` seconds, then
    ``multiplier`` times longer after each further failure, up to
    ``max_backoff`` (each wait varies by +/- ``jitter``, a fraction, so that
    many clients do not come back in step). Once ``give_up_after`` seconds
    have passed since the connection was lost without a new one delivering
    anything, it raises ReconnectError. A connection that delivers a message
    (results, a heartbeat) resets both.

    Retried: UNAVAILABLE (and the codes in ``retry_codes``), and a server that
    has no stream slot free (TooManySubscribersError). Anything else (an
    invalid request, DATA_LOSS, a 'disconnect' subscriber found too slow) is
    raised at once.
    """

    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    multiplier: float = 2.0
    jitter: float = 0.2
    give_up_after: float = 60.0
    retry_codes: tuple = (grpc.StatusCode.UNAVAILABLE,)

    def __post_init__(self):
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise InvalidArgumentError(
                f"need 0 < initial_backoff <= max_backoff, got {self.initial_backoff} and "
                f"{self.max_backoff}")
        if self.multiplier < 1:
            raise InvalidArgumentError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter < 1:
            raise InvalidArgumentError(f"jitter must be in [0, 1), got {self.jitter}")
        if self.give_up_after <= 0:
            raise InvalidArgumentError(f"give_up_after must be > 0, got {self.give_up_after}")


class ReconnectError(RemoteError):
    """A resuming stream lost its connection and could not get a working one
    back within Reconnect.give_up_after seconds.

    ``last_seq`` is the newest sequence number the stream accounted for
    (resume later with ``from_seq=last_seq + 1``), ``attempts`` the
    connection attempts made, ``last_error`` the error of the last one.
    """

    def __init__(self, target: str, last_seq: int | None, attempts: int, down_for: float,
                 last_error: Exception):
        where = "before it had received anything" if last_seq is None else f"after seq {last_seq}"
        resume = "" if last_seq is None else f"; resume later with from_seq={last_seq + 1}"
        super().__init__(grpc.StatusCode.UNAVAILABLE,
                         f"lost the stream from {target} {where} and could not reconnect within "
                         f"{down_for:.1f} s ({attempts} attempts; last error: {last_error}){resume}")
        self.last_seq = last_seq
        self.attempts = attempts
        self.down_for = down_for
        self.last_error = last_error


class _Resuming:
    """The reconnect loop shared by the batch and per-result streams."""

    def __init__(self, client, request: pb.SubscribeRequest, reconnect: Reconnect,
                 from_seq: int | None, snapshot: bool):
        if from_seq is not None and (from_seq < 0 or snapshot):
            raise InvalidArgumentError(
                "from_seq must be >= 0, and cannot be combined with snapshot=True")
        self._client = client
        self._template = request            # symbols, policy, frame settings
        self._reconnect = reconnect
        self._want_snapshot = snapshot
        #: The newest sequence number accounted for: every result of this
        #: stream at or below it was yielded, reported in a gap, or filtered
        #: out by the server (None: the stream has no position yet).
        self.last_seq: int | None = None if from_seq is None else from_seq - 1
        #: With snapshot=True: the Snapshot the stream began with.
        self.snapshot: Snapshot | None = None
        self.reconnects = 0      # times a new connection was established after a failure
        self.attempts = 0        # connection attempts that failed
        self.gaps = 0            # gap notices yielded (server skips and unfillable resumes)
        self.missed = 0          # results reported missed by those gaps
        self.duplicates = 0      # results dropped because they were at or below last_seq
        self.received = 0        # results yielded
        self._pending: tuple[int, int, int] | None = None    # a gap for the next item
        self._call = None
        self._cancelled = threading.Event()
        self._done = False
        self._down_since: float | None = None
        self._delay = reconnect.initial_backoff
        self._rng = random.Random()

    # -- connection ------------------------------------------------------------

    def _rpc(self, request: pb.SubscribeRequest):
        raise NotImplementedError

    def _open(self) -> None:
        if self.last_seq is None:
            # No position yet: a snapshot gives one (its as_of_seq) atomically.
            resp = self._client._get_snapshot(
                pb.SnapshotRequest(symbols=list(self._template.symbols)),
                timeout=self._client.timeout)
            if self._want_snapshot:
                self.snapshot = _snapshot(resp)
                self._took_snapshot(resp)
            self.last_seq = int(resp.as_of_seq)
        request = pb.SubscribeRequest()
        request.CopyFrom(self._template)
        request.from_seq = self.last_seq + 1
        self._call = self._rpc(request)
        if self._cancelled.is_set():
            self._call.cancel()

    def _took_snapshot(self, resp: pb.Snapshot) -> None:
        """Hook: the snapshot the stream starts with was received."""

    def _retryable(self, error: Exception) -> bool:
        return (isinstance(error, TooManySubscribersError)
                or getattr(error, "code", None) in self._reconnect.retry_codes)

    def _failed(self, exc: grpc.RpcError) -> None:
        """Handle a failed call or connection attempt: note a gap and go on,
        wait before the next attempt, or raise."""
        self._call = None
        if self._cancelled.is_set():
            raise StopIteration
        error = translate_error(exc)
        if isinstance(error, OutOfRangeError) and self.last_seq is not None \
                and error.oldest > self.last_seq + 1:
            # The server no longer holds what we missed: report it, go on
            # from the oldest it has.
            self._gap(self.last_seq + 1, error.oldest, error.oldest - self.last_seq - 1)
            self.last_seq = error.oldest - 1
            return
        if not self._retryable(error):
            raise error from exc
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
            self._delay = self._reconnect.initial_backoff
        self.attempts += 1
        down_for = now - self._down_since
        if down_for >= self._reconnect.give_up_after:
            raise ReconnectError(self._client.target, self.last_seq, self.attempts, down_for,
                                 error) from exc
        j = self._reconnect.jitter
        wait = self._delay * (1 + self._rng.uniform(-j, j))
        wait = min(wait, self._reconnect.give_up_after - down_for)
        self._delay = min(self._delay * self._reconnect.multiplier, self._reconnect.max_backoff)
        if self._cancelled.wait(wait):
            raise StopIteration

    def _up(self) -> None:
        """A message arrived: the connection works."""
        if self._down_since is not None:
            self._down_since = None
            self.reconnects += 1

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

    def _next_message(self):
        """The next message of a working connection, reconnecting as needed."""
        while True:
            if self._done or self._cancelled.is_set():
                raise StopIteration
            try:
                if self._call is None:
                    self._open()
                message = next(self._call)
            except StopIteration:
                # The server ended the stream with OK: every result was delivered.
                self._done = True
                self._up()
                raise
            except grpc.RpcError as exc:
                self._failed(exc)
                continue
            self._up()
            return message

    # -- the caller's side -----------------------------------------------------

    def cancel(self) -> None:
        """Leave the stream (also from another thread, also while it waits
        to reconnect); iteration then ends. Safe to call twice."""
        self._cancelled.set()
        call = self._call
        if call is not None:
            call.cancel()

    close = cancel

    def __iter__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()

    def counters(self) -> dict:
        """reconnects, attempts, gaps, missed, duplicates, received, last_seq."""
        return {"reconnects": self.reconnects, "attempts": self.attempts, "gaps": self.gaps,
                "missed": self.missed, "duplicates": self.duplicates,
                "received": self.received, "last_seq": self.last_seq}


class ResumingBatchStream(_Resuming):
    """A StreamBatches stream that reconnects and resumes by itself (an
    iterator of ResultBatch; see the module docstring).

    ``symbols`` (id -> name), ``heartbeat``, ``frames`` and ``bytes`` are as
    on BatchStream, across connections; ``snapshot`` holds the starting
    snapshot with snapshot=True (``read_snapshot()`` returns it). Gap
    notices come as ``batch.gap``: skips of a 'skip' subscriber, and ranges
    the server could no longer replay after a reconnect (their ``missed`` is
    the count of sequence numbers lost; with a symbol filter, fewer of them
    may have been for these symbols).
    """

    def __init__(self, client, request: pb.SubscribeRequest, reconnect: Reconnect,
                 from_seq: int | None = None, snapshot: bool = False, heartbeats: bool = False):
        super().__init__(client, request, reconnect, from_seq, snapshot)
        self._heartbeats = heartbeats
        self.symbols: list[str | None] = []
        self.heartbeat: Heartbeat | None = None
        self.frames = 0
        self.bytes = 0

    def _rpc(self, request):
        return self._client._stream_batches(request)

    def _took_snapshot(self, resp) -> None:
        for r in resp.results:
            self._learn({r.symbol_id: r.symbol})

    def _learn(self, names: dict[int, str]) -> None:
        top = max(names)
        if top >= len(self.symbols):
            self.symbols.extend([None] * (top + 1 - len(self.symbols)))
        for sid, name in names.items():
            self.symbols[sid] = name

    def read_snapshot(self) -> Snapshot | None:
        """The snapshot the stream starts with (snapshot=True; None otherwise),
        connecting if need be."""
        while self._want_snapshot and self.snapshot is None:
            if self._cancelled.is_set():
                raise StopIteration
            try:
                self._open()
            except grpc.RpcError as exc:
                self._failed(exc)
        return self.snapshot

    def __next__(self) -> ResultBatch:
        while True:
            data = self._next_message()
            rows, names, gap, hb = _codec.decode_batch(data)
            self.frames += 1
            self.bytes += len(data)
            if names:
                self._learn(names)
            n = len(rows)
            if n and rows["seq"][0] <= self.last_seq:
                keep = rows["seq"] > self.last_seq
                kept = int(np.count_nonzero(keep))
                self.duplicates += n - kept
                rows = rows[keep]
                n = kept
            if gap is not None and gap[1] - 1 > self.last_seq:
                self._gap(*gap)                  # the server's skip notice
            if n:
                self.received += n
                self.last_seq = int(rows["seq"][n - 1])
            if gap is not None:
                self.last_seq = max(self.last_seq, gap[1] - 1)
            if hb is not None:
                self.heartbeat = Heartbeat(hb[0], hb[1], time.time_ns())
                self.last_seq = max(self.last_seq, hb[0])
            pending = self._take_pending()
            if n or pending is not None or (hb is not None and self._heartbeats):
                return ResultBatch(rows, self.symbols, Gap(*pending) if pending else None)


class ResumingResultStream(_Resuming):
    """A StreamResults stream that reconnects and resumes by itself (an
    iterator of mdstream.v1 ``Result`` messages; see the module docstring).

    With snapshot=True the first messages are the snapshot, one per symbol,
    flagged ``snapshot`` with ``as_of_seq`` set. Results the stream could not
    get back after a reconnect are added to the next Result's
    ``missed_before`` (as the server does for a 'skip' subscriber's skips).
    """

    def __init__(self, client, request: pb.SubscribeRequest, reconnect: Reconnect,
                 from_seq: int | None = None, snapshot: bool = False):
        super().__init__(client, request, reconnect, from_seq, snapshot)
        self._queued: list = []

    def _rpc(self, request):
        return self._client._stream_results(request)

    def _took_snapshot(self, resp) -> None:
        for r in resp.results:
            r.snapshot = True
            r.as_of_seq = resp.as_of_seq
        self._queued.extend(resp.results)

    def __next__(self) -> pb.Result:
        if self._queued:
            return self._queued.pop(0)
        while True:
            if self._want_snapshot and self.last_seq is None:
                self._next_snapshot()
                if self._queued:
                    return self._queued.pop(0)
            msg = self._next_message()
            if msg.snapshot:
                continue                    # not asked for from the server
            if msg.seq <= self.last_seq:
                self.duplicates += 1
                continue
            if msg.missed_before:
                self._gap(self.last_seq + 1, msg.seq, msg.missed_before)
            pending = self._take_pending()
            if pending is not None:
                msg.missed_before = pending[2]
            self.last_seq = msg.seq
            self.received += 1
            return msg

    def _next_snapshot(self) -> None:
        while self.last_seq is None:
            if self._cancelled.is_set():
                raise StopIteration
            try:
                self._open()
            except grpc.RpcError as exc:
                self._failed(exc)

    def read_snapshot(self) -> Snapshot | None:
        """The snapshot the stream starts with (snapshot=True; None otherwise)."""
        if self._want_snapshot:
            self._next_snapshot()
        return self.snapshot
