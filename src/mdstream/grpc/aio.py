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
import time
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, TypeVar, overload

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2

from mdstream.batch import ResultBatch, Snapshot
from mdstream.errors import MDStreamError
from mdstream.grpc.calls import (
    DEFAULT_TIMEOUT_S,
    HEALTH_CHECK,
    ClientSetup,
    Resume,
    Symbols,
    health_request,
    read_health,
    read_symbols,
    resume_policy,
    snapshot_request,
    stream_request,
)
from mdstream.grpc.connect import ClientState, ConnectError
from mdstream.grpc.contract import DEFAULT_MAX_WAIT_S, bind_methods
from mdstream.grpc.errors import RemoteError, translate_error
from mdstream.grpc.frames import FrameDecoder, Heartbeat, snapshot_from_message
from mdstream.grpc.identity import STREAM_ID_KEY
from mdstream.grpc.resume import Reconnect, ResumeLogic, SnapshotMessages, resume_request
from mdstream.grpc.stats import RemoteStats, read_stats
from mdstream.grpc.streams import ErrorTranslator, decoded
from mdstream.request import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_TICKS_PER_FRAME, Policy, StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

_S = TypeVar("_S")

__all__ = ["AsyncClient", "AsyncBatchStream", "AsyncResultStream", "AsyncResumingBatchStream",
           "AsyncResumingResultStream"]


class _AsyncCallStream:
    """Common part of an asyncio server stream."""

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

    def __aiter__(self: _S) -> _S:
        return self

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.stats().items())
        return f"<{type(self).__name__} {'cancelled' if self._cancelled else 'open'} {counts}>"

    def stats(self) -> dict[str, Any]:
        raise NotImplementedError


@decoded("symbols", "last_seq", "heartbeat", "snapshot", "frames", "bytes", "received", "missed")
class AsyncBatchStream(_AsyncCallStream):
    """The ResultBatch objects of one StreamBatches call, for ``async for``
    (the same attributes as mdstream.grpc.streams.BatchStream)."""

    def __init__(self, call: Any, heartbeats: bool = False, snapshot: bool = False,
                 decoder: FrameDecoder | None = None,
                 errors: ErrorTranslator = translate_error) -> None:
        super().__init__(call, errors)
        self.decoder = decoder if decoder is not None else FrameDecoder(heartbeats, snapshot)

    if TYPE_CHECKING:       # the decoder's, as properties (see @decoded)
        symbols: list[str | None]
        last_seq: int
        heartbeat: Heartbeat | None
        snapshot: Snapshot | None
        frames: int
        bytes: int
        received: int
        missed: int

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

    def stats(self) -> dict[str, Any]:
        """Counters: frames, bytes, received, missed, last_seq."""
        return self.decoder.counters()


class AsyncResultStream(_AsyncCallStream):
    """The Result messages of one StreamResults call, for ``async for``
    (the same attributes as mdstream.grpc.streams.ResultStream: ``last_seq``,
    ``heartbeat``, and heartbeats yielded with ``heartbeats=True``)."""

    snapshot = None

    def __init__(self, call: Any, heartbeats: bool = False,
                 errors: ErrorTranslator = translate_error) -> None:
        super().__init__(call, errors)
        self.heartbeats = heartbeats
        self.received = 0
        self.last_seq = -1
        self.heartbeat: Heartbeat | None = None

    async def __anext__(self) -> pb.Result:
        while True:
            message = await self._read()
            if message.heartbeat:       # liveness (SubscribeRequest.result_heartbeats)
                self.heartbeat = Heartbeat(message.last_seq, message.server_time_ns,
                                           time.time_ns())
                self.last_seq = max(self.last_seq, message.last_seq)
                if self.heartbeats:
                    return message
                continue
            self.received += 1
            self.last_seq = message.seq
            return message

    async def read_snapshot(self) -> None:
        """None: a StreamResults stream's snapshot comes as its first
        messages (flagged ``snapshot``)."""
        return None

    def stats(self) -> dict[str, Any]:
        """Counters: received, missed (0: see Result.missed_before), last_seq."""
        return {"received": self.received, "missed": 0, "last_seq": self.last_seq}


class _AsyncResuming(ResumeLogic):
    """The asyncio I/O of a resuming stream: connect, read, wait (the
    decisions are ResumeLogic's, as for the sync streams). Create it in the
    running loop."""

    def __init__(self, client: "AsyncClient", request: StreamRequest | pb.SubscribeRequest,
                 reconnect: Reconnect | None = None, from_seq: int | None = None,
                 snapshot: bool | None = None, heartbeats: bool = False) -> None:
        super().__init__(resume_request(request, from_seq, snapshot), reconnect,
                         client.target, heartbeats)
        self._client = client
        # The client's error translator (ConnectError for a failure to connect).
        self._errors = getattr(client, "_error", translate_error)
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

    def __aiter__(self: _S) -> _S:
        return self

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.counters().items())
        return f"<{type(self).__name__} {'cancelled' if self._cancelled else 'open'} {counts}>"


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


class AsyncClient:
    """The Client for asyncio programs: the same calls, awaited.

        async with mdstream.AsyncClient("127.0.0.1:50051") as client:
            async for batch in client.stream_batches(["AAPL"]):
                ...

    Create it inside the running event loop. Arguments, errors (ConnectError
    at once when nothing listens, TLS mismatch ...), ``tls``, ``tls_cert``,
    ``tls_key``, ``credentials`` and ``token`` as for Client; the request
    and answer of every call are built and read by the same code
    (mdstream.grpc.calls).
    """

    # The service's methods on the channel (contract.bind_methods).
    _stream_batches: Callable[..., Any]
    _stream_results: Callable[..., Any]
    _get_snapshot: Callable[..., Any]
    _get_stats: Callable[..., Any]
    _list_symbols: Callable[..., Any]

    def __init__(self, target: str = "127.0.0.1:50051", *, options: Sequence[tuple[str, Any]] = (),
                 timeout: float = DEFAULT_TIMEOUT_S, tls: bool | str | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None,
                 credentials: grpc.ChannelCredentials | None = None,
                 token: str | None = None) -> None:
        setup = ClientSetup.of(target, options, credentials=credentials, tls=tls,
                               tls_cert=tls_cert, tls_key=tls_key, token=token)
        self.target = setup.target
        self.timeout = timeout
        self._setup = setup
        self._status = ClientState(setup)
        if setup.credentials is None:
            self._channel = grpc.aio.insecure_channel(setup.target, options=setup.options)
        else:
            self._channel = grpc.aio.secure_channel(setup.target, setup.credentials,
                                                    options=setup.options)
        bind_methods(self, self._channel, setup.metadata)
        self._health = self._channel.unary_unary(
            HEALTH_CHECK, request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        self.streams_opened = 0

    @property
    def state(self) -> str:
        """"new", "connected", "unreachable: <cause>" or "closed" (see Client.state)."""
        return self._status.state

    def __repr__(self) -> str:
        return (f"<mdstream.AsyncClient {self.target} {self._setup.describe()} {self.state} "
                f"streams_opened={self.streams_opened}>")

    def _error(self, exc: grpc.RpcError) -> MDStreamError:
        return self._status.error(exc)

    async def _unary(self, method: Any, request: Any, **kwargs: Any) -> Any:
        try:
            resp = await method(request, timeout=self.timeout, **kwargs)
        except grpc.RpcError as exc:
            raise self._error(exc) from exc
        self._status.answered()
        return resp

    async def wait_ready(self, timeout: float = 10.0, *, fail_fast: bool = True) -> None:
        """Wait until the server answers (see Client.wait_ready): ConnectError
        at once when nothing listens (unless ``fail_fast=False``),
        RemoteError(UNAVAILABLE) "no mdstream server answered" after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RemoteError(grpc.StatusCode.UNAVAILABLE,
                                  f"no mdstream server answered at {self.target} within {timeout} s")
            try:
                await self._health(health_request(), timeout=remaining,
                                   metadata=self._setup.metadata)
            except grpc.RpcError as exc:
                error = self._error(exc)
                if isinstance(error, ConnectError):
                    if fail_fast:
                        raise error from None
                elif exc.code() not in (grpc.StatusCode.UNAVAILABLE,
                                        grpc.StatusCode.DEADLINE_EXCEEDED):
                    return          # the server answered (no health service, no token ...)
                await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))
                continue
            self._status.answered()
            return

    @overload
    def stream_batches(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       max_ticks_per_frame: int = ..., max_wait: float = ...,
                       heartbeat_interval: float = ..., from_seq: int | None = None,
                       snapshot: bool = False, resume: Literal[False] = False,
                       heartbeats: bool = False, timeout: float | None = None
                       ) -> AsyncBatchStream: ...

    @overload
    def stream_batches(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       max_ticks_per_frame: int = ..., max_wait: float = ...,
                       heartbeat_interval: float = ..., from_seq: int | None = None,
                       snapshot: bool = False, resume: Resume,
                       heartbeats: bool = False, timeout: float | None = None
                       ) -> AsyncBatchStream | AsyncResumingBatchStream: ...

    def stream_batches(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME,
                       max_wait: float = DEFAULT_MAX_WAIT_S,
                       heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL_S,
                       from_seq: int | None = None, snapshot: bool = False, resume: Resume = False,
                       heartbeats: bool = False, timeout: float | None = None
                       ) -> AsyncBatchStream | AsyncResumingBatchStream:
        """Subscribe to columnar frames (arguments and errors as for
        Client.stream_batches): an AsyncBatchStream, or with ``resume=True``
        (or a Reconnect) an AsyncResumingBatchStream."""
        request, message = stream_request(
            symbols, policy, max_ticks_per_frame=max_ticks_per_frame, max_wait=max_wait,
            heartbeat_interval=heartbeat_interval, from_seq=from_seq, snapshot=snapshot,
            resume=resume, timeout=timeout)
        self.streams_opened += 1
        reconnect = resume_policy(resume)
        if reconnect is not None:
            return AsyncResumingBatchStream(self, request, reconnect, heartbeats=heartbeats)
        return AsyncBatchStream(self._stream_batches(message, timeout=timeout), heartbeats,
                                snapshot, errors=self._error)

    @overload
    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False,
                       resume: Literal[False] = False, timeout: float | None = None
                       ) -> AsyncResultStream: ...

    @overload
    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False,
                       resume: Resume, timeout: float | None = None
                       ) -> AsyncResultStream | AsyncResumingResultStream: ...

    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False, resume: Resume = False,
                       timeout: float | None = None
                       ) -> AsyncResultStream | AsyncResumingResultStream:
        """Subscribe to one Result message per tick (see Client.stream_results):
        an AsyncResultStream, or with ``resume=True`` (or a Reconnect) an
        AsyncResumingResultStream."""
        request, message = stream_request(symbols, policy, from_seq=from_seq, snapshot=snapshot,
                                          resume=resume, timeout=timeout)
        self.streams_opened += 1
        reconnect = resume_policy(resume)
        if reconnect is not None:
            return AsyncResumingResultStream(self, request, reconnect)
        return AsyncResultStream(self._stream_results(message, timeout=timeout),
                                 errors=self._error)

    async def snapshot(self, symbols: Symbols = None) -> Snapshot:
        """The newest result of each symbol as of one sequence number (see
        Client.snapshot)."""
        return snapshot_from_message(await self._unary(self._get_snapshot,
                                                        snapshot_request(symbols)))

    async def list_symbols(self) -> list[str]:
        """The server's symbol names, by id."""
        return read_symbols(await self._unary(self._list_symbols, pb.ListSymbolsRequest()))

    async def get_stats(self) -> RemoteStats:
        """The server's statistics (GetStats; see Client.get_stats)."""
        return read_stats(await self._unary(self._get_stats, pb.StatsRequest()))

    async def health(self, service: str = "") -> str:
        """The server's health, "SERVING", "NOT_SERVING" ... (see Client.health)."""
        return read_health(await self._unary(self._health, health_request(service),
                                             metadata=self._setup.metadata))

    async def close(self) -> None:
        """Close the channel (open streams end)."""
        self._status.state = "closed"
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
