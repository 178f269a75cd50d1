"""AsyncClient: the Client for asyncio programs (its streams: mdstream.grpc.aio_streams).

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
from typing import TYPE_CHECKING, Any, Literal, Sequence, overload

import grpc
import grpc.aio

from mdstream.batch import Snapshot
from mdstream.grpc.aio_streams import (
    AsyncBatchStream,
    AsyncResultStream,
    AsyncResumingBatchStream,
    AsyncResumingResultStream,
)
from mdstream.grpc.calls import (
    DEFAULT_TIMEOUT_S,
    ClientCore,
    ClientSetup,
    Resume,
    Symbols,
    health_request,
    read_health,
    read_symbols,
    snapshot_request,
    stream_request,
)
from mdstream.grpc.contract import DEFAULT_MAX_WAIT_S
from mdstream.grpc.frames import snapshot_from_message
from mdstream.grpc.stats import RemoteStats, read_stats
from mdstream.grpc.trade_session import AsyncRemoteOrderSession
from mdstream.grpc.trade_wire import read_orders, read_positions
from mdstream.request import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_TICKS_PER_FRAME, Policy
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.venue import OrderState, Position

__all__ = ["AsyncClient", "AsyncBatchStream", "AsyncResultStream", "AsyncResumingBatchStream",
           "AsyncResumingResultStream"]


class AsyncClient(ClientCore):
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

    _name = "mdstream.AsyncClient"
    _batch_stream = AsyncBatchStream
    _resuming_batch_stream = AsyncResumingBatchStream
    _result_stream = AsyncResultStream
    _resuming_result_stream = AsyncResumingResultStream

    def __init__(self, target: str | Sequence[str] = "127.0.0.1:50051", *, options: Sequence[tuple[str, Any]] = (),
                 timeout: float = DEFAULT_TIMEOUT_S, tls: bool | str | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None,
                 credentials: grpc.ChannelCredentials | None = None,
                 token: str | None = None) -> None:
        setup = ClientSetup.of(target, options, credentials=credentials, tls=tls,
                               tls_cert=tls_cert, tls_key=tls_key, token=token)
        self._start(setup, timeout)

    def _make_channel(self, setup: ClientSetup) -> Any:
        if setup.credentials is None:
            return grpc.aio.insecure_channel(setup.target, options=setup.options)
        return grpc.aio.secure_channel(setup.target, setup.credentials, options=setup.options)

    # ClientCore's, listed here as the client's own methods are (compared with the other client's).
    fail_over = ClientCore.fail_over

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
        untried = len(self.targets)     # with several: each in turn before giving up
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._status.not_ready(timeout)
            try:
                await self._health(health_request(), timeout=remaining,
                                   metadata=self._setup.metadata)
            except grpc.RpcError as exc:
                left = self._failed_probe(exc, fail_fast, untried)
                if left is None:
                    return
                if left == untried:     # else the next target, at once
                    await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))
                untried = left
                continue
            self._status.answered()
            return

    @overload
    def stream_batches(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       max_ticks_per_frame: int = ..., max_wait: float = ...,
                       heartbeat_interval: float = ..., from_seq: int | None = None,
                       snapshot: bool = False, resume: Literal[False] = False,
                       heartbeats: bool = False, timeout: float | None = None,
                       fields: Symbols = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> AsyncBatchStream: ...

    @overload
    def stream_batches(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       max_ticks_per_frame: int = ..., max_wait: float = ...,
                       heartbeat_interval: float = ..., from_seq: int | None = None,
                       snapshot: bool = False, resume: Resume,
                       heartbeats: bool = False, timeout: float | None = None,
                       fields: Symbols = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> AsyncBatchStream | AsyncResumingBatchStream: ...

    def stream_batches(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME,
                       max_wait: float = DEFAULT_MAX_WAIT_S,
                       heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL_S,
                       from_seq: int | None = None, snapshot: bool = False, resume: Resume = False,
                       heartbeats: bool = False, timeout: float | None = None,
                       fields: Symbols = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> AsyncBatchStream | AsyncResumingBatchStream:
        """Subscribe to columnar frames (arguments and errors as for
        Client.stream_batches): an AsyncBatchStream, or with ``resume=True``
        (or a Reconnect) an AsyncResumingBatchStream."""
        request, message = stream_request(
            symbols, policy, max_ticks_per_frame=max_ticks_per_frame, max_wait=max_wait,
            heartbeat_interval=heartbeat_interval, from_seq=from_seq, snapshot=snapshot,
            resume=resume, timeout=timeout, fields=fields, kinds=kinds,
            min_size=min_size, min_price=min_price, max_price=max_price,
            conflate=conflate)
        return self._open_batches(request, message, resume, heartbeats, snapshot, timeout)

    @overload
    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False,
                       resume: Literal[False] = False, timeout: float | None = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> AsyncResultStream: ...

    @overload
    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False,
                       resume: Resume, timeout: float | None = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> AsyncResultStream | AsyncResumingResultStream: ...

    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False, resume: Resume = False,
                       timeout: float | None = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> AsyncResultStream | AsyncResumingResultStream:
        """Subscribe to one Result message per tick (see Client.stream_results):
        an AsyncResultStream, or with ``resume=True`` (or a Reconnect) an
        AsyncResumingResultStream."""
        request, message = stream_request(
            symbols, policy, from_seq=from_seq, snapshot=snapshot, resume=resume, timeout=timeout,
            kinds=kinds, min_size=min_size, min_price=min_price, max_price=max_price,
            conflate=conflate)
        return self._open_results(request, message, resume, timeout)

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

    def trade(self, account: str, *, cancel_on_disconnect: bool = False,
              from_seq: int | None = None) -> AsyncRemoteOrderSession:
        """An order session of ``account`` (see Client.trade): ``await`` its
        order methods, ``async for`` its reports."""
        self.streams_opened += 1
        return AsyncRemoteOrderSession(self._trade, account,
                                       cancel_on_disconnect=cancel_on_disconnect,
                                       from_seq=from_seq, errors=self._error)

    async def orders(self, account: str | None = None) -> "list[OrderState]":
        """The open orders of ``account`` (see Client.orders)."""
        return read_orders(await self._unary(self._get_orders,
                                             pb.OrdersRequest(account=account or "")))

    async def positions(self, account: str | None = None) -> "list[Position]":
        """The positions of ``account`` (see Client.positions)."""
        return read_positions(await self._unary(self._get_positions,
                                                pb.PositionsRequest(account=account or "")))

    async def health(self, service: str = "") -> str:
        """The server's health, "SERVING", "NOT_SERVING" ... (see Client.health)."""
        return read_health(await self._unary(self._health, health_request(service),
                                             metadata=self._setup.metadata))

    async def close(self) -> None:
        """Close the channels (open streams end)."""
        self._status.state = "closed"
        for channel in self._channels.values():
            await channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
