"""Client: subscribe to an mdstream server over gRPC.

    import mdstream

    with mdstream.Client("127.0.0.1:50051") as client:
        for batch in client.stream_batches(symbols=["AAPL"], policy="skip"):
            print(batch.seq[-1], batch.price.mean(), batch.vwap[-1])

``stream_batches`` yields :class:`mdstream.ResultBatch` objects with the same
NumPy columns as an in-process subscription; the compiled codec decodes each
frame from the wire bytes straight into a RESULT_DTYPE array (no protobuf
objects, no per-value Python work). ``stream_results`` yields one protobuf
``Result`` message per tick (the original contract; far slower per tick).

Errors come back as mdstream's exceptions (UnknownSymbolError,
InvalidArgumentError, SlowConsumerError, TooManySubscribersError, ...), with
the gRPC status in ``.code``; anything else is a :class:`RemoteError`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Iterable, Iterator, Sequence

import grpc
import grpc.aio
import grpc.experimental
import numpy as np

from mdstream import _codec
from mdstream._core import RESULT_DTYPE
from mdstream.batch import Gap, ResultBatch
from mdstream.batch import Snapshot
from mdstream.errors import (
    InvalidArgumentError,
    JournalCorruptError,
    MDStreamError,
    SlowConsumerError,
    TooManySubscribersError,
    UnknownSymbolError,
)
from mdstream.v1 import mdstream_pb2 as pb

try:
    from mdstream.errors import OutOfRangeError
except ImportError:  # pragma: no cover - older engines
    OutOfRangeError = None

__all__ = ["Client", "BatchStream", "ResultStream", "AsyncClient", "AsyncBatchStream",
           "AsyncResultStream", "RemoteError", "Heartbeat", "POLICIES", "translate_error"]

SERVICE = "/mdstream.v1.MDStream/"

POLICIES = {"block": pb.POLICY_BLOCK, "skip": pb.POLICY_SKIP, "disconnect": pb.POLICY_DISCONNECT}


class RemoteError(MDStreamError):
    """The server ended a call with an error status that has no closer mdstream error.

    ``code`` is the grpc.StatusCode and ``details`` the server's message
    (UNAVAILABLE: the server is not there or is shutting down).
    """

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class Heartbeat:
    """The newest heartbeat of a batch stream: the stream is alive and had
    sent everything up to ``last_seq`` at the server's time ``server_time_ns``."""

    __slots__ = ("last_seq", "server_time_ns", "received_ns")

    def __init__(self, last_seq: int, server_time_ns: int, received_ns: int):
        self.last_seq = last_seq
        self.server_time_ns = server_time_ns
        self.received_ns = received_ns

    def __repr__(self) -> str:
        return f"Heartbeat(last_seq={self.last_seq}, server_time_ns={self.server_time_ns})"


def _metadata(error: grpc.RpcError) -> dict:
    try:
        return {k: v for k, v in (error.trailing_metadata() or ())}
    except Exception:  # noqa: BLE001 - a failed call may have none
        return {}


def translate_error(error: grpc.RpcError) -> MDStreamError:
    """The mdstream exception that a failed call's status stands for."""
    code = error.code()
    details = error.details() or ""
    meta = _metadata(error)
    kind = meta.get("mdstream-error")
    if kind == "UnknownSymbolError":
        raw = meta.get("mdstream-unknown-symbols-bin", b"[]")
        exc: MDStreamError = UnknownSymbolError(json.loads(raw))
        exc.args = (details,)       # the server's message names what it knows
    elif code == grpc.StatusCode.INVALID_ARGUMENT:
        exc = InvalidArgumentError(details)
    elif kind == "SlowConsumerError":
        exc = SlowConsumerError(details)
    elif kind == "TooManySubscribersError":
        exc = TooManySubscribersError(details)
    elif kind == "OutOfRangeError" and OutOfRangeError is not None:
        exc = OutOfRangeError(details, int(meta.get("mdstream-oldest-seq", -1)))
    elif kind == "JournalCorruptError" and code == grpc.StatusCode.DATA_LOSS:
        # The server's journal is damaged at this file and offset; the
        # message is the server's (it names both).
        exc = JournalCorruptError(meta.get("mdstream-journal-path", "?"),
                                  int(meta.get("mdstream-journal-offset", -1)), details, False)
        exc.args = (f"DATA_LOSS from the server: {details}",)
    else:
        return RemoteError(code, details)
    exc.code = code
    exc.details = details
    return exc


def _request(symbols, policy: str, max_ticks_per_frame: int = 0, max_wait: float = 0.0,
             heartbeat_interval: float = 0.0, from_seq: int | None = None,
             snapshot: bool = False) -> pb.SubscribeRequest:
    if isinstance(symbols, str):
        symbols = [s for s in symbols.split(",") if s]
    if policy not in POLICIES:
        raise InvalidArgumentError(
            f"unknown policy {policy!r}: choose one of {', '.join(POLICIES)}")
    if max_wait < 0 or heartbeat_interval < 0:
        raise InvalidArgumentError("max_wait and heartbeat_interval must be >= 0")
    req = pb.SubscribeRequest(
        symbols=list(symbols or ()), policy=POLICIES[policy],
        max_ticks_per_frame=int(max_ticks_per_frame), max_wait_us=round(max_wait * 1e6),
        heartbeat_interval_ms=round(heartbeat_interval * 1000))
    if from_seq is not None:
        if from_seq < 0:
            raise InvalidArgumentError(f"from_seq must be >= 0, got {from_seq}")
        if snapshot:
            raise InvalidArgumentError(
                "snapshot=True and from_seq cannot be combined: a snapshot starts the stream "
                "at the newest results")
        req.from_seq = int(from_seq)
    req.snapshot = bool(snapshot)
    return req



def _snapshot(resp: pb.Snapshot) -> Snapshot:
    """A Snapshot message as an mdstream.Snapshot (rows of RESULT_DTYPE)."""
    rows = np.zeros(len(resp.results), dtype=RESULT_DTYPE)
    names: list[str | None] = []
    for i, r in enumerate(resp.results):
        for field in RESULT_DTYPE.names:
            rows[field][i] = getattr(r, field)
        if r.symbol_id >= len(names):
            names.extend([None] * (r.symbol_id + 1 - len(names)))
        names[r.symbol_id] = r.symbol
    return Snapshot(resp.as_of_seq, ResultBatch(rows, names))


def _channel_options(defaults: list, options: Sequence) -> list:
    """The defaults, with the caller's options replacing those of the same name."""
    given = {name for name, _ in options}
    return [o for o in defaults if o[0] not in given] + list(options)


def _symbol_names(resp: pb.ListSymbolsResponse) -> list[str]:
    names = [""] * len(resp.symbols)
    for s in resp.symbols:
        if s.id >= len(names):
            names.extend([""] * (s.id + 1 - len(names)))
        names[s.id] = s.name
    return names

class _Stream:
    """Common part of a server stream: iteration, errors, cancel."""

    def __init__(self, call):
        self._call = call
        self._cancelled = False
        self.received = 0            # results received
        self.started = time.monotonic()

    def cancel(self) -> None:
        """Leave the stream (the server frees the subscription at once);
        safe from another thread, and to call twice."""
        if not self._cancelled:
            self._cancelled = True
            self._call.cancel()

    close = cancel

    def _next_message(self):
        if self._cancelled:
            raise StopIteration
        try:
            return next(self._call)
        except StopIteration:
            raise
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise translate_error(exc) from exc

    def __iter__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


class _Frames:
    """Decoding of a StreamBatches stream's frames, and what the stream learns
    from them (symbol names, the watermark, heartbeats, gaps)."""

    def _init_frames(self, heartbeats: bool, snapshot: bool = False) -> None:
        self._heartbeats = heartbeats
        #: With snapshot=True: the Snapshot the stream began with, once received.
        self.snapshot: Snapshot | None = None
        self._snapshot_parts: list | None = [] if snapshot else None
        self.symbols: list[str | None] = []
        self.last_seq = -1
        self.heartbeat: Heartbeat | None = None
        self.frames = 0
        self.bytes = 0
        self.received = 0
        self.missed = 0              # results skipped (policy 'skip'), from gap notices

    def _learn(self, names: dict[int, str]) -> None:
        top = max(names)
        if top >= len(self.symbols):
            self.symbols.extend([None] * (top + 1 - len(self.symbols)))
        for sid, name in names.items():
            self.symbols[sid] = name

    def _snapshot_frame(self, data: bytes) -> None:
        """Take in a frame of the snapshot a stream with snapshot=True starts with."""
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
            self._learn(names)
        self._snapshot_parts.append(rows)
        if fence.snapshot.last:
            parts, self._snapshot_parts = self._snapshot_parts, None
            as_of = fence.snapshot.as_of_seq
            self.snapshot = Snapshot(as_of, ResultBatch(np.concatenate(parts), self.symbols))
            self.last_seq = max(self.last_seq, as_of)

    def _frame(self, data: bytes) -> ResultBatch | None:
        """The batch of a frame, or None for a heartbeat that is not to be yielded."""
        if self._snapshot_parts is not None:
            self._snapshot_frame(data)
            return None
        rows, names, gap, hb = _codec.decode_batch(data)
        self.frames += 1
        self.bytes += len(data)
        if names:
            self._learn(names)
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
            if not self._heartbeats and n == 0 and gap is None:
                return None
        return ResultBatch(rows, self.symbols, Gap(*gap) if gap is not None else None)


class BatchStream(_Frames, _Stream):
    """The ResultBatch objects of one StreamBatches call (an iterator).

    ``symbols`` is this stream's id -> name list (it grows as names arrive;
    ids not seen yet are None); ``last_seq`` is the newest sequence number
    the stream has accounted for (results and heartbeats); ``heartbeat`` the
    newest Heartbeat. Gap notices arrive as ``batch.gap`` (possibly on an
    empty batch). With ``heartbeats=True`` idle heartbeats are yielded as
    empty batches too, so a loop can act while the market is quiet.

    A stream opened with ``snapshot=True`` begins with a snapshot: read it
    with ``read_snapshot()`` (or the first next() takes it in); it is then
    in ``snapshot`` (an mdstream.Snapshot: ``as_of_seq`` and ``results``,
    the newest result of each symbol), and the batches that follow start at
    exactly ``snapshot.as_of_seq + 1``.
    """

    def __init__(self, call, heartbeats: bool = False, snapshot: bool = False):
        _Stream.__init__(self, call)
        self._init_frames(heartbeats, snapshot)

    def __next__(self) -> ResultBatch:
        while True:
            batch = self._frame(self._next_message())
            if batch is not None:
                return batch

    def read_snapshot(self) -> Snapshot | None:
        """The snapshot this stream began with (snapshot=True), receiving it
        if need be (it comes first, at once); None without snapshot=True."""
        while self._snapshot_parts is not None:
            try:
                self._frame(self._next_message())
            except StopIteration:
                raise MDStreamError("the stream ended before its snapshot was received") from None
        return self.snapshot

    def raw_frames(self) -> Iterator[bytes]:
        """The undecoded frames (for measuring transport alone, or relaying)."""
        while True:
            try:
                data = self._next_message()
            except StopIteration:
                return
            self.frames += 1
            self.bytes += len(data)
            yield data


class ResultStream(_Stream):
    """The Result messages of one StreamResults call (an iterator of
    mdstream.v1 ``Result`` protobuf messages)."""

    def __next__(self) -> pb.Result:
        msg = self._next_message()
        self.received += 1
        return msg



def _bind_methods(client, channel) -> None:
    """The service's methods on a channel (a grpc or a grpc.aio one: same calls)."""
    client._stream_batches = channel.unary_stream(
        SERVICE + "StreamBatches", request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=None)     # frames are decoded by the codec
    client._stream_results = channel.unary_stream(
        SERVICE + "StreamResults", request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=pb.Result.FromString)
    client._get_snapshot = channel.unary_unary(
        SERVICE + "GetSnapshot", request_serializer=pb.SnapshotRequest.SerializeToString,
        response_deserializer=pb.Snapshot.FromString)
    client._list_symbols = channel.unary_unary(
        SERVICE + "ListSymbols", request_serializer=pb.ListSymbolsRequest.SerializeToString,
        response_deserializer=pb.ListSymbolsResponse.FromString)

class Client:
    """A connection to an mdstream server.

    Parameters
    ----------
    target:
        "host:port" of the server.
    options:
        Extra grpc channel options.
    timeout:
        Seconds unary calls (snapshot, list_symbols) may take.

    The channel is created at once and connects on first use; call
    ``wait_ready()`` to wait for the server. Close the client (or use it as
    a context manager) to release the connection.
    """

    def __init__(self, target: str = "127.0.0.1:50051", *, options: Sequence = (),
                 timeout: float = 10.0):
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target, options=_channel_options([
            # Server streams read on the calling thread, without grpc's
            # polling thread: the fastest grpcio setting for this pattern.
            (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1),
            ("grpc.max_receive_message_length", 64 << 20),
            # After losing the server, grpc tries to reconnect the channel
            # after 1 s, then ever longer (up to 120 s), and calls fail at
            # once in between: a resuming stream (resume=True) would wait for
            # that, not for its own backoff. Retry sooner, and at least every second.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ], options))
        _bind_methods(self, self._channel)

    def __repr__(self) -> str:
        return f"<mdstream.Client {self.target}>"

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the channel is connected; RemoteError(UNAVAILABLE) if not in time."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise RemoteError(grpc.StatusCode.UNAVAILABLE,
                              f"no mdstream server answered at {self.target} within {timeout} s") from None

    def stream_batches(self, symbols: Iterable[str] | str | None = None, policy: str = "block", *,
                       max_ticks_per_frame: int = 4096, max_wait: float = 0.002,
                       heartbeat_interval: float = 1.0, from_seq: int | None = None,
                       snapshot: bool = False, resume=False, heartbeats: bool = False,
                       timeout: float | None = None):
        """Subscribe to columnar frames: an iterator of ResultBatch.

        ``symbols``: names (None: all); ``policy``: 'block', 'skip' or
        'disconnect' (see Engine.subscribe); ``max_ticks_per_frame``: frame
        size (1 to 16384); ``max_wait``: seconds a result may wait for its
        frame to fill (latency against frame size); ``heartbeat_interval``:
        seconds of quiet before the server sends a heartbeat; ``from_seq``:
        start at this sequence number (replayed from the server's ring or
        journal); ``snapshot``: begin with the newest result of each symbol
        (``stream.read_snapshot()``, then ``stream.snapshot``), the batches
        starting at exactly its ``as_of_seq + 1``; ``timeout``: end the call
        after that many seconds (DEADLINE_EXCEEDED). Errors in the request
        are raised at the first next().

        ``resume=True`` (or an mdstream.grpc.resume.Reconnect): the stream
        reconnects by itself when the connection drops or the server
        restarts, resumes from the last sequence number it received, never
        yields a duplicate and reports what it could not get back as a gap
        (a ResumingBatchStream; see mdstream.grpc.resume).
        """
        if resume:
            from mdstream.grpc.resume import Reconnect, ResumingBatchStream

            if timeout is not None:
                raise InvalidArgumentError("timeout cannot be combined with resume")
            req = _request(symbols, policy, max_ticks_per_frame, max_wait, heartbeat_interval)
            return ResumingBatchStream(self, req, resume if isinstance(resume, Reconnect)
                                       else Reconnect(), from_seq, snapshot, heartbeats)
        req = _request(symbols, policy, max_ticks_per_frame, max_wait, heartbeat_interval, from_seq,
                       snapshot)
        return BatchStream(self._stream_batches(req, timeout=timeout), heartbeats, snapshot)

    def stream_results(self, symbols: Iterable[str] | str | None = None, policy: str = "block", *,
                       from_seq: int | None = None, snapshot: bool = False, resume=False,
                       timeout: float | None = None):
        """Subscribe to one Result message per tick (the original contract).

        ``from_seq`` and ``resume`` as for stream_batches; with ``snapshot``
        the first messages are the newest result of each symbol, flagged
        ``snapshot`` with their ``as_of_seq``.
        """
        if resume:
            from mdstream.grpc.resume import Reconnect, ResumingResultStream

            if timeout is not None:
                raise InvalidArgumentError("timeout cannot be combined with resume")
            req = _request(symbols, policy)
            return ResumingResultStream(self, req, resume if isinstance(resume, Reconnect)
                                        else Reconnect(), from_seq, snapshot)
        req = _request(symbols, policy, from_seq=from_seq, snapshot=snapshot)
        return ResultStream(self._stream_results(req, timeout=timeout))

    def snapshot(self, symbols: Iterable[str] | str | None = None):
        """The newest result of each symbol as of one sequence number.

        Returns an mdstream.Snapshot: ``as_of_seq`` and ``results`` (a
        ResultBatch with one row per symbol that has one).
        """
        if isinstance(symbols, str):
            symbols = [symbols]
        try:
            resp = self._get_snapshot(pb.SnapshotRequest(symbols=list(symbols or ())),
                                      timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return _snapshot(resp)

    def list_symbols(self) -> list[str]:
        """The server's symbol names, by id."""
        try:
            resp = self._list_symbols(pb.ListSymbolsRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return _symbol_names(resp)

    def get_stats(self):
        """The server's statistics (GetStats): a mdstream.grpc.stats.RemoteStats,
        whose ``engine`` is the engine's EngineStats, with recent and average
        rates, the journal, and what each stream of the server has sent."""
        from mdstream.grpc.stats import read_stats

        call = self._channel.unary_unary(
            SERVICE + "GetStats", request_serializer=pb.StatsRequest.SerializeToString,
            response_deserializer=pb.Stats.FromString)
        try:
            resp = call(pb.StatsRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return read_stats(resp)

    def close(self) -> None:
        """Close the channel (open streams end)."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- asyncio -------------------------------------------------------------------

class _AsyncStream:
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


class AsyncBatchStream(_Frames, _AsyncStream):
    """The ResultBatch objects of one StreamBatches call, for ``async for``
    (the same attributes as BatchStream)."""

    def __init__(self, call, heartbeats: bool = False, snapshot: bool = False):
        _AsyncStream.__init__(self, call)
        self._init_frames(heartbeats, snapshot)

    async def __anext__(self) -> ResultBatch:
        while True:
            batch = self._frame(await self._read())
            if batch is not None:
                return batch

    async def read_snapshot(self) -> Snapshot | None:
        """The snapshot this stream began with (snapshot=True; see
        BatchStream.read_snapshot)."""
        while self._snapshot_parts is not None:
            try:
                self._frame(await self._read())
            except StopAsyncIteration:
                raise MDStreamError("the stream ended before its snapshot was received") from None
        return self.snapshot


class AsyncResultStream(_AsyncStream):
    """The Result messages of one StreamResults call, for ``async for``."""

    def __init__(self, call):
        super().__init__(call)
        self.received = 0

    async def __anext__(self) -> pb.Result:
        message = await self._read()
        self.received += 1
        return message


class AsyncClient:
    """The Client for asyncio programs: the same calls, awaited.

        async with mdstream.grpc.client.AsyncClient("127.0.0.1:50051") as client:
            async for batch in client.stream_batches(["AAPL"]):
                ...

    Create it inside the running event loop. Frames are decoded by the same
    compiled codec as Client's; the decode of a frame runs in the loop
    (about 40 ns per tick).
    """

    def __init__(self, target: str = "127.0.0.1:50051", *, options: Sequence = (),
                 timeout: float = 10.0):
        self.target = target
        self.timeout = timeout
        self._channel = grpc.aio.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", 64 << 20), *options])
        _bind_methods(self, self._channel)

    def __repr__(self) -> str:
        return f"<mdstream.AsyncClient {self.target}>"

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the channel is connected; RemoteError(UNAVAILABLE) if not in time."""
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            raise RemoteError(grpc.StatusCode.UNAVAILABLE,
                              f"no mdstream server answered at {self.target} within {timeout} s") from None

    def stream_batches(self, symbols: Iterable[str] | str | None = None, policy: str = "block", *,
                       max_ticks_per_frame: int = 4096, max_wait: float = 0.002,
                       heartbeat_interval: float = 1.0, from_seq: int | None = None,
                       snapshot: bool = False, heartbeats: bool = False,
                       timeout: float | None = None) -> AsyncBatchStream:
        """Subscribe to columnar frames (see Client.stream_batches; resume=True
        is for Client only)."""
        req = _request(symbols, policy, max_ticks_per_frame, max_wait, heartbeat_interval, from_seq,
                       snapshot)
        return AsyncBatchStream(self._stream_batches(req, timeout=timeout), heartbeats, snapshot)

    def stream_results(self, symbols: Iterable[str] | str | None = None, policy: str = "block", *,
                       from_seq: int | None = None, snapshot: bool = False,
                       timeout: float | None = None) -> AsyncResultStream:
        """Subscribe to one Result message per tick (see Client.stream_results)."""
        req = _request(symbols, policy, from_seq=from_seq, snapshot=snapshot)
        return AsyncResultStream(self._stream_results(req, timeout=timeout))

    async def snapshot(self, symbols: Iterable[str] | str | None = None) -> Snapshot:
        """The newest result of each symbol as of one sequence number."""
        if isinstance(symbols, str):
            symbols = [symbols]
        try:
            resp = await self._get_snapshot(pb.SnapshotRequest(symbols=list(symbols or ())),
                                            timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return _snapshot(resp)

    async def list_symbols(self) -> list[str]:
        """The server's symbol names, by id."""
        try:
            resp = await self._list_symbols(pb.ListSymbolsRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return _symbol_names(resp)

    async def close(self) -> None:
        """Close the channel (open streams end)."""
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
