"""EdgeSource: the gRPC API's data from a JetStream stream instead of an engine.

    from mdstream.grpc import serve
    from mdstream.nats import EdgeSource

    serve(EdgeSource("nats://nats:4222"), "0.0.0.0", 50051)   # what `mdstream edge` runs

The gRPC servicer (mdstream.grpc.servicer) serves an engine through a few
members: ``symbol_table``, ``open(request)``, ``snapshot(symbols)``,
``stream_id``, ``stats()``, ``on_journal_error`` (health). An EdgeSource
has those members and answers them from JetStream, so an edge serves
StreamBatches, StreamResults, GetSnapshot, ListSymbols, GetStats and health
with the same code as ``mdstream serve``:

- a stream opens its own ordered consumer at the position of its
  ``from_seq`` (or after the newest batch, or after a snapshot): the edge
  keeps no state a client depends on, so a client resumes on any edge;
- GetSnapshot and ``snapshot=True`` read the newest message per subject;
- symbol ids are the engine's, as the messages name them;
- health is NOT_SERVING while no NATS server can be reached.

Design: each client stream reads JetStream itself (rather than the edge
filling a local ring) so a client's position is always JetStream's, exact
across edges and restarts, and one slow client holds nobody back; the cost
is one consumer per stream and the decoding of every message per stream.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from typing import TYPE_CHECKING, Iterable

import numpy as np

from mdstream._core import RESULT_DTYPE
from mdstream.batch import ResultBatch, Snapshot
from mdstream.engine.stats import EngineStats, SubscriptionStats
from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.nats.edge.position import live_start, start_of, take_snapshot
from mdstream.nats.edge.subscription import EdgeSubscription
from mdstream.nats.edge.symbols import EdgeSymbols
from mdstream.nats.frames import decode_message
from mdstream.nats.loop import LoopThread
from mdstream.nats.stream import NatsError, StreamSettings, connect, ensure_stream, parse_servers
from mdstream.nats.subjects import (
    DEFAULT_STREAM,
    DEFAULT_SUBJECT_PREFIX,
    MessageSeqs,
    subject_of,
    symbol_of,
)

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

__all__ = ["EdgeSource", "JetStream"]

log = logging.getLogger("mdstream.nats.edge")

#: Seconds between idle heartbeats of a stream's consumer (a consumer lost
#: with a node is recreated after two missed ones).
CONSUMER_HEARTBEAT_S = 1.0


class JetStream:
    """What an edge serves from (GetStats' ``feed``)."""

    def __init__(self, servers: list[str], stream: str):
        self.servers = servers
        self.stream = stream

    def __repr__(self) -> str:
        return f"JetStream stream {self.stream} at {', '.join(self.servers)}"


class EdgeSource:
    """A JetStream stream written by mdstream.nats.Publisher, served like an engine.

    Parameters
    ----------
    servers:
        ``"nats://host:port"``, several comma-separated or a list.
    stream:
        The JetStream stream (default ``MDSTREAM``); its subject prefix is
        read from the stream's configuration.
    connect_timeout, request_timeout:
        Seconds to reach NATS at start (NatsError after), and for each
        JetStream request (stream info, direct gets, consumer creation).
    wait_for_stream:
        Seconds start() waits for the stream to exist (an edge started
        before its engine), then NatsError.

    start() raises NatsError when NATS cannot be reached or has no such
    stream. Streams whose ``from_seq`` is older than the stream holds get
    OutOfRangeError (OUT_OF_RANGE, ``oldest``).
    """

    def __init__(self, servers, *, stream: str = DEFAULT_STREAM, connect_timeout: float = 10.0,
                 request_timeout: float = 5.0, wait_for_stream: float = 60.0):
        self.servers = parse_servers(servers)
        # The prefix is the stream's own, read at start (the name is checked now).
        self._settings = StreamSettings(stream, DEFAULT_SUBJECT_PREFIX)
        self.stream = self._settings.name
        self.subject_prefix = DEFAULT_SUBJECT_PREFIX
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.wait_for_stream = wait_for_stream
        self.feed = JetStream(self.servers, self.stream)
        self.symbol_table = EdgeSymbols(refresh=self._refresh_symbols)
        self._stream_id = ""
        self._loop: LoopThread | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = threading.Lock()
        self._subs: set[EdgeSubscription] = set()
        self._listeners: list = []
        self._state = "new"
        self._started = 0.0
        self._disconnected: str | None = None

    # -- the engine-like surface the servicer uses ------------------------------------

    @property
    def stream_id(self) -> str:
        """The engine's stream id, as the messages carry it ("" before any)."""
        return self._stream_id

    @property
    def symbols(self):
        return self.symbol_table.names

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def finished(self) -> bool:
        return False

    def journal_status(self):
        return None

    def on_journal_error(self, listener) -> None:
        """``listener(text)`` when NATS cannot be reached, ``listener(None)``
        when it can again (the server's health follows it)."""
        self._listeners.append(listener)

    def start(self) -> "EdgeSource":
        """Connect to NATS, check the stream, learn the symbols."""
        if self._state != "new":
            raise EngineStateError(f"the edge source is {self._state}")
        self._loop = LoopThread("mdstream-edge-io")
        try:
            self._run(self._setup(), self.connect_timeout + self.wait_for_stream + 10)
        except BaseException:
            self._shutdown()
            raise
        self._state = "running"
        self._started = time.monotonic()
        log.debug("edge serving JetStream stream %s from %s", self.stream, ", ".join(self.servers))
        return self

    def stop(self) -> None:
        """End every stream (StreamEnded once drained) and close the connection."""
        if self._state == "stopped":
            return
        self._state = "stopped"
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.end()
        self._shutdown()

    def __enter__(self) -> "EdgeSource":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self, coro, timeout: float | None = None):
        if self._loop is None:
            raise EngineStateError("the edge source is not started")
        try:
            return self._loop.run(coro, timeout or self.request_timeout * 4)
        except concurrent.futures.TimeoutError:
            raise NatsError(f"JetStream at {', '.join(self.servers)} did not answer in time") \
                from None

    async def _setup(self) -> None:
        self._nc = await connect(self.servers, "mdstream-edge", self.connect_timeout,
                                 disconnected_cb=self._on_disconnect,
                                 reconnected_cb=self._on_reconnect)
        self._js = self._nc.jetstream(timeout=self.request_timeout)
        deadline = time.monotonic() + self.wait_for_stream
        while True:
            try:
                info = await ensure_stream(self._js, self._settings, False, self.connect_timeout)
                break
            except NatsError:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.5)
        subjects = info.config.subjects or []
        if len(subjects) != 1 or not subjects[0].endswith(".>"):
            raise NatsError(f"JetStream stream {self.stream!r} takes subjects {subjects}: not "
                            "a stream mdstream publishes (one subject <prefix>.>)")
        self.subject_prefix = subjects[0][:-2]
        await self._learn_subjects()

    async def _on_disconnect(self) -> None:
        self._disconnected = f"lost the connection to NATS ({', '.join(self.servers)})"
        for listener in self._listeners:
            listener(self._disconnected)

    async def _on_reconnect(self) -> None:
        self._disconnected = None
        for listener in self._listeners:
            listener(None)

    async def _learn_subjects(self) -> None:
        """Learn the ids of symbols not known yet from their newest message."""
        assert self._js is not None         # connected by start()
        info = await self._js.stream_info(self.stream, subjects_filter=f"{self.subject_prefix}.>")
        subjects = list((info.state.subjects or {}).keys())
        known = set(self.symbol_table.names)
        new = [s for s in subjects if symbol_of(self.subject_prefix, s) not in known]
        for start in range(0, len(new), 64):
            msgs = await asyncio.gather(*(self._js.get_last_msg(self.stream, s)
                                          for s in new[start:start + 64]),
                                        return_exceptions=True)
            for msg in msgs:
                if isinstance(msg, BaseException):
                    continue
                try:
                    # nats-py gives None for an empty payload: not a frame either.
                    _rows, symbols = decode_message(msg.data or b"")
                except ValueError as exc:       # not a frame: skipped, never fatal
                    log.warning("skipped the newest message of %s: not an mdstream frame: %s",
                                msg.subject, exc)
                    continue
                seqs = MessageSeqs.of_any(msg.headers)
                self._learn(symbols, seqs.stream_id if seqs is not None else "")

    def _refresh_symbols(self) -> None:
        if self.running:
            try:
                self._run(self._learn_subjects())
            except Exception as exc:
                log.warning("could not read the stream's symbols: %s", exc)

    def _learn(self, symbols: dict, stream_id: str) -> None:
        """What a stream's message names: its symbol's id, the stream id."""
        self.symbol_table.learn(symbols)
        if stream_id and not self._stream_id:
            self._stream_id = stream_id

    # -- streams -----------------------------------------------------------------

    def open(self, request, *, block_deadline: float | None = None) -> EdgeSubscription:
        """A stream of the results for ``request`` (a StreamRequest) from
        JetStream: at ``from_seq``, after a snapshot, or from the newest
        batch. OutOfRangeError when ``from_seq`` is older than the stream holds."""
        if not self.running:
            raise EngineStateError("the edge is not serving (not started, or stopping)")
        if request.filters_rows or request.conflate:
            # Refused rather than served unfiltered: a client must never take
            # unfiltered results for filtered ones.
            raise InvalidArgumentError(
                "an edge serves results as published: kinds, min_size, min_price, max_price and "
                "conflate are applied by the engine's server (mdstream serve), not by edges; "
                "subscribe there, or filter on the client")
        ids = None if request.symbols is None else set(self.symbol_table.ids(request.symbols))
        snapshot = None
        if request.snapshot:
            snap = self._run(take_snapshot(self._js, self.stream, self.subject_prefix))
            snapshot = self._snapshot_of(snap, ids)
            start = snap.next
        elif request.from_seq is None:
            start = self._run(live_start(self._js, self.stream))
        else:
            start = self._run(start_of(self._js, self.stream, request.from_seq))
        sub = EdgeSubscription(request, self.symbol_table.names, ids, start.from_seq,
                               self._learn, on_close=self._closed)
        sub.snapshot = snapshot
        with self._lock:
            self._subs.add(sub)
        try:
            sub.nats_subscription = self._run(self._consume(sub, start.stream_seq))
        except BaseException:
            sub.close()
            raise
        return sub

    async def _consume(self, sub: EdgeSubscription, stream_seq: int):
        from nats.js import api

        async def on_msg(msg) -> None:
            while sub.full():
                await asyncio.sleep(0.002)
            if not sub.closed:
                sub.offer(msg)

        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                    opt_start_seq=max(1, stream_seq))
        subject = f"{self.subject_prefix}.>"
        if sub.single_subject:
            assert sub.filter is not None   # one symbol's id: the request named symbols
            subject = subject_of(self.subject_prefix, sub.filter[0])
        assert self._js is not None         # connected by start()
        return await self._js.subscribe(subject, stream=self.stream, cb=on_msg,
                                        ordered_consumer=True, config=config,
                                        idle_heartbeat=CONSUMER_HEARTBEAT_S,
                                        pending_msgs_limit=4 * 1024)

    def _closed(self, sub: EdgeSubscription) -> None:
        with self._lock:
            self._subs.discard(sub)
        nsub = sub.nats_subscription
        if nsub is not None and self._loop is not None and self._state != "stopped":
            self._loop.submit(self._unsubscribe(nsub))

    @staticmethod
    async def _unsubscribe(nsub) -> None:
        try:
            await nsub.unsubscribe()
        except Exception:
            pass

    # -- snapshots -----------------------------------------------------------------

    def _snapshot_of(self, snap, ids: set[int] | None) -> Snapshot:
        rows = []
        for data in snap.payloads.values():
            decoded, symbols = decode_message(data)
            self._learn(symbols, snap.stream_id)
            if len(decoded):
                rows.append(decoded[-1:])
        out = np.concatenate(rows) if rows else np.empty(0, dtype=RESULT_DTYPE)
        if ids is not None and len(out):
            out = out[np.isin(out["symbol_id"], np.fromiter(ids, dtype=np.int32))]
        out = out[np.argsort(out["symbol_id"], kind="stable")]
        return Snapshot(snap.as_of_seq, ResultBatch(out, self.symbol_table.names))

    def snapshot(self, symbols: Iterable[str] | str | None = None) -> Snapshot:
        """The newest result of each symbol as of one seq (``as_of_seq``),
        from the newest message of each subject."""
        if isinstance(symbols, str):
            symbols = [symbols]
        ids = None if symbols is None else set(self.symbol_table.ids(list(symbols)))
        if not self.running:
            raise EngineStateError("the edge is not serving (not started, or stopping)")
        return self._snapshot_of(self._run(take_snapshot(self._js, self.stream,
                                                         self.subject_prefix)), ids)

    # -- statistics ----------------------------------------------------------------

    def stats(self) -> EngineStats:
        """An EngineStats of the edge: no engine counters (the edge has no
        engine), one SubscriptionStats per open stream, ``lag`` in
        JetStream messages not yet delivered to it."""
        with self._lock:
            subs = sorted(self._subs, key=lambda s: s.id)
        up = time.monotonic() - self._started if self._started else 0.0
        delivered = sum(s.delivered for s in subs)
        return EngineStats(
            running=self.running, finished=False, uptime_s=up, ticks_in=0, processed=0,
            results=delivered, ticks_per_s=0.0, processed_per_worker=[], channel_depth=[],
            dropped=0, disconnected=0, bad_rows=0,
            subscriptions=[SubscriptionStats(
                id=s.id, symbols=s.filter, policy=s.policy, delivered=s.delivered,
                lag=s.counters()["lag"], missed=s.missed, gaps=s.gaps, disconnected=False)
                for s in subs],
            stream_id=self._stream_id)

    def _shutdown(self) -> None:
        if self._loop is None:
            return
        self._loop.close(self._nc)
        self._nc = None
        self._loop = None
