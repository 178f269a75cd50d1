"""MDStreamServicer: the mdstream.v1.MDStream service over one Engine.

The servicer is thin. It turns a SubscribeRequest into a StreamRequest
(mdstream.grpc.contract), opens an engine subscription with it and yields
bytes that the compiled codec encoded from the engine's result arrays
without the GIL; grpcio sends them as they are (an identity response
serializer), so the server makes no Python object per tick for StreamBatches
and one ``bytes`` per tick (what grpcio sends) for StreamResults.

Every error is mapped in one place (``_errors``, by the contract's table):
the call ends with its gRPC status, a google.rpc.Status with an ErrorInfo,
and the trailing metadata keys the first servers sent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Iterator

import grpc
from grpc_health.v1 import health

from mdstream import _codec
from mdstream.engine.subscription import StreamEnded
from mdstream.errors import (
    InvalidArgumentError,
    SubscriptionClosedError,
    TooManySubscribersError,
    UnknownSymbolError,
)
from mdstream.grpc import requests
from mdstream.grpc.contract import (
    DEFAULT_BLOCK_DEADLINE_S,
    LEGACY_SERVICE_NAME,
    SERVICE_NAME,
    ServerShutdownError,
    allowed_policies,
    check_policy,
    check_symbol_count,
    request_from_proto,
)
from mdstream.grpc.entitlements import Entitlements
from mdstream.grpc.errors import abort_on_error
from mdstream.grpc.identity import announce_stream, batch_heartbeat
from mdstream.grpc.stats import RateTracker, SendCounters, StreamCounters, stats_message
from mdstream.grpc.trading import TradingServicer, has_paper_venue, trading_handlers
from mdstream.request import POLICIES, StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.grpc.source import ResultSource, ResultSubscription

__all__ = ["MDStreamServicer", "FRAME_LINGER_MODES"]

#: MDStreamServicer(frame_linger=...): how StreamBatches frames wait for results.
FRAME_LINGER_MODES = ("adaptive", "fixed")

log = logging.getLogger("mdstream.grpc.server")

#: The closing advice of an UnknownSymbolError sent to a client.
_LIST_SYMBOLS_HINT = "ListSymbols gives the list."
_allowed = allowed_policies      # the parameter's name hides the function in __init__


class MDStreamServicer:
    """The mdstream.v1.MDStream service over one engine. Paper trading
    (Trade, GetOrders, GetPositions) is its ``trading`` part
    (mdstream.grpc.trading), served when the engine has a paper venue.

    Parameters
    ----------
    engine:
        The engine to serve (or another ResultSource: mdstream.grpc.source);
        it may be started before or after the server.
    max_streams:
        Streams (StreamResults + StreamBatches) served at once; one more gets
        RESOURCE_EXHAUSTED (TOO_MANY_SUBSCRIBERS).
    health_servicer:
        Set to NOT_SERVING when the servicer shuts down.
    allowed_policies:
        The policies remote subscribers may ask for (default: all three);
        another gets PERMISSION_DENIED (POLICY_NOT_ALLOWED) naming these. A
        request that leaves the policy unset gets ``skip``
        (contract.REMOTE_DEFAULT_POLICY), whatever this allows.
    block_deadline:
        Seconds a remote 'block' subscriber may hold the engine back before
        it is disconnected with RESOURCE_EXHAUSTED (SLOW_CONSUMER, the
        message naming the deadline); None or 0: no deadline (a stalled
        client then stalls the engine).
    tokens, detailed_stats:
        A mdstream.grpc.auth.TokenTable (None: no tokens): a token limited to
        some symbols sees and gets those only (PERMISSION_DENIED for others);
        a token trades (Trade, GetOrders, GetPositions) only with the
        ``trade`` right and only its ``accounts``.
        GetStats lists every subscriber (peer, symbols, policy) to a token
        with the ``stats`` right, or without tokens when ``detailed_stats``;
        to others, aggregate figures only. See mdstream.grpc.entitlements.

    Raises InvalidArgumentError for max_streams < 1, an unknown policy, or
    a negative deadline.
    """

    def __init__(self, engine: "ResultSource", *, max_streams: int = 64,
                 health_servicer: health.HealthServicer | None = None,
                 allowed_policies: tuple[str, ...] | str = POLICIES,
                 block_deadline: float | None = DEFAULT_BLOCK_DEADLINE_S,
                 tokens=None, detailed_stats: bool = False,
                 frame_linger: str = "adaptive"):
        if max_streams < 1:
            raise InvalidArgumentError(f"max_streams must be >= 1, got {max_streams}")
        if block_deadline is not None and not block_deadline >= 0:
            raise InvalidArgumentError(
                f"block_deadline must be >= 0 seconds (or None), got {block_deadline}")
        if frame_linger not in FRAME_LINGER_MODES:
            raise InvalidArgumentError(
                f"frame_linger must be one of {', '.join(FRAME_LINGER_MODES)}, got {frame_linger!r}")
        self.engine = engine
        #: How a StreamBatches frame waits for results (the request's max_wait):
        #: "adaptive" sends at once when results trickle in and lingers up to
        #: max_wait only while they pour in; "fixed" always waits up to
        #: max_wait after a frame's first result.
        self.frame_linger = frame_linger
        self.max_streams = int(max_streams)
        self.allowed_policies = _allowed(allowed_policies)
        self.block_deadline = block_deadline or None
        self._health = health_servicer
        self._lock = threading.Lock()
        self._subs: set[ResultSubscription] = set()
        self._reserved = 0          # stream slots taken (including ones still opening)
        self._closing = False
        #: What the streams sent, per RPC and per stream (GetStats, metrics).
        self.send_counters = SendCounters()
        self._rates = RateTracker()
        self.entitlements = Entitlements(engine, tokens, detailed_stats)
        #: Trade, GetOrders, GetPositions (mdstream.grpc.trading), when the
        #: engine has a paper venue (None: those answer FAILED_PRECONDITION).
        self.trading = (TradingServicer(engine, self.entitlements, lambda: self._closing)
                        if has_paper_venue(engine) else None)

    # -- errors --------------------------------------------------------------

    def _check_symbols(self, symbols) -> None:
        """UnknownSymbolError naming the unknown ones and what the engine knows."""
        if symbols:
            unknown = [s for s in symbols if s not in self.engine.symbol_table]
            if unknown:
                raise UnknownSymbolError(unknown, self.engine.symbol_table.names,
                                         hint=_LIST_SYMBOLS_HINT)

    # -- streams ---------------------------------------------------------------

    def _open(self, request: StreamRequest, context) -> "ResultSubscription":
        """Take a stream slot and subscribe to the engine for one stream."""
        self._check_symbols(request.symbols)
        with self._lock:
            if self._closing:
                raise ServerShutdownError("the server is shutting down")
            if self._reserved >= self.max_streams:
                raise TooManySubscribersError(
                    f"the server serves at most {self.max_streams} streams at once "
                    "(mdstream serve --max-streams); try again later")
            self._reserved += 1
        try:
            sub = self.engine.open(request, block_deadline=self.block_deadline)
        except UnknownSymbolError as exc:
            self._release(None)
            raise UnknownSymbolError(exc.symbols, self.engine.symbol_table.names,
                                     hint=_LIST_SYMBOLS_HINT) from exc
        except BaseException:
            self._release(None)
            raise
        with self._lock:
            self._subs.add(sub)
            closing = self._closing
        # The client may go away while the handler waits for results: grpc
        # runs this callback on its own thread when the call ends, and closing
        # the subscription wakes the blocked read at once.
        if closing or not context.add_callback(sub.close):
            sub.close()
        return sub

    def _release(self, sub: "ResultSubscription | None") -> None:
        if sub is not None:
            sub.close()
        with self._lock:
            if sub is not None:
                self._subs.discard(sub)
            self._reserved -= 1

    def _closed_under(self) -> None:
        """The subscription was closed under the stream: the client left
        (the stream just ends), or the server shuts down (UNAVAILABLE)."""
        if self._closing:
            raise ServerShutdownError(
                "the server is shutting down; reconnect to another server or later")

    @staticmethod
    def _snapshot_frames(sub: "ResultSubscription", encoder, max_ticks: int) -> Iterator[bytes]:
        """The frames of a subscription's snapshot (SubscribeRequest.snapshot):
        its rows, max_ticks at a time, each frame marked with the fence; at
        least one frame, the last one flagged."""
        snap = sub.snapshot
        assert snap is not None          # snapshot=True: the subscription has one
        rows = snap.results.rows
        starts = range(0, len(rows), max_ticks) if len(rows) else [0]
        for start in starts:
            chunk = rows[start:start + max_ticks]
            fence = pb.ResultBatch(snapshot=pb.SnapshotFence(
                as_of_seq=snap.as_of_seq, last=start + max_ticks >= len(rows)))
            # A serialized message followed by more fields is the merged
            # message: the fence goes first, then the codec's frame.
            yield fence.SerializeToString() + (encoder.encode(chunk) if len(chunk) else b"")

    @contextlib.contextmanager
    def _stream(self, request: pb.SubscribeRequest, context, rpc: str
                ) -> Iterator[tuple[StreamRequest, "ResultSubscription", StreamCounters]]:
        """One stream's life, for both streaming RPCs: the request checked
        (policy, entitlements, expected stream id), a subscription opened and
        its send counters; the end of the data ends the call with OK, a
        subscription closed under it with the status of why; the slot and
        the counters are released in every case. Yields (request, sub, sent)."""
        req = check_policy(request_from_proto(request), self.allowed_policies)
        req = self.entitlements.stream_request(req, context)
        announce_stream(self.engine, request, context)
        sub = self._open(req, context)
        sent = self.send_counters.open(rpc, context.peer(), sub.id)
        try:
            yield req, sub, sent
        except StreamEnded:
            return
        except SubscriptionClosedError:
            self._closed_under()
        finally:
            self._release(sub)
            self.send_counters.close(sent)

    # -- the RPCs ------------------------------------------------------------

    def StreamBatches(self, request: pb.SubscribeRequest, context) -> Iterator[bytes]:
        """Columnar ResultBatch frames, as bytes encoded by the core (only
        the columns of ``fields`` when the request names some): the
        snapshot's frames first (``snapshot``), then a frame per batch of up
        to max_ticks_per_frame results, a heartbeat frame after
        heartbeat_interval seconds without results."""
        with abort_on_error(context), \
                self._stream(request, context, "StreamBatches") as (req, sub, sent):
            # Field projection: the core writes only the requested columns.
            encoder = _codec.BatchEncoder(self.engine.symbol_table.names, req.fields)
            if req.snapshot:
                for frame in self._snapshot_frames(sub, encoder, req.max_ticks_per_frame):
                    sent.sent(frame)
                    yield frame
            heartbeat = req.heartbeat_interval
            adaptive = self.frame_linger == "adaptive"
            next_batch, encode = sub.next_batch, encoder.encode
            beat = batch_heartbeat(self.engine, encoder.heartbeat)
            while True:
                batch = next_batch(heartbeat, adaptive=adaptive)
                if batch is None:
                    frame = beat(sub.last_seq, time.time_ns())
                else:
                    frame = encode(batch.rows, batch.gap)
                sent.sent(frame)
                yield frame

    def StreamResults(self, request: pb.SubscribeRequest, context) -> Iterator[bytes]:
        """One Result message per tick, each encoded by the core (the
        snapshot's results first, flagged ``snapshot``); with
        ``result_heartbeats``, a heartbeat Result after heartbeat_interval
        seconds without results."""
        with abort_on_error(context), \
                self._stream(request, context, "StreamResults") as (req, sub, sent):
            heartbeats = request.result_heartbeats
            idle = req.heartbeat_interval if heartbeats else 1.0
            # Results skipped (policy skip) are reported in the next Result sent;
            # a gap may come alone, so it waits for the next row.
            missed = 0
            encoder = _codec.ResultEncoder(self.engine.symbol_table.names)
            snap = sub.snapshot if req.snapshot else None
            assert snap is not None or not req.snapshot   # snapshot=True: the subscription has one
            if snap is not None and len(snap.results):
                # Snapshot messages: the codec's Result plus the flag and as_of_seq
                # (appended fields merge into the message).
                flag = pb.Result(snapshot=True, as_of_seq=snap.as_of_seq).SerializeToString()
                messages = [m + flag for m in encoder.encode(snap.results.rows)]
                sent.sent_many(messages)
                yield from messages
            while True:
                batch = sub.next_batch(idle, max_wait=0.0)
                if batch is None:
                    if heartbeats:
                        beat = pb.Result(heartbeat=True, last_seq=sub.last_seq,
                                         server_time_ns=time.time_ns(),
                                         stream_id=self.engine.stream_id).SerializeToString()
                        sent.sent(beat)
                        yield beat
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

    def GetSnapshot(self, request: pb.SnapshotRequest, context) -> pb.Snapshot:
        """The newest result of each symbol, as of one sequence number
        (UnknownSymbolError: INVALID_ARGUMENT / UNKNOWN_SYMBOL)."""
        with abort_on_error(context):
            check_symbol_count(request.symbols)
            symbols = list(dict.fromkeys(request.symbols)) or None
            symbols = self.entitlements.snapshot_symbols(symbols, context)
            self._check_symbols(symbols)
            try:
                snap = self.engine.snapshot(symbols)
            except UnknownSymbolError as exc:
                raise UnknownSymbolError(exc.symbols, self.engine.symbol_table.names,
                                         hint=_LIST_SYMBOLS_HINT) from exc
            rows = snap.results.rows
            encoder = _codec.ResultEncoder(self.engine.symbol_table.names)
            results = [pb.Result.FromString(m) for m in encoder.encode(rows)]
            return pb.Snapshot(as_of_seq=snap.as_of_seq, results=results,
                               server_time_ns=time.time_ns(), stream_id=self.engine.stream_id)

    def GetStats(self, request: pb.StatsRequest, context) -> pb.Stats:
        """The engine's statistics (engine.stats()) and what this server's streams sent."""
        return stats_message(self.engine, self.send_counters, self._rates, self.max_streams,
                             detail=self.entitlements.stats_detail(context))

    def ListSymbols(self, request: pb.ListSymbolsRequest, context) -> pb.ListSymbolsResponse:
        """The engine's symbols with their ids."""
        names = list(self.engine.symbol_table.names)
        seen = self.entitlements.visible_names(names, context)
        return pb.ListSymbolsResponse(
            symbols=[pb.SymbolInfo(id=i, name=n) for i, n in enumerate(names) if n in seen])

    # -- wiring --------------------------------------------------------------

    def handlers(self, legacy: bool = True) -> list[grpc.GenericRpcHandler]:
        """The generic handlers that serve this servicer (responses of the
        streams are pre-serialized bytes: no response serializer)."""
        stream = {
            "StreamResults": requests.unary_stream(self.StreamResults, pb.SubscribeRequest),
            "StreamBatches": requests.unary_stream(self.StreamBatches, pb.SubscribeRequest),
            "GetSnapshot": requests.unary_unary(self.GetSnapshot, pb.SnapshotRequest, pb.Snapshot),
            "GetStats": requests.unary_unary(self.GetStats, pb.StatsRequest, pb.Stats),
            "ListSymbols": requests.unary_unary(self.ListSymbols, pb.ListSymbolsRequest,
                                                pb.ListSymbolsResponse),
            **trading_handlers(self.trading),
        }
        out = [grpc.method_handlers_generic_handler(SERVICE_NAME, stream)]
        if legacy:
            # The original service had an empty SubscribeRequest and a Result
            # of (symbol = 1, value = 2): the v1 messages are wire-compatible.
            out.append(grpc.method_handlers_generic_handler(
                LEGACY_SERVICE_NAME, {"StreamResults": stream["StreamResults"]}))
        return out

    @property
    def streams_served(self) -> int:
        """Streams opened since the start, over both streaming RPCs."""
        return sum(t.streams_served for t in self.send_counters.totals())

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
        if self.trading is not None:
            self.trading.shutdown()
