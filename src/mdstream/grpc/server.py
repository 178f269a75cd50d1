"""The gRPC server: the mdstream.v1.MDStream service over an Engine.

The servicer is thin. It validates a request, opens an engine subscription
and yields bytes that the compiled codec encoded from the engine's result
arrays without the GIL; grpcio sends them as they are (an identity response
serializer), so the server makes no Python object per tick for StreamBatches
and one ``bytes`` per tick (what grpcio sends) for StreamResults.

    from mdstream import Engine, SimulatedFeed
    from mdstream.grpc.server import Server

    engine = Engine(feed=SimulatedFeed(symbols=["AAPL", "MSFT"]))
    with Server(engine, "127.0.0.1", 0) as server:     # port 0: a free port
        engine.start()
        print("listening on", server.address)
        ...
    engine.stop()

The standard health service (grpc.health.v1) and server reflection are
served as well, and so is the original project's service name
(``mdstream.MDStream/StreamResults``) so that its clients keep working.
"""

from __future__ import annotations

import errno
import json
import logging
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mdstream import _codec
from mdstream.errors import (
    EngineStateError,
    InvalidArgumentError,
    JournalCorruptError,
    JournalError,
    MDStreamError,
    SlowConsumerError,
    SubscriptionClosedError,
    TooManySubscribersError,
    UnknownSymbolError,
)
from mdstream.grpc.stats import RateTracker, SendCounters, stats_message
from mdstream.engine.subscription import StreamEnded, Subscription
from mdstream.v1 import mdstream_pb2 as pb

try:  # present once the engine supports resuming (from_seq)
    from mdstream.errors import OutOfRangeError
except ImportError:  # pragma: no cover - older engines
    OutOfRangeError = None

if TYPE_CHECKING:
    from mdstream.engine import Engine

__all__ = [
    "Server",
    "MDStreamServicer",
    "PortInUseError",
    "serve",
    "SERVICE_NAME",
    "LEGACY_SERVICE_NAME",
    "DEFAULT_FRAME_TICKS",
    "MAX_FRAME_TICKS",
]

log = logging.getLogger("mdstream.grpc.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MDStream"].full_name      # "mdstream.v1.MDStream"
#: The original Go project's service: StreamResults only, same messages on the wire.
LEGACY_SERVICE_NAME = "mdstream.MDStream"

DEFAULT_FRAME_TICKS = 4096
#: 16384 ticks of ~200 bytes stay below gRPC's default 4 MiB message limit.
MAX_FRAME_TICKS = 16384
MAX_WAIT_US = 1_000_000
DEFAULT_HEARTBEAT_MS = 1000
HEARTBEAT_RANGE_MS = (10, 60_000)

#: Trailing metadata that tells mdstream clients which error this is.
ERROR_KEY = "mdstream-error"
UNKNOWN_SYMBOLS_KEY = "mdstream-unknown-symbols-bin"     # JSON list of names
OLDEST_SEQ_KEY = "mdstream-oldest-seq"
JOURNAL_PATH_KEY = "mdstream-journal-path"             # DATA_LOSS: the damaged file
JOURNAL_OFFSET_KEY = "mdstream-journal-offset"         # and the byte offset of the damage
#: What a resumed stream's replay from the journal may raise mid-stream.
_REPLAY_ERRORS = tuple(e for e in (JournalError, OutOfRangeError) if e is not None)

#: What _next_batch returns once a stream is over (None means "nothing yet").
_STREAM_OVER = object()

_POLICIES = {
    pb.POLICY_UNSPECIFIED: "block",
    pb.POLICY_BLOCK: "block",
    pb.POLICY_SKIP: "skip",
    pb.POLICY_DISCONNECT: "disconnect",
}


class PortInUseError(MDStreamError, OSError):
    """The server could not listen on the address (in use, or not available here)."""

    def __str__(self) -> str:   # the message alone, without OSError's "[Errno N]"
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class StreamParams:
    """A validated SubscribeRequest."""

    symbols: list[str] | None
    policy: str
    max_ticks: int
    linger: float            # seconds a result may wait for its frame
    heartbeat: float         # seconds without results before a heartbeat
    from_seq: int | None
    snapshot: bool = False   # send a snapshot first, fenced (not with from_seq)


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str,
           error: str, extra: tuple = ()) -> None:
    """End the call with a status and metadata naming mdstream's error (raises)."""
    context.set_trailing_metadata(((ERROR_KEY, error),) + tuple(extra))
    context.abort(code, message)


class MDStreamServicer:
    """The mdstream.v1.MDStream service over one engine.

    Parameters
    ----------
    engine:
        The engine to serve; it may be started before or after the server.
    max_streams:
        Streams (StreamResults + StreamBatches) served at once; one more gets
        RESOURCE_EXHAUSTED.
    health_servicer:
        Set to NOT_SERVING when the servicer shuts down.
    """

    def __init__(self, engine: "Engine", *, max_streams: int = 64,
                 health_servicer: health.HealthServicer | None = None):
        if max_streams < 1:
            raise InvalidArgumentError(f"max_streams must be >= 1, got {max_streams}")
        self.engine = engine
        self.max_streams = int(max_streams)
        self._health = health_servicer
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()
        self._reserved = 0          # stream slots taken (including ones still opening)
        self._closing = False
        self.streams_served = 0
        #: What the streams sent, per RPC and per stream (GetStats, metrics).
        self.send_counters = SendCounters()
        self._rates = RateTracker()

    # -- requests ------------------------------------------------------------

    def _params(self, request: pb.SubscribeRequest, context) -> StreamParams:
        """Validate a SubscribeRequest, or end the call with INVALID_ARGUMENT."""
        policy = _POLICIES.get(request.policy)
        if policy is None:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   f"invalid policy {request.policy}: use POLICY_BLOCK (1), POLICY_SKIP (2) or "
                   "POLICY_DISCONNECT (3), or leave it unset for block", "InvalidArgumentError")
        frame = request.max_ticks_per_frame or DEFAULT_FRAME_TICKS
        if frame > MAX_FRAME_TICKS:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   f"max_ticks_per_frame {request.max_ticks_per_frame} is too large: use 1 to "
                   f"{MAX_FRAME_TICKS} (or 0 for the default {DEFAULT_FRAME_TICKS})",
                   "InvalidArgumentError")
        if request.max_wait_us > MAX_WAIT_US:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   f"max_wait_us {request.max_wait_us} is too large: use 0 to {MAX_WAIT_US} "
                   "microseconds", "InvalidArgumentError")
        hb = request.heartbeat_interval_ms or DEFAULT_HEARTBEAT_MS
        if not HEARTBEAT_RANGE_MS[0] <= hb <= HEARTBEAT_RANGE_MS[1]:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   f"heartbeat_interval_ms {hb} is out of range: use {HEARTBEAT_RANGE_MS[0]} to "
                   f"{HEARTBEAT_RANGE_MS[1]} (or 0 for the default {DEFAULT_HEARTBEAT_MS})",
                   "InvalidArgumentError")
        symbols = None
        if request.symbols:
            symbols = list(dict.fromkeys(request.symbols))
            unknown = [s for s in symbols if s not in self.engine.symbol_table]
            if unknown:
                self._unknown_symbols(context, unknown)
        from_seq = request.from_seq if request.HasField("from_seq") else None
        if from_seq is not None and from_seq < 0:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   f"from_seq must be >= 0, got {from_seq}", "InvalidArgumentError")
        if request.snapshot and from_seq is not None:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                   "snapshot and from_seq cannot be combined: a snapshot starts the stream at "
                   "the newest results; to resume from a sequence number, leave snapshot unset",
                   "InvalidArgumentError")
        return StreamParams(symbols, policy, frame, request.max_wait_us / 1e6, hb / 1000.0,
                            from_seq, bool(request.snapshot))

    def _unknown_symbols(self, context, unknown: list[str]) -> None:
        message = str(UnknownSymbolError(unknown, self.engine.symbol_table.names))
        message = message.replace("Declare symbols with Engine(symbols=[...]) or "
                                  "engine.add_symbols([...]).", "ListSymbols gives the list.")
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, message, "UnknownSymbolError",
               ((UNKNOWN_SYMBOLS_KEY, json.dumps(unknown).encode()),))

    def _open(self, params: StreamParams, context) -> Subscription:
        """Subscribe to the engine for one stream, or end the call with a status."""
        with self._lock:
            if self._closing:
                _abort(context, grpc.StatusCode.UNAVAILABLE, "the server is shutting down",
                       "ServerShutdown")
            if self._reserved >= self.max_streams:
                _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       f"too many subscribers: the server serves at most {self.max_streams} "
                       "streams at once (mdstream serve --max-streams); try again later",
                       "TooManySubscribersError")
            self._reserved += 1
        try:
            kwargs = {"policy": params.policy, "max_ticks_per_frame": params.max_ticks, "max_wait": params.linger}
            if params.from_seq is not None:
                kwargs["from_seq"] = params.from_seq
            if params.snapshot:
                kwargs["snapshot"] = True
            sub = self.engine.subscribe(params.symbols, **kwargs)
        except BaseException as exc:
            self._release(None)
            self._subscribe_failed(exc, context)
            raise
        with self._lock:
            self._subs.add(sub)
            closing = self._closing
            self.streams_served += 1
        # The client may go away while the handler waits for results: grpc
        # runs this callback on its own thread when the call ends, and closing
        # the subscription wakes the blocked read at once.
        if closing or not context.add_callback(sub.close):
            sub.close()
        return sub

    def _subscribe_failed(self, exc: BaseException, context) -> None:
        if isinstance(exc, UnknownSymbolError):
            self._unknown_symbols(context, [str(s) for s in exc.symbols])
        if isinstance(exc, TooManySubscribersError):
            _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED,
                   f"too many subscribers: {exc}", "TooManySubscribersError")
        if OutOfRangeError is not None and isinstance(exc, OutOfRangeError):
            _abort(context, grpc.StatusCode.OUT_OF_RANGE, str(exc), "OutOfRangeError",
                   ((OLDEST_SEQ_KEY, str(exc.oldest)),))
        if isinstance(exc, InvalidArgumentError):
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc), "InvalidArgumentError")
        if isinstance(exc, JournalError):
            self._replay_failed(context, exc)
        if isinstance(exc, EngineStateError):
            _abort(context, grpc.StatusCode.UNAVAILABLE, f"the engine cannot serve: {exc}",
                   "EngineStateError")

    def _release(self, sub: Subscription | None) -> None:
        if sub is not None:
            sub.close()
        with self._lock:
            if sub is not None:
                self._subs.discard(sub)
            self._reserved -= 1

    def _ended_by_close(self, context) -> None:
        """The subscription was closed under the stream: the client left, or shutdown."""
        if self._closing:
            _abort(context, grpc.StatusCode.UNAVAILABLE,
                   "the server is shutting down; reconnect to another server or later",
                   "ServerShutdown")

    def _too_slow(self, context, exc: SlowConsumerError) -> None:
        _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED,
               f"too slow: {exc}", "SlowConsumerError")

    def _replay_failed(self, context, exc: MDStreamError) -> None:
        """A resumed stream could not be served from the journal: a damaged
        block (DATA_LOSS, naming the file and offset; nothing of it is sent),
        results removed by retention meanwhile (OUT_OF_RANGE), or a journal
        that cannot be read."""
        if OutOfRangeError is not None and isinstance(exc, OutOfRangeError):
            _abort(context, grpc.StatusCode.OUT_OF_RANGE, str(exc), "OutOfRangeError",
                   ((OLDEST_SEQ_KEY, str(exc.oldest)),))
        if isinstance(exc, JournalCorruptError):
            log.error("a resumed stream reached a damaged journal block: %s", exc)
            _abort(context, grpc.StatusCode.DATA_LOSS, f"{exc}; it is not served",
                   "JournalCorruptError",
                   ((JOURNAL_PATH_KEY, exc.path), (JOURNAL_OFFSET_KEY, str(exc.offset))))
        log.error("a resumed stream could not read the journal: %s", exc)
        _abort(context, grpc.StatusCode.DATA_LOSS, f"the journal cannot be read: {exc}",
               type(exc).__name__)

    @staticmethod
    def _snapshot_frames(sub: Subscription, encoder, max_ticks: int) -> Iterator[bytes]:
        """The frames of a subscription's snapshot (SubscribeRequest.snapshot):
        its rows, max_ticks at a time, each frame marked with the fence; at
        least one frame, the last one flagged."""
        snap = sub.snapshot
        rows = snap.results.rows
        starts = range(0, len(rows), max_ticks) if len(rows) else [0]
        for start in starts:
            chunk = rows[start:start + max_ticks]
            fence = pb.ResultBatch(snapshot=pb.SnapshotFence(
                as_of_seq=snap.as_of_seq, last=start + max_ticks >= len(rows)))
            # A serialized message followed by more fields is the merged
            # message: the fence goes first, then the codec's frame.
            yield fence.SerializeToString() + (encoder.encode(chunk) if len(chunk) else b"")

    @staticmethod
    def _last_seq(sub: Subscription) -> int:
        # The cursor is the next seq the subscription looks at: all below it
        # was either sent or filtered out.
        return sub.counters()["cursor"] - 1

    # -- the RPCs ------------------------------------------------------------

    def _next_batch(self, sub: Subscription, context, timeout: float, max_ticks: int,
                    linger: float = 0.0):
        """The subscription's next batch (None on timeout), or _STREAM_OVER once
        the stream has ended; an error ends the call with its status."""
        try:
            return sub.next_batch(timeout=timeout, max_ticks_per_frame=max_ticks, max_wait=linger)
        except StreamEnded:
            return _STREAM_OVER
        except SubscriptionClosedError:
            self._ended_by_close(context)
            return _STREAM_OVER
        except SlowConsumerError as exc:
            self._too_slow(context, exc)
        except _REPLAY_ERRORS as exc:
            self._replay_failed(context, exc)

    def StreamBatches(self, request: pb.SubscribeRequest, context) -> Iterator[bytes]:
        """Columnar ResultBatch frames, as bytes encoded by the core."""
        params = self._params(request, context)
        sub = self._open(params, context)
        sent = self.send_counters.open("StreamBatches", context.peer(), sub.id)
        try:
            encoder = _codec.BatchEncoder(self.engine.symbol_table.names)
            if params.snapshot:
                for frame in self._snapshot_frames(sub, encoder, params.max_ticks):
                    sent.sent(frame)
                    yield frame
            while True:
                batch = self._next_batch(sub, context, params.heartbeat, params.max_ticks,
                                         params.linger)
                if batch is _STREAM_OVER:
                    return
                if batch is None:
                    frame = encoder.heartbeat(self._last_seq(sub), time.time_ns())
                else:
                    frame = encoder.encode(batch.rows, batch.gap)
                sent.sent(frame)
                yield frame
        finally:
            self._release(sub)
            self.send_counters.close(sent)

    def StreamResults(self, request: pb.SubscribeRequest, context) -> Iterator[bytes]:
        """One Result message per tick, each encoded by the core."""
        params = self._params(request, context)
        sub = self._open(params, context)
        sent = self.send_counters.open("StreamResults", context.peer(), sub.id)
        # Results skipped (policy skip) are reported in the next Result sent;
        # a gap may come alone, so it waits for the next row.
        missed = 0
        try:
            encoder = _codec.ResultEncoder(self.engine.symbol_table.names)
            if params.snapshot and len(sub.snapshot.results):
                # Snapshot messages: the codec's Result plus the flag and as_of_seq
                # (appended fields merge into the message).
                flag = pb.Result(snapshot=True, as_of_seq=sub.snapshot.as_of_seq).SerializeToString()
                messages = [m + flag for m in encoder.encode(sub.snapshot.results.rows)]
                sent.sent_many(messages)
                yield from messages
            while True:
                batch = self._next_batch(sub, context, 1.0, params.max_ticks)
                if batch is _STREAM_OVER:
                    return
                if batch is None:
                    continue
                if batch.gap is not None:
                    missed += batch.gap.missed
                if len(batch.rows):
                    messages = encoder.encode(batch.rows, missed)
                    sent.sent_many(messages)        # counted per batch, not per tick
                    for i, message in enumerate(messages):
                        # Closed under us (client gone, or shutdown): stop
                        # sending this batch; the next read reports why.
                        if sub.closed:
                            sent.unsent(messages[i:])
                            break
                        yield message
                    missed = 0
        finally:
            self._release(sub)
            self.send_counters.close(sent)

    def GetSnapshot(self, request: pb.SnapshotRequest, context) -> pb.Snapshot:
        """The newest result of each symbol, as of one sequence number."""
        symbols = list(dict.fromkeys(request.symbols)) or None
        if symbols:
            unknown = [s for s in symbols if s not in self.engine.symbol_table]
            if unknown:
                self._unknown_symbols(context, unknown)
        try:
            snap = self.engine.snapshot(symbols)
        except UnknownSymbolError as exc:
            self._unknown_symbols(context, [str(s) for s in exc.symbols])
        rows = snap.results.rows
        encoder = _codec.ResultEncoder(self.engine.symbol_table.names)
        results = [pb.Result.FromString(m) for m in encoder.encode(rows)]
        return pb.Snapshot(as_of_seq=snap.as_of_seq, results=results,
                           server_time_ns=time.time_ns())

    def GetStats(self, request: pb.StatsRequest, context) -> pb.Stats:
        """The engine's statistics (engine.stats()) and what this server's streams sent."""
        return stats_message(self.engine, self.send_counters, self._rates, self.max_streams)

    def ListSymbols(self, request: pb.ListSymbolsRequest, context) -> pb.ListSymbolsResponse:
        """The engine's symbols with their ids."""
        names = list(self.engine.symbol_table.names)
        return pb.ListSymbolsResponse(
            symbols=[pb.SymbolInfo(id=i, name=n) for i, n in enumerate(names)])

    # -- wiring --------------------------------------------------------------

    def handlers(self, legacy: bool = True) -> list[grpc.GenericRpcHandler]:
        """The generic handlers that serve this servicer (responses of the
        streams are pre-serialized bytes: no response serializer)."""
        stream = {
            "StreamResults": grpc.unary_stream_rpc_method_handler(
                self.StreamResults, request_deserializer=pb.SubscribeRequest.FromString),
            "StreamBatches": grpc.unary_stream_rpc_method_handler(
                self.StreamBatches, request_deserializer=pb.SubscribeRequest.FromString),
            "GetSnapshot": grpc.unary_unary_rpc_method_handler(
                self.GetSnapshot, request_deserializer=pb.SnapshotRequest.FromString,
                response_serializer=pb.Snapshot.SerializeToString),
            "GetStats": grpc.unary_unary_rpc_method_handler(
                self.GetStats, request_deserializer=pb.StatsRequest.FromString,
                response_serializer=pb.Stats.SerializeToString),
            "ListSymbols": grpc.unary_unary_rpc_method_handler(
                self.ListSymbols, request_deserializer=pb.ListSymbolsRequest.FromString,
                response_serializer=pb.ListSymbolsResponse.SerializeToString),
        }
        out = [grpc.method_handlers_generic_handler(SERVICE_NAME, stream)]
        if legacy:
            # The original service had an empty SubscribeRequest and a Result
            # of (symbol = 1, value = 2): the v1 messages are wire-compatible.
            out.append(grpc.method_handlers_generic_handler(
                LEGACY_SERVICE_NAME, {"StreamResults": stream["StreamResults"]}))
        return out

    @property
    def active_streams(self) -> int:
        with self._lock:
            return len(self._subs)

    def shutdown(self) -> None:
        """Refuse new streams and end the open ones with UNAVAILABLE."""
        with self._lock:
            self._closing = True
            subs = list(self._subs)
        if self._health is not None:
            self._health.enter_graceful_shutdown()
        for sub in subs:
            sub.close()


def _format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _check_port_free(host: str, port: int) -> None:
    """Fail early, with a clear message, when the address cannot be bound."""
    if port == 0:
        return
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortInUseError(errno.EADDRNOTAVAIL,
                             f"cannot listen on {_format_address(host, port)}: {exc.strerror}") from None
    family, socktype, proto, _, addr = infos[0]
    with socket.socket(family, socktype, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as grpc does
        try:
            s.bind(addr)
        except OSError as exc:
            hint = " (is another server running? pick another --port, or --port 0 for a free one)" \
                if exc.errno == errno.EADDRINUSE else ""
            raise PortInUseError(exc.errno, f"cannot listen on {_format_address(host, port)}: "
                                            f"{exc.strerror}{hint}") from None


class Server:
    """A gRPC server of one engine: MDStream, health and reflection.

    Parameters
    ----------
    engine:
        The engine to serve. The server does not start or stop it.
    host, port:
        Where to listen; port 0 picks a free port (see ``port`` after start()).
    max_streams:
        Streams served at once (beyond: RESOURCE_EXHAUSTED). Each stream
        takes one thread of the server while it is open.
    legacy_service:
        Also serve the original project's ``mdstream.MDStream/StreamResults``.
    options:
        Extra grpc server options (name, value) pairs.
    """

    def __init__(self, engine: "Engine", host: str = "127.0.0.1", port: int = 50051, *,
                 max_streams: int = 64, legacy_service: bool = True, options=()):
        self.engine = engine
        self.host = host
        self.requested_port = int(port)
        self.port: int | None = None
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self.servicer = MDStreamServicer(engine, max_streams=max_streams,
                                         health_servicer=self.health)
        self._legacy = legacy_service
        # A few threads more than streams, so unary calls (and refusals of
        # streams beyond the limit) are always answered.
        self._threads = max_streams + 8
        self._options = [
            ("grpc.so_reuseport", 0),   # a port in use is an error, not a shared port
            ("grpc.max_send_message_length", 64 << 20),
            ("grpc.max_receive_message_length", 4 << 20),
            *options,
        ]
        self._executor: ThreadPoolExecutor | None = None
        self._server: grpc.Server | None = None
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        """host:port the server listens on (after start())."""
        return _format_address(self.host, self.port if self.port is not None else self.requested_port)

    def start(self) -> "Server":
        """Bind and start serving; raises PortInUseError if the address is taken."""
        if self._server is not None:
            raise EngineStateError("the server was already started")
        _check_port_free(self.host, self.requested_port)
        self._executor = ThreadPoolExecutor(max_workers=self._threads,
                                            thread_name_prefix="mdstream-grpc")
        server = grpc.server(self._executor, options=self._options,
                             maximum_concurrent_rpcs=self._threads)
        server.add_generic_rpc_handlers(tuple(self.servicer.handlers(self._legacy)))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), server)
        try:
            port = server.add_insecure_port(_format_address(self.host, self.requested_port))
        except RuntimeError as exc:
            self._executor.shutdown(wait=False)
            raise PortInUseError(errno.EADDRINUSE,
                                 f"cannot listen on {self.address}: {exc}") from None
        if port == 0:
            self._executor.shutdown(wait=False)
            raise PortInUseError(errno.EADDRINUSE, f"cannot listen on {self.address}")
        self.port = port
        server.start()
        self._server = server
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC server listening on %s", self.address)
        return self

    def stop(self, grace: float = 2.0) -> None:
        """End every stream with a status, stop serving and join the threads.

        Open streams end with UNAVAILABLE at once; calls still running after
        ``grace`` seconds are cancelled. Returns within about 2 x grace.
        Safe to call twice.
        """
        if self._server is None or self._stopped.is_set():
            return
        self._stopped.set()
        deadline = time.monotonic() + 2 * grace + 1.0
        self.servicer.shutdown()
        self._server.stop(grace).wait(grace + 0.5)
        # Join the handler threads; grpc does not shut its executor down.
        joiner = threading.Thread(target=self._executor.shutdown,
                                  kwargs={"wait": True, "cancel_futures": True},
                                  name="mdstream-grpc-join", daemon=True)
        joiner.start()
        joiner.join(max(0.0, deadline - time.monotonic()))
        if joiner.is_alive():
            log.warning("some gRPC handler threads did not end in time")

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until stop() has run (True) or timeout passes (False)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(engine: "Engine", host: str = "127.0.0.1", port: int = 50051, *,
          grace: float = 2.0, on_ready: Callable[[Server], None] | None = None,
          stop_event: threading.Event | None = None, **server_kwargs) -> Server:
    """Serve ``engine`` until SIGINT or SIGTERM (or ``stop_event``), then shut down.

    Starts the server, then the engine (if not started yet), calls
    ``on_ready(server)`` once connections are accepted, and on a signal ends
    the streams with a status, stops the server and the engine and joins
    their threads within a bounded time. A second signal exits at once.
    Must run in the main thread (signal handlers). Returns the stopped server.
    """
    stop = stop_event or threading.Event()
    server = Server(engine, host, port, **server_kwargs).start()
    previous = {}
    signals_seen = []

    def on_signal(signum, frame):
        signals_seen.append(signum)
        if len(signals_seen) > 1:
            # Second Ctrl-C: the user does not want to wait for the shutdown.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        if not engine.running and not getattr(engine, "finished", False):
            try:
                engine.start()
            except EngineStateError:
                pass        # already started (or stopped) by its owner
        if on_ready is not None:
            on_ready(server)
        while not stop.wait(0.25):
            pass
    finally:
        try:
            server.stop(grace)
            engine.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return server
