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
InvalidArgumentError, SlowConsumerError, TooManySubscribersError,
OutOfRangeError, JournalCorruptError), with the gRPC status in ``.code``;
anything else is a :class:`RemoteError` (see mdstream.grpc.errors). A
client that cannot connect raises :class:`ConnectError` (a RemoteError,
UNAVAILABLE) at its first call, saying why: nothing listening on host:port,
a TLS mismatch, an unknown host.
The asyncio client is mdstream.grpc.aio.AsyncClient (also importable here).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, overload

import grpc
import grpc.experimental

from mdstream.batch import Snapshot
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
from mdstream.grpc.connect import ConnectError
from mdstream.grpc.contract import DEFAULT_MAX_WAIT_S
from mdstream.grpc.errors import RemoteError, translate_error
from mdstream.grpc.frames import Heartbeat, snapshot_from_message
from mdstream.grpc.resume import ResumingBatchStream, ResumingResultStream
from mdstream.grpc.stats import RemoteStats, read_stats
from mdstream.grpc.streams import BatchStream, ResultStream
from mdstream.grpc.trade_session import RemoteOrderSession
from mdstream.grpc.trade_wire import read_orders, read_positions
from mdstream.request import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_TICKS_PER_FRAME, Policy
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.venue import OrderState, Position
    from mdstream.grpc.aio import AsyncBatchStream, AsyncClient, AsyncResultStream

__all__ = ["Client", "BatchStream", "ResultStream", "AsyncClient", "AsyncBatchStream",
           "AsyncResultStream", "RemoteError", "ConnectError", "Heartbeat", "translate_error"]


def __getattr__(name: str) -> Any:
    # The asyncio client lives in mdstream.grpc.aio; importable from here as before.
    if name in ("AsyncClient", "AsyncBatchStream", "AsyncResultStream"):
        from mdstream.grpc import aio

        return getattr(aio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Client(ClientCore):
    """A connection to an mdstream server.

    Parameters
    ----------
    target:
        "host:port" of the server; several servers serving the same stream
        (edges: ``mdstream edge``) as a list or comma-separated: calls go to
        the first, and a ``resume=True`` stream whose server fails moves to
        the next (``fail_over()``) and resumes there with no gap.
    options:
        Extra grpc channel options (name, value) pairs.
    timeout:
        Seconds unary calls (snapshot, list_symbols, get_stats, health) may take.
    tls, tls_cert, tls_key:
        Connect over TLS: ``tls=True`` trusts the system's root CAs,
        ``tls="ca.pem"`` a CA file; ``tls_cert``/``tls_key`` (PEM files)
        are the client's certificate for mutual TLS.
    credentials:
        grpc.ChannelCredentials to use as they are (instead of ``tls``).
    token:
        A bearer token, sent as ``authorization: Bearer TOKEN`` with every call.

    Notes
    -----
    The channel is created at once and connects on first use: a server that
    is not there fails the first call at once with ConnectError (nothing
    listening, TLS mismatch, unknown host), not after ``timeout``;
    ``wait_ready()`` waits for a server that is starting. Close the client
    (or use it as a context manager) to release the connection.
    """

    _name = "mdstream.Client"
    _batch_stream = BatchStream
    _resuming_batch_stream = ResumingBatchStream
    _result_stream = ResultStream
    _resuming_result_stream = ResumingResultStream

    def __init__(self, target: str | Sequence[str] = "127.0.0.1:50051", *, options: Sequence[tuple[str, Any]] = (),
                 timeout: float = DEFAULT_TIMEOUT_S, tls: bool | str | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None,
                 credentials: grpc.ChannelCredentials | None = None,
                 token: str | None = None) -> None:
        setup = ClientSetup.of(target, options, credentials=credentials, tls=tls,
                               tls_cert=tls_cert, tls_key=tls_key, token=token, extra_defaults=[
                                   # Server streams read on the calling thread, without grpc's
                                   # polling thread: the fastest grpcio setting for this pattern.
                                   (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)])
        self._start(setup, timeout)

    def _make_channel(self, setup: ClientSetup) -> Any:
        if setup.credentials is None:
            return grpc.insecure_channel(setup.target, options=setup.options)
        return grpc.secure_channel(setup.target, setup.credentials, options=setup.options)

    # ClientCore's, listed here as the client's own methods are (compared with the other client's).
    fail_over = ClientCore.fail_over

    def _unary(self, method: Callable[..., Any], request: Any, **kwargs: Any) -> Any:
        try:
            resp = method(request, timeout=self.timeout, **kwargs)
        except grpc.RpcError as exc:
            raise self._error(exc) from exc
        self._status.answered()
        return resp

    def wait_ready(self, timeout: float = 10.0, *, fail_fast: bool = True) -> None:
        """Wait until the server answers (a health check), up to ``timeout`` seconds.

        With several targets, one that cannot be reached is passed over for
        the next (fail_over). Raises ConnectError at once when the connection
        to every target is refused (nothing listening), fails its TLS
        handshake or the host does not resolve
        (``fail_fast=False``: keep trying until the timeout, for a server that
        is starting), RemoteError(UNAVAILABLE) "no mdstream server answered"
        when the timeout passes."""
        untried = len(self.targets)     # with several: each in turn before giving up
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._status.not_ready(timeout)
            try:
                self._health(health_request(), timeout=remaining, metadata=self._setup.metadata)
            except grpc.RpcError as exc:
                left = self._failed_probe(exc, fail_fast, untried)
                if left is None:
                    return
                if left == untried:     # else the next target, at once
                    time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
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
                       conflate: float | None = None) -> BatchStream: ...

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
                       ) -> BatchStream | ResumingBatchStream: ...

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
                       ) -> BatchStream | ResumingBatchStream:
        """Subscribe to columnar frames: an iterator of ResultBatch (a BatchStream).

        ``symbols``: names (None: all; "AAPL,MSFT" is two); ``policy``:
        'block', 'skip' or 'disconnect' (see Engine.subscribe), or None for
        the server's default ('skip' unless its operator chose otherwise;
        a 'block' subscriber that stops reading is cut off after the
        server's block deadline);
        ``max_ticks_per_frame``: frame size (1 to 16384 ticks);
        ``max_wait``: seconds (0 to 1) a result may wait for its frame to fill
        (latency against frame size; a server with the default
        ``frame_linger="adaptive"`` sends at once when ticks trickle in and
        waits only while they pour in); ``heartbeat_interval``: seconds (0.01
        to 60) of quiet before the server sends a heartbeat; ``from_seq``:
        start at this sequence number (replayed from the server's ring or
        journal); ``snapshot``: begin with the newest result of each symbol
        (``stream.read_snapshot()``, then ``stream.snapshot``), the batches
        starting at exactly its ``as_of_seq + 1``; ``timeout``: end the call
        after that many seconds (DEADLINE_EXCEEDED); ``fields``: the columns
        to receive (e.g. ``["seq", "ts_ns", "symbol_id", "price", "size"]``
        or "seq,price"; None: all; ``seq`` and ``symbol_id`` always come):
        the server's frames carry only those, and reading another column of
        a batch raises AttributeError (see ResultBatch.fields); ``kinds``
        ("trade", "quote", "bar", or several: ["trade", "bar"], "trade,bar";
        None: all), ``min_size``, ``min_price``, ``max_price`` (inclusive
        bounds; None: none): filters the server runs in its core, so only
        matching results cross the network (StreamRequest says what price
        and size are for each kind); results filtered out are not gaps.
        ``conflate``: seconds (0.001 to 3600; None: off): at most one result
        per symbol per interval, the newest, the folded count reported in
        the batch's Gap (see mdstream.engine.conflate).

        Settings out of range raise InvalidArgumentError here (code
        INVALID_ARGUMENT); what the server refuses is raised at the first
        next(): ConnectError (UNAVAILABLE: nothing listening, TLS mismatch),
        UnknownSymbolError (INVALID_ARGUMENT), TooManySubscribersError
        (RESOURCE_EXHAUSTED), OutOfRangeError (OUT_OF_RANGE, ``.oldest``),
        RemoteError (UNAVAILABLE, ...); later SlowConsumerError
        (RESOURCE_EXHAUSTED, policy 'disconnect'), JournalCorruptError (DATA_LOSS).

        ``resume=True`` (or a Reconnect): the stream reconnects by itself when
        the connection drops or the server restarts, resumes from the last
        sequence number it received, never yields a duplicate and reports
        what it could not get back as a gap (a ResumingBatchStream; see
        mdstream.grpc.resume).
        """
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
                       ) -> ResultStream: ...

    @overload
    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False,
                       resume: Resume, timeout: float | None = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None
                       ) -> ResultStream | ResumingResultStream: ...

    def stream_results(self, symbols: Symbols = None, policy: Policy | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False, resume: Resume = False,
                       timeout: float | None = None,
                       kinds: Symbols = None, min_size: float | None = None,
                       min_price: float | None = None, max_price: float | None = None,
                       conflate: float | None = None) -> ResultStream | ResumingResultStream:
        """Subscribe to one Result message per tick (the original contract):
        an iterator of mdstream.v1 ``Result`` messages.

        ``from_seq``, ``resume``, the filters (``kinds``, ``min_size``,
        ``min_price``, ``max_price``), ``conflate`` (folded results counted
        in ``missed_before``) and the errors as for stream_batches; with
        ``snapshot`` the first messages are the newest result of each symbol,
        flagged ``snapshot`` with their ``as_of_seq``.
        """
        request, message = stream_request(
            symbols, policy, from_seq=from_seq, snapshot=snapshot, resume=resume, timeout=timeout,
            kinds=kinds, min_size=min_size, min_price=min_price, max_price=max_price,
            conflate=conflate)
        return self._open_results(request, message, resume, timeout)

    def snapshot(self, symbols: Symbols = None) -> Snapshot:
        """The newest result of each symbol as of one sequence number.

        Returns an mdstream.Snapshot: ``as_of_seq`` and ``results`` (a
        ResultBatch with one row per symbol that has one). Raises
        UnknownSymbolError (INVALID_ARGUMENT), ConnectError, RemoteError.
        """
        return snapshot_from_message(self._unary(self._get_snapshot, snapshot_request(symbols)))

    def list_symbols(self) -> list[str]:
        """The server's symbol names, by id. Raises ConnectError, RemoteError."""
        return read_symbols(self._unary(self._list_symbols, pb.ListSymbolsRequest()))

    def get_stats(self) -> RemoteStats:
        """The server's statistics (GetStats): a mdstream.grpc.stats.RemoteStats,
        whose ``engine`` is the engine's EngineStats, with recent and average
        rates, the journal, and what each stream of the server has sent.
        Raises ConnectError, RemoteError (PERMISSION_DENIED without a token
        that may read them)."""
        return read_stats(self._unary(self._get_stats, pb.StatsRequest()))

    def trade(self, account: str, *, cancel_on_disconnect: bool = False,
              from_seq: int | None = None) -> RemoteOrderSession:
        """An order session of ``account`` on the server's paper venue (a
        Trade call): ``submit_order``, ``cancel_order``, ``replace_order``,
        ``cancel_all`` as on the Engine (without the account), and iterate for
        the account's execution reports (ExecutionReport) in order, with a
        RequestError for each request the server could not take.
        ``cancel_on_disconnect``: when the session ends (close(), or the
        connection is lost) the server cancels its open orders. ``from_seq``:
        the account's reports from this report seq on (resume after
        ``session.last_seq``). The call's errors (UnknownAccountError,
        NoPaperVenueError, PermissionDeniedError, OutOfRangeError) are raised
        when reading. Close it (or use it as a context manager)."""
        self.streams_opened += 1
        return RemoteOrderSession(self._trade, account, cancel_on_disconnect=cancel_on_disconnect,
                                  from_seq=from_seq, errors=self._error)

    def orders(self, account: str | None = None) -> "list[OrderState]":
        """The open orders of ``account`` (None: of every account the caller
        may trade), as mdstream.venue OrderState objects by order_id. Raises
        UnknownAccountError, NoPaperVenueError, ConnectError, RemoteError."""
        return read_orders(self._unary(self._get_orders, pb.OrdersRequest(account=account or "")))

    def positions(self, account: str | None = None) -> "list[Position]":
        """The positions of ``account`` (None: of every account the caller may
        trade), as mdstream.venue Position objects with their mark and
        unrealized P&L, by account then symbol. Errors as for orders()."""
        return read_positions(self._unary(self._get_positions,
                                          pb.PositionsRequest(account=account or "")))

    def health(self, service: str = "") -> str:
        """The server's health (the standard grpc.health.v1 Check): "SERVING",
        "NOT_SERVING" (e.g. its journal cannot be written), "SERVICE_UNKNOWN";
        ``service``: "" for the server, "mdstream.v1.MDStream" for the
        market-data service. Raises ConnectError, RemoteError. The protocol:
        https://github.com/grpc/grpc/blob/master/doc/health-checking.md"""
        return read_health(self._unary(self._health, health_request(service),
                                       metadata=self._setup.metadata))

    def close(self) -> None:
        """Close the channels (open streams end)."""
        self._status.state = "closed"
        for channel in self._channels.values():
            channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
