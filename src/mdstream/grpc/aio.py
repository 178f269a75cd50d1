"""AsyncClient: the Client for asyncio programs, and its streams.

    async with mdstream.AsyncClient("127.0.0.1:50051") as client:
        async for batch in client.stream_batches(["AAPL"], resume=True):
            ...

The streams follow the BatchStream protocol (mdstream.stream) with ``async
for`` and ``await stream.read_snapshot()``. Frames are decoded by the same
compiled codec and FrameDecoder as the sync client's; the decode of a frame
runs in the event loop (about 40 ns per tick). A resuming stream uses the
same ResumeLogic as the sync one (mdstream.grpc.resume).
"""

from __future__ import annotations

import asyncio
from typing import Iterable, Sequence

import grpc
import grpc.aio

from mdstream.batch import ResultBatch, Snapshot
from mdstream.errors import InvalidArgumentError, MDStreamError
from mdstream.grpc.contract import (
    CHANNEL_OPTIONS,
    DEFAULT_MAX_WAIT_S,
    bind_methods,
    channel_options,
    request_to_proto,
)
from mdstream.grpc.errors import RemoteError, translate_error
from mdstream.grpc.frames import FrameDecoder, snapshot_from_message, symbol_names
from mdstream.grpc.identity import STREAM_ID_KEY
from mdstream.grpc.resume import Reconnect, ResumeLogic, SnapshotMessages, resume_request
from mdstream.grpc.streams import decoded
from mdstream.request import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_TICKS_PER_FRAME, StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["AsyncClient", "AsyncBatchStream", "AsyncResultStream", "AsyncResumingBatchStream",
           "AsyncResumingResultStream"]


class _AsyncCallStream:
    """Common part of an asyncio server stream."""

    def __init__(self, call):
        self._call = call
        self._cancelled = False

    def cancel(self) -> None:
        """Leave the stream (the server frees the subscription at once)."""
        if not self._cancelled:
            self._cancelled = True
            self._call.cancel()

    close = cancel

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

    async def _read(self):
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
            raise translate_error(exc) from exc
        if message is grpc.aio.EOF:
            raise StopAsyncIteration
        return message

    def __aiter__(self):
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        self.cancel()


@decoded("symbols", "last_seq", "heartbeat", "snapshot", "frames", "bytes", "received", "missed")
class AsyncBatchStream(_AsyncCallStream):
    """The ResultBatch objects of one StreamBatches call, for ``async for``
    (the same attributes as mdstream.grpc.streams.BatchStream)."""

    def __init__(self, call, heartbeats: bool = False, snapshot: bool = False,
                 decoder: FrameDecoder | None = None):
        super().__init__(call)
        self.decoder = decoder if decoder is not None else FrameDecoder(heartbeats, snapshot)

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

    def stats(self) -> dict:
        """Counters: frames, bytes, received, missed, last_seq."""
        return self.decoder.counters()


class AsyncResultStream(_AsyncCallStream):
    """The Result messages of one StreamResults call, for ``async for``."""

    def __init__(self, call):
        super().__init__(call)
        self.received = 0

    async def __anext__(self) -> pb.Result:
        while True:
            message = await self._read()
            if message.heartbeat:       # liveness only (SubscribeRequest.result_heartbeats)
                continue
            self.received += 1
            return message

    def stats(self) -> dict:
        """Counters: received, missed (0: see Result.missed_before)."""
        return {"received": self.received, "missed": 0}


class _AsyncResuming(ResumeLogic):
    """The asyncio I/O of a resuming stream: connect, read, wait (the
    decisions are ResumeLogic's, as for the sync streams). Create it in the
    running loop."""

    def __init__(self, client: "AsyncClient", request, reconnect: Reconnect | None = None,
                 from_seq: int | None = None, snapshot: bool | None = None,
                 heartbeats: bool = False):
        super().__init__(resume_request(request, from_seq, snapshot), reconnect,
                         client.target, heartbeats)
        self._client = client
        self._identified = False
        self._stream = None
        self._cancelled = False
        self._wake = asyncio.Event()
        self._done = False

    def _open(self, request: pb.SubscribeRequest):
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
                await self._wait(self.failed(translate_error(exc)))
                continue
            self.took_snapshot(resp)

    async def _next_item(self):
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

    def __aiter__(self):
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        self.cancel()


class AsyncResumingBatchStream(_AsyncResuming):
    """A StreamBatches stream that reconnects and resumes by itself, for
    ``async for`` (see mdstream.grpc.resume: the same logic, counters and
    attributes as ResumingBatchStream)."""

    def _open(self, request: pb.SubscribeRequest) -> AsyncBatchStream:
        return AsyncBatchStream(self._client._stream_batches(request), decoder=self.decoder)

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
        return AsyncResultStream(self._client._stream_results(request))

    async def __anext__(self) -> pb.Result:
        if self.last_seq is None:
            await self._position()
        if self._queued:
            return self._queued.popleft()
        while True:
            msg = self.accept_result(await self._next_item())
            if msg is not None:
                return msg


class AsyncClient:
    """The Client for asyncio programs: the same calls, awaited.

        async with mdstream.AsyncClient("127.0.0.1:50051") as client:
            async for batch in client.stream_batches(["AAPL"]):
                ...

    Create it inside the running event loop. Errors, ``tls``, ``tls_cert``,
    ``tls_key``, ``credentials``, ``token`` and several targets (``fail_over()``)
    as for Client.
    """

    def __init__(self, target: str | Sequence[str] = "127.0.0.1:50051", *,
                 options: Sequence = (),
                 timeout: float = 10.0, tls=None, tls_cert: str | None = None,
                 tls_key: str | None = None, credentials=None, token: str | None = None):
        from mdstream.grpc.tls import client_security

        targets = [t.strip() for t in target.split(",")] if isinstance(target, str) else list(target)
        self.targets: list[str] = [t for t in targets if t]
        if not self.targets:
            raise InvalidArgumentError("no target given: host:port[,host:port...]")
        self.target = self.targets[0]
        self.timeout = timeout
        creds, metadata = client_security(credentials, tls, tls_cert, tls_key, token)
        options = channel_options(CHANNEL_OPTIONS, options)
        self._connect = lambda where: (
            grpc.aio.insecure_channel(where, options=options) if creds is None
            else grpc.aio.secure_channel(where, creds, options=options))
        self._metadata = metadata
        self._channels = {self.target: self._connect(self.target)}
        self._channel = self._channels[self.target]
        bind_methods(self, self._channel, metadata)

    def fail_over(self) -> bool:
        """Use the next target from now on (False: there is only one)."""
        if len(self.targets) < 2:
            return False
        self.target = self.targets[(self.targets.index(self.target) + 1) % len(self.targets)]
        if self.target not in self._channels:
            self._channels[self.target] = self._connect(self.target)
        self._channel = self._channels[self.target]
        bind_methods(self, self._channel, self._metadata)
        return True

    def __repr__(self) -> str:
        return f"<mdstream.AsyncClient {self.target}>"

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the channel is connected; RemoteError(UNAVAILABLE) if not in time."""
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            raise RemoteError(grpc.StatusCode.UNAVAILABLE,
                              f"no mdstream server answered at {self.target} within {timeout} s") from None

    def stream_batches(self, symbols: Iterable[str] | str | None = None, policy: str | None = None, *,
                       max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME,
                       max_wait: float = DEFAULT_MAX_WAIT_S,
                       heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL_S, from_seq: int | None = None,
                       snapshot: bool = False, resume=False, heartbeats: bool = False,
                       timeout: float | None = None):
        """Subscribe to columnar frames (see Client.stream_batches): an
        AsyncBatchStream, or with ``resume=True`` (or a Reconnect) an
        AsyncResumingBatchStream."""
        request = StreamRequest(symbols, policy, max_ticks_per_frame, max_wait,
                                heartbeat_interval, from_seq, snapshot)
        message = request_to_proto(request)
        if resume:
            if timeout is not None:
                raise InvalidArgumentError("timeout cannot be combined with resume")
            return AsyncResumingBatchStream(
                self, request, resume if isinstance(resume, Reconnect) else Reconnect(),
                heartbeats=heartbeats)
        return AsyncBatchStream(self._stream_batches(message, timeout=timeout), heartbeats,
                                snapshot)

    def stream_results(self, symbols: Iterable[str] | str | None = None, policy: str | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False, resume=False,
                       timeout: float | None = None):
        """Subscribe to one Result message per tick (see Client.stream_results):
        an AsyncResultStream, or with ``resume=True`` (or a Reconnect) an
        AsyncResumingResultStream."""
        request = StreamRequest(symbols, policy, from_seq=from_seq, snapshot=snapshot)
        message = request_to_proto(request)
        if resume:
            if timeout is not None:
                raise InvalidArgumentError("timeout cannot be combined with resume")
            return AsyncResumingResultStream(
                self, request, resume if isinstance(resume, Reconnect) else Reconnect())
        return AsyncResultStream(self._stream_results(message, timeout=timeout))

    async def snapshot(self, symbols: Iterable[str] | str | None = None) -> Snapshot:
        """The newest result of each symbol as of one sequence number."""
        if isinstance(symbols, str):
            symbols = [symbols]
        try:
            resp = await self._get_snapshot(pb.SnapshotRequest(symbols=list(symbols or ())),
                                            timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return snapshot_from_message(resp)

    async def list_symbols(self) -> list[str]:
        """The server's symbol names, by id."""
        try:
            resp = await self._list_symbols(pb.ListSymbolsRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        # By id; a token limited to some symbols sees those only (no gaps).
        return [name for name in symbol_names(resp) if name]

    async def close(self) -> None:
        """Close the channels (open streams end)."""
        for channel in self._channels.values():
            await channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
