"""The streams of one server call (sync): StreamBatches and StreamResults.

Both follow the BatchStream protocol's shape (mdstream.stream): iterate,
``close()`` (also ``cancel()``; safe twice and from another thread),
``stats()``; a BatchStream also has ``snapshot``, ``read_snapshot()`` and
``last_seq``. A failed call raises the mdstream exception its status stands
for (mdstream.grpc.errors.translate_error), with the gRPC status in ``.code``.
"""

from __future__ import annotations

import builtins
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import grpc

from mdstream.batch import ResultBatch, Snapshot
from mdstream.errors import MDStreamError
from mdstream.grpc.errors import translate_error
from mdstream.grpc.frames import FrameDecoder, Heartbeat
from mdstream.grpc.identity import stream_id_of_call
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["BatchStream", "ResultStream", "decoded", "ErrorTranslator"]

#: Turns a failed call into the mdstream exception to raise (the client's:
#: ConnectError for a failure to connect, else translate_error's).
ErrorTranslator = Callable[[grpc.RpcError], MDStreamError]

_C = TypeVar("_C", bound=type)
_S = TypeVar("_S", bound="_CallStream")


class _CallBase:
    """What a server stream keeps, sync or asyncio (_CallStream here,
    mdstream.grpc.aio_streams' _AsyncCallStream): its call, its error
    translator, cancel."""

    def __init__(self, call: Any, errors: ErrorTranslator = translate_error) -> None:
        self._call = call
        self._errors = errors
        self._cancelled = False
        self.started = time.monotonic()

    @property
    def cancelled(self) -> bool:
        """Whether cancel()/close() was called."""
        return self._cancelled

    def cancel(self) -> None:
        """Leave the stream (the server frees the subscription at once);
        safe to call twice (a sync stream: also from another thread)."""
        if not self._cancelled:
            self._cancelled = True
            self._call.cancel()

    close = cancel


class _CallStream(_CallBase):
    """Common part of a sync server stream: iteration, errors, cancel."""

    @property
    def stream_id(self) -> str | None:
        """The id of the stream the server serves (its initial metadata
        ``mdstream-stream-id``; None from an older server). Waits for the
        server's answer when none has arrived yet."""
        return stream_id_of_call(self._call)

    def _next_message(self) -> Any:
        if self._cancelled:
            raise StopIteration
        try:
            return next(self._call)
        except StopIteration:
            raise
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise self._errors(exc) from exc

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def decoded(*names: str) -> Callable[[_C], _C]:
    """Class decorator: read-only attributes that are the FrameDecoder's
    (``self.decoder``) of the same name."""
    def add(cls: _C) -> _C:
        for name in names:
            setattr(cls, name, property(lambda self, n=name: getattr(self.decoder, n),  # type: ignore[misc]  # one getter per name
                                        doc=f"The stream's {name} (see FrameDecoder)."))
        return cls
    return add


_DECODED = ("symbols", "last_seq", "heartbeat", "snapshot", "frames", "bytes", "received",
            "missed")


@decoded(*_DECODED)
class _DecodedStream(_CallBase):
    """What a StreamBatches stream keeps, sync or asyncio: its FrameDecoder
    (``decoder``: a new one, or one to continue), whose counters and
    attributes are the stream's."""

    def __init__(self, call: Any, heartbeats: bool = False, snapshot: bool = False,
                 decoder: FrameDecoder | None = None,
                 errors: ErrorTranslator = translate_error,
                 fields: tuple[str, ...] | None = None) -> None:
        super().__init__(call, errors)
        self.decoder = (decoder if decoder is not None
                        else FrameDecoder(heartbeats, snapshot, fields=fields))

    if TYPE_CHECKING:       # the decoder's, as properties (see @decoded)
        symbols: list[str | None]
        last_seq: int
        heartbeat: Heartbeat | None
        snapshot: Snapshot | None
        frames: int
        bytes: int
        received: int
        missed: int

    def stats(self) -> dict[str, Any]:
        """Counters: frames, bytes, received, missed, last_seq."""
        return self.decoder.counters()


class _ResultCounts(_CallBase):
    """What a StreamResults stream keeps, sync or asyncio: ``received``,
    ``last_seq``, the newest ``heartbeat``, and whether heartbeats are
    yielded."""

    snapshot = None

    def __init__(self, call: Any, heartbeats: bool = False,
                 errors: ErrorTranslator = translate_error) -> None:
        super().__init__(call, errors)
        self.heartbeats = heartbeats
        self.received = 0
        self.last_seq = -1
        self.heartbeat: Heartbeat | None = None

    def _took_heartbeat(self, msg: pb.Result) -> bool:
        """Take in a heartbeat message (liveness: SubscribeRequest.result_heartbeats);
        True if it is to be yielded too (``heartbeats=True``)."""
        self.heartbeat = Heartbeat(msg.last_seq, msg.server_time_ns, time.time_ns())
        self.last_seq = max(self.last_seq, msg.last_seq)
        return self.heartbeats

    def stats(self) -> dict[str, Any]:
        """Counters: received, missed (0: see Result.missed_before), last_seq."""
        return {"received": self.received, "missed": 0, "last_seq": self.last_seq}


class BatchStream(_DecodedStream, _CallStream):
    """The ResultBatch objects of one StreamBatches call (an iterator).

    ``symbols`` is this stream's id -> name list (it grows as names arrive;
    ids not seen yet are None); ``last_seq`` is the newest sequence number
    the stream has accounted for (results, gaps and heartbeats; -1 before
    any); ``heartbeat`` the newest Heartbeat. Gap notices arrive as
    ``batch.gap`` (possibly on an empty batch). With ``heartbeats=True``
    idle heartbeats are yielded as empty batches too, so a loop can act
    while the market is quiet.

    A stream opened with ``snapshot=True`` begins with a snapshot: read it
    with ``read_snapshot()`` (or the first next() takes it in); it is then
    in ``snapshot`` (an mdstream.Snapshot: ``as_of_seq`` and ``results``,
    the newest result of each symbol), and the batches that follow start at
    exactly ``snapshot.as_of_seq + 1``.

    ``decoder``: a FrameDecoder to continue (a resuming stream passes its
    own, so that what was learned outlives a connection).
    """

    def __repr__(self) -> str:
        return _repr(self, f"received={self.received} frames={self.frames} "
                           f"missed={self.missed} last_seq={self.last_seq}")

    def __iter__(self) -> "BatchStream":
        return self

    def __next__(self) -> ResultBatch:
        frame = self.decoder.frame
        while True:
            batch = frame(self._next_message())
            if batch is not None:
                return batch

    def read_snapshot(self) -> Snapshot | None:
        """The snapshot this stream began with (snapshot=True), receiving it
        if need be (it comes first, at once); None without snapshot=True.
        Raises MDStreamError if the stream ends before it."""
        while self.decoder.snapshot_pending:
            try:
                self.decoder.frame(self._next_message())
            except StopIteration:
                raise MDStreamError("the stream ended before its snapshot was received") from None
        return self.decoder.snapshot

    def raw_frames(self) -> Iterator[builtins.bytes]:
        """The undecoded frames (for measuring transport alone, or relaying)."""
        while True:
            try:
                data = self._next_message()
            except StopIteration:
                return
            self.decoder.frames += 1
            self.decoder.bytes += len(data)
            yield data


class ResultStream(_ResultCounts, _CallStream):
    """The Result messages of one StreamResults call (an iterator of
    mdstream.v1 ``Result`` protobuf messages). ``last_seq`` is the newest
    sequence number accounted for (results and heartbeats; -1 before any);
    ``heartbeat`` the newest Heartbeat: the server sends one after the
    request's heartbeat interval without results, and the stream takes it in
    without yielding it (``heartbeats=True``: yielded too, as a Result with
    ``heartbeat`` set, so a loop can act while the market is quiet)."""

    def __repr__(self) -> str:
        return _repr(self, f"received={self.received} last_seq={self.last_seq}")

    def __iter__(self) -> "ResultStream":
        return self

    def __next__(self) -> pb.Result:
        while True:
            msg = self._next_message()
            if msg.heartbeat:
                if self._took_heartbeat(msg):
                    return msg
                continue
            self.received += 1
            self.last_seq = msg.seq
            return msg

    def read_snapshot(self) -> None:
        """None: a StreamResults stream's snapshot comes as its first
        messages (flagged ``snapshot``)."""
        return None


def _repr(stream: _CallStream, counts: str) -> str:
    state = "cancelled" if stream.cancelled else "open"
    return f"<{type(stream).__name__} {state} {counts}>"
