"""The streams of an asyncio client (mdstream.grpc.aio.AsyncClient), for ``async for``.

AsyncBatchStream and AsyncResultStream are the asyncio forms of
mdstream.grpc.streams' BatchStream and ResultStream (the same attributes,
the same FrameDecoder); AsyncResumingBatchStream and
AsyncResumingResultStream reconnect and resume with the same ResumeLogic as
the sync ones (mdstream.grpc.resume). They follow the AsyncBatchStream
protocol of mdstream.stream.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import grpc.aio

from mdstream.batch import ResultBatch, Snapshot
from mdstream.errors import MDStreamError
from mdstream.grpc.identity import STREAM_ID_KEY
from mdstream.grpc.resume import Reconnect, ResumeLogic, SnapshotMessages, resume_request
from mdstream.grpc.streams import _CallBase, _DecodedStream, _ResultCounts
from mdstream.request import StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.grpc.aio import AsyncClient

__all__ = ["AsyncBatchStream", "AsyncResultStream", "AsyncResumingBatchStream",
           "AsyncResumingResultStream"]

_S = TypeVar("_S")


class _AsyncContext:
    """``async for`` and ``async with`` (which cancels the stream at its end)."""

    if TYPE_CHECKING:
        def cancel(self) -> None: ...

    def __aiter__(self: _S) -> _S:
        return self

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()


class _AsyncCallStream(_AsyncContext, _CallBase):
    """Common part of an asyncio server stream (its call, errors and
    cancel: mdstream.grpc.streams' _CallBase)."""

    async def stream_id(self) -> str | None:
        """The id of the stream the server serves (its initial metadata
        ``mdstream-stream-id``; None from an older server)."""
        try:
            metadata = await self._call.initial_metadata()
        except Exception:  # noqa: BLE001 - a call that failed may have none
            return None
        for key, value in metadata or ():
            if key == STREAM_ID_KEY:
                return value
        return None

    async def _read(self) -> Any:
        if self._cancelled:
            raise StopAsyncIteration
        try:
            message = await self._call.read()
        except asyncio.CancelledError:
            if self._cancelled:
                raise StopAsyncIteration from None
            raise
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() == grpc.StatusCode.CANCELLED:
                raise StopAsyncIteration from None
            raise self._errors(exc) from exc
        if message is grpc.aio.EOF:
            raise StopAsyncIteration
        return message

    def __repr__(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.stats().items())
        return f"<{type(self).__name__} {'cancelled' if self._cancelled else 'open'} {counts}>"

    def stats(self) -> dict[str, Any]:
        raise NotImplementedError


class AsyncBatchStream(_DecodedStream, _AsyncCallStream):
    """The ResultBatch objects of one StreamBatches call, for ``async for``
    (the same attributes as mdstream.grpc.streams.BatchStream)."""

    async def __anext__(self) -> ResultBatch:
        while True:
            batch = self.decoder.frame(await self._read())
            if batch is not None:
                return batch

    async def read_snapshot(self) -> Snapshot | None:
        """The snapshot this stream began with (snapshot=True; see
        BatchStream.read_snapshot)."""
        while self.decoder.snapshot_pending:
            try:
                self.decoder.frame(await self._read())
            except StopAsyncIteration:
                raise MDStreamError("the stream ended before its snapshot was received") from None
        return self.decoder.snapshot


class AsyncResultStream(_ResultCounts, _AsyncCallStream):
    """The Result messages of one StreamResults call, for ``async for``
    (the same attributes as mdstream.grpc.streams.ResultStream: ``last_seq``,
    ``heartbeat``, and heartbeats yielded with ``heartbeats=True``)."""

    async def __anext__(self) -> pb.Result:
        while True:
            message = await self._read()
            if message.heartbeat:
                if self._took_heartbeat(message):
                    return message
                continue
            self.received += 1
            self.last_seq = message.seq
            return message

    async def read_snapshot(self) -> None:
        """None: a StreamResults stream's snapshot comes as its first
        messages (flagged ``snapshot``)."""
        return None


class _AsyncResuming(_AsyncContext, ResumeLogic):
    """The asyncio I/O of a resuming stream: connect, read, wait (the
    decisions are ResumeLogic's, as for the sync streams). Create it in the
    running loop."""

    _client: "AsyncClient"          # set by ResumeLogic; typed for this class

    def __init__(self, client: "AsyncClient", request: StreamRequest | pb.SubscribeRequest,
                 reconnect: Reconnect | None = None, from_seq: int | None = None,
                 snapshot: bool | None = None, heartbeats: bool = False) -> None:
        super().__init__(resume_request(request, from_seq, snapshot), reconnect,
                         client.target, heartbeats, client)
        self._identified = False
        self._stream: Any = None
        self._cancelled = False
        self._wake = asyncio.Event()
        self._done = False

    def _open(self, request: pb.SubscribeRequest) -> Any:
        raise NotImplementedError

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            try:
                await asyncio.wait_for(self._wake.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        if self._cancelled:
            raise StopAsyncIteration

    async def _position(self) -> None:
        """Until the stream has a position: GetSnapshot."""
        while self.last_seq is None:
            if self._cancelled:
                raise StopAsyncIteration
            try:
                resp = await self._client._get_snapshot(self.snapshot_request(),
                                                        timeout=self._client.timeout)
            except grpc.RpcError as exc:
                await self._wait(self.failed(self._errors(exc)))
                continue
            self.took_snapshot(resp)

    async def _next_item(self) -> Any:
        """The next item of a working connection, reconnecting as needed."""
        while True:
            if self._done or self._cancelled:
                raise StopAsyncIteration
            if self._stream is None:
                await self._position()
                self._stream = self._open(self.open_request())
                self._identified = False
            try:
                item = await self._stream.__anext__()
            except StopAsyncIteration:
                if not self._cancelled:
                    self._done = True       # the server ended the stream with OK
                    self.up()
                raise
            except MDStreamError as error:
                self._stream = None
                if self._cancelled:
                    raise StopAsyncIteration from None
                await self._wait(self.failed(error))
                continue
            if not self._identified:
                self._identified = True
                self.learn_stream(await self._stream.stream_id())
            self.up()
            return item

    async def read_snapshot(self) -> Snapshot | None:
        """The snapshot the stream starts with (snapshot=True; None otherwise)."""
        if self._want_snapshot:
            await self._position()
        return self.snapshot

    def cancel(self) -> None:
        """Leave the stream (also while it waits to reconnect); iteration
        then ends. Safe to call twice."""
        self._cancelled = True
        self._wake.set()
        if self._stream is not None:
            self._stream.cancel()

    close = cancel

    def __repr__(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.counters().items())
        state = "cancelled" if self._cancelled else "open"
        return f"<{type(self).__name__} {self._target} {state} {counts}>"


class AsyncResumingBatchStream(_AsyncResuming):
    """A StreamBatches stream that reconnects and resumes by itself, for
    ``async for`` (see mdstream.grpc.resume: the same logic, counters and
    attributes as ResumingBatchStream)."""

    def _open(self, request: pb.SubscribeRequest) -> AsyncBatchStream:
        return AsyncBatchStream(self._client._stream_batches(request), decoder=self.decoder,
                                errors=self._errors)

    async def __anext__(self) -> ResultBatch:
        while True:
            batch = self.accept_batch(await self._next_item())
            if batch is not None:
                return batch


class AsyncResumingResultStream(SnapshotMessages, _AsyncResuming):
    """A StreamResults stream that reconnects and resumes by itself, for
    ``async for`` (as ResumingResultStream: snapshot messages first with
    snapshot=True, results lost across a reconnect in the next Result's
    ``missed_before``)."""

    def _open(self, request: pb.SubscribeRequest) -> AsyncResultStream:
        # Heartbeats come through to accept_result, which takes them in.
        return AsyncResultStream(self._client._stream_results(request), heartbeats=True,
                                 errors=self._errors)

    async def __anext__(self) -> pb.Result:
        if self.last_seq is None:
            await self._position()
        if self._queued:
            return self._queued.popleft()
        while True:
            msg = self.accept_result(await self._next_item())
            if msg is not None:
                return msg
