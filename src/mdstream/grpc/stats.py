"""Statistics of a gRPC server: what its streams sent, and the GetStats message.

The servicer counts what it sends per frame (StreamBatches) or per batch of
Result messages (StreamResults), never per tick: each stream has its own
:class:`StreamCounters`, written only by the thread that serves it, so the
hot path takes no lock. Closed streams are folded into per-RPC totals.

``stats_message`` builds the ``mdstream.v1.Stats`` message from
``engine.stats()`` and those counters; ``read_stats`` turns one back into
typed objects (:class:`RemoteStats`, whose ``engine`` is an
:class:`mdstream.engine.stats.EngineStats`), which ``Client.get_stats()`` returns.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from mdstream.engine.stats import (
    EngineStats,
    JournalStats,
    Percentiles,
    StageLatency,
    SubscriptionStats,
)
from mdstream.grpc.contract import PB_TO_POLICY, POLICY_TO_PB
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.grpc.source import ResultSource

__all__ = ["StreamCounters", "SendCounters", "RateTracker", "RpcCounters", "StreamInfo", "Rates",
           "JournalInfo", "RemoteStats", "stats_message", "read_stats", "describe_feed"]

STREAM_RPCS = ("StreamBatches", "StreamResults")


# -- counting on the server ------------------------------------------------------

class StreamCounters:
    """What one stream has sent; written by the stream's own thread only."""

    __slots__ = ("rpc", "peer", "subscription_id", "messages", "bytes")

    def __init__(self, rpc: str, peer: str, subscription_id: int):
        self.rpc = rpc
        self.peer = peer
        self.subscription_id = subscription_id
        self.messages = 0
        self.bytes = 0

    def sent(self, message: bytes) -> None:
        """One message (a frame) sent."""
        self.messages += 1
        self.bytes += len(message)

    def sent_many(self, messages: list) -> None:
        """A batch of messages sent (one Result per tick: counted per batch)."""
        self.messages += len(messages)
        self.bytes += sum(map(len, messages))

    def unsent(self, messages: list) -> None:
        """Messages counted by sent_many that were not sent after all."""
        self.messages -= len(messages)
        self.bytes -= sum(map(len, messages))


@dataclass(frozen=True)
class RpcCounters:
    """What one streaming RPC of a server has sent since it started."""

    method: str
    streams_open: int
    streams_served: int
    messages_sent: int
    bytes_sent: int


class SendCounters:
    """The send counters of a server's streams, per RPC."""

    def __init__(self, rpcs: Iterable[str] = STREAM_RPCS):
        self._lock = threading.Lock()
        self._open: set[StreamCounters] = set()
        # Per RPC: [streams served, messages, bytes] of the streams already closed.
        self._closed = {rpc: [0, 0, 0] for rpc in rpcs}

    def open(self, rpc: str, peer: str, subscription_id: int) -> StreamCounters:
        """Start counting a new stream."""
        stream = StreamCounters(rpc, peer, subscription_id)
        with self._lock:
            self._open.add(stream)
            self._closed.setdefault(rpc, [0, 0, 0])[0] += 1
        return stream

    def close(self, stream: StreamCounters) -> None:
        """The stream ended: fold its counts into its RPC's totals."""
        with self._lock:
            if stream in self._open:
                self._open.discard(stream)
                totals = self._closed[stream.rpc]
                totals[1] += stream.messages
                totals[2] += stream.bytes

    def streams(self) -> list[StreamCounters]:
        """The open streams."""
        with self._lock:
            return list(self._open)

    def totals(self) -> list[RpcCounters]:
        """Per RPC, open and closed streams together."""
        with self._lock:
            out = {rpc: [0, served, messages, nbytes]
                   for rpc, (served, messages, nbytes) in self._closed.items()}
            for s in self._open:
                row = out[s.rpc]
                row[0] += 1
                row[2] += s.messages
                row[3] += s.bytes
        return [RpcCounters(rpc, *row) for rpc, row in out.items()]

    def metric_families(self):
        """Prometheus metric families of these counters (for
        ``mdstream.observe.metrics.start_metrics_server(..., extra=...)``)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        totals = self.totals()
        families = (
            (GaugeMetricFamily, "mdstream_grpc_subscribers", "gRPC streams being served now.",
             "streams_open"),
            (CounterMetricFamily, "mdstream_grpc_streams", "gRPC streams opened.",
             "streams_served"),
            (CounterMetricFamily, "mdstream_grpc_messages_sent",
             "Messages sent on gRPC streams (frames, Results, heartbeats).", "messages_sent"),
            (CounterMetricFamily, "mdstream_grpc_bytes_sent",
             "Bytes of the messages sent on gRPC streams (before gRPC framing).", "bytes_sent"),
        )
        for kind, name, doc, attr in families:
            family = kind(name, doc, labels=["rpc"])
            for t in totals:
                family.add_metric([t.method], getattr(t, attr))
            yield family


class RateTracker:
    """Recent rates from samples of cumulative counters taken at each GetStats
    call: the rate is over the newest sample at least ``min_window`` seconds
    old (kept up to ``keep`` seconds), so a viewer refreshing every second
    sees rates over about its last second."""

    def __init__(self, min_window: float = 1.0, keep: float = 10.0):
        self.min_window = min_window
        self.keep = keep
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, tuple]] = deque()

    def rates(self, now: float, counters: tuple) -> tuple[float, tuple] | None:
        """(window in s, per-second rates of counters) against a past sample,
        or None when there is none old enough; records this sample."""
        with self._lock:
            while self._samples and now - self._samples[0][0] > self.keep:
                self._samples.popleft()
            base = None
            for t, values in reversed(self._samples):
                if now - t >= self.min_window:
                    base = (t, values)
                    break
            if not self._samples or now - self._samples[-1][0] >= self.min_window / 4:
                self._samples.append((now, counters))
        if base is None:
            return None
        span = now - base[0]
        return span, tuple((c - b) / span for c, b in zip(counters, base[1]))


def describe_feed(feed) -> str:
    """A short description of an engine's feed, e.g. "csv: trades.csv (speed 1)"."""
    if feed is None:
        return "none (published by the application)"
    name = type(feed).__name__
    if name == "CSVFeed":
        import os
        files = ", ".join(os.path.basename(p) for p in feed.paths)
        speed = "as fast as possible" if feed.speed == 0 else f"speed {feed.speed:g}"
        return f"csv: {files} ({speed}{', looping' if feed.loop else ''})"
    if name == "SimulatedFeed":
        return "simulated"
    return name


# -- the GetStats message -----------------------------------------------------------

def _percentiles_pb(p: Percentiles) -> pb.LatencyPercentiles:
    return pb.LatencyPercentiles(count=p.count, p50_ns=p.p50, p90_ns=p.p90, p99_ns=p.p99,
                                 p999_ns=p.p999, max_ns=p.max)


def _latency_pb(latency: dict[str, StageLatency]) -> list[pb.StageLatency]:
    return [pb.StageLatency(stage=stage, window=_percentiles_pb(lat.window),
                            total=_percentiles_pb(lat.total))
            for stage, lat in latency.items()]


def _journal_pb(j: JournalStats) -> pb.JournalStats:
    # The directory's name only, and no server path in the error: paths stay
    # in the server's log.
    import os

    directory = str(j.directory or "")
    name = os.path.basename(directory.rstrip("/")) or directory

    def hide(text: str) -> str:
        return (text or "").replace(directory, name) if directory else text

    error = hide(j.error)
    return pb.JournalStats(
        directory=name, durability=j.durability, written_seq=j.written_seq,
        oldest_seq=-1 if j.oldest_seq is None else j.oldest_seq, bytes=j.bytes, fsyncs=j.fsyncs,
        state_files=j.state_files, error=error, recovered_segments=j.recovered_segments,
        recovered_results=j.recovered_results, torn_bytes_cut=j.torn_bytes_cut,
        failures=j.failures, last_error=hide(j.last_error))


def stats_message(engine: "ResultSource", counters: SendCounters, rates: RateTracker,
                  max_streams: int, detail: bool = True) -> pb.Stats:
    """The Stats message of an engine and of a server's send counters.

    ``detail`` False: aggregate figures only, no subscriber list (no peer
    addresses, symbols or policies of other clients)."""
    st = engine.stats()
    now = time.monotonic()
    totals = counters.totals()
    streams = {s.subscription_id: s for s in counters.streams()}
    messages = sum(t.messages_sent for t in totals)
    nbytes = sum(t.bytes_sent for t in totals)
    cumulative = (st.ticks_in, st.processed, st.results, messages, nbytes)
    up = st.uptime_s

    def rates_pb(window: float, values: tuple) -> pb.Rates:
        return pb.Rates(window_s=window, ticks_in_per_s=values[0], processed_per_s=values[1],
                        results_per_s=values[2], messages_sent_per_s=values[3],
                        bytes_sent_per_s=values[4])

    average = rates_pb(up, tuple(c / up for c in cumulative) if up > 0 else (0.0,) * 5)
    recent = rates.rates(now, cumulative)
    msg = pb.Stats(
        server_time_ns=time.time_ns(), uptime_s=up, running=st.running, finished=bool(st.finished),
        feed=describe_feed(engine.feed), symbols=len(engine.symbols),
        ticks_in=st.ticks_in, processed=st.processed, results=st.results, dropped=st.dropped,
        disconnected=st.disconnected, bad_rows=st.bad_rows,
        processed_per_worker=list(st.processed_per_worker), channel_depth=list(st.channel_depth),
        rates=rates_pb(*recent) if recent is not None else average, average=average,
        latency=_latency_pb(st.latency),
        rpcs=[pb.RpcStats(method=t.method, streams_open=t.streams_open,
                          streams_served=t.streams_served, messages_sent=t.messages_sent,
                          bytes_sent=t.bytes_sent) for t in totals],
        streams_open=sum(t.streams_open for t in totals), max_streams=max_streams,
        late_ticks=st.late_ticks, stream_id=st.stream_id)
    for s in sorted(st.subscriptions, key=lambda s: s.id) if detail else ():
        sub = msg.subscribers.add(id=s.id, symbols=list(s.symbols or ()),
                                  policy=POLICY_TO_PB.get(s.policy, pb.POLICY_UNSPECIFIED),
                                  delivered=s.delivered, lag=s.lag, missed=s.missed, gaps=s.gaps,
                                  disconnected=bool(s.disconnected), latency=_latency_pb(s.latency))
        stream = streams.get(s.id)
        if stream is not None:
            sub.rpc = stream.rpc
            sub.peer = stream.peer
            sub.messages_sent = stream.messages
            sub.bytes_sent = stream.bytes
    if st.journal is not None:
        msg.journal.CopyFrom(_journal_pb(st.journal))
    return msg


# -- reading it back (the client side) ----------------------------------------------

@dataclass(frozen=True)
class Rates:
    """Per-second rates over ``window_s`` seconds."""

    window_s: float
    ticks_in_per_s: float
    processed_per_s: float
    results_per_s: float
    messages_sent_per_s: float
    bytes_sent_per_s: float


@dataclass(frozen=True)
class StreamInfo:
    """The gRPC side of a subscriber that is a stream of the server."""

    rpc: str
    peer: str
    messages_sent: int
    bytes_sent: int


@dataclass(frozen=True)
class JournalInfo:
    directory: str
    durability: str
    written_seq: int
    oldest_seq: int               # -1: nothing journaled yet
    bytes: int
    fsyncs: int
    state_files: int
    error: str
    recovered_segments: int
    recovered_results: int
    torn_bytes_cut: int
    failures: int = 0             # times the writer could not write since start
    last_error: str = ""          # the newest failure, kept once it recovered


@dataclass(frozen=True)
class RemoteStats:
    """What GetStats returned: the engine's stats (an EngineStats, as
    ``engine.stats()`` gives in the server's process) and the server's."""

    server_time_ns: int
    engine: EngineStats
    feed: str
    symbols: int
    rates: Rates                  # recent (see the proto's Stats.rates)
    average: Rates                # since the engine started
    rpcs: dict[str, RpcCounters]
    streams_open: int
    max_streams: int
    journal: JournalInfo | None
    #: subscription id -> its gRPC stream, for subscribers that are streams of the server.
    streams: dict[int, StreamInfo] = field(default_factory=dict)


def _percentiles(p: pb.LatencyPercentiles) -> Percentiles:
    return Percentiles(p.count, p.p50_ns, p.p90_ns, p.p99_ns, p.p999_ns, p.max_ns)


def _latency(items) -> dict[str, StageLatency]:
    return {s.stage: StageLatency(_percentiles(s.window), _percentiles(s.total)) for s in items}


def _rates(r: pb.Rates) -> Rates:
    return Rates(r.window_s, r.ticks_in_per_s, r.processed_per_s, r.results_per_s,
                 r.messages_sent_per_s, r.bytes_sent_per_s)


def read_stats(msg: pb.Stats) -> RemoteStats:
    """A Stats message as typed objects."""
    subs = [SubscriptionStats(s.id, list(s.symbols) or None, PB_TO_POLICY.get(s.policy, "block"),
                              s.delivered, s.lag, s.missed, s.gaps, s.disconnected,
                              _latency(s.latency))
            for s in msg.subscribers]
    engine = EngineStats(
        running=msg.running, finished=msg.finished, uptime_s=msg.uptime_s, ticks_in=msg.ticks_in,
        processed=msg.processed, results=msg.results, ticks_per_s=msg.average.processed_per_s,
        processed_per_worker=list(msg.processed_per_worker),
        channel_depth=list(msg.channel_depth), dropped=msg.dropped,
        disconnected=msg.disconnected, bad_rows=msg.bad_rows, subscriptions=subs,
        latency=_latency(msg.latency), late_ticks=msg.late_ticks, stream_id=msg.stream_id)
    journal = None
    if msg.HasField("journal"):
        j = msg.journal
        journal = JournalInfo(j.directory, j.durability, j.written_seq, j.oldest_seq, j.bytes,
                              j.fsyncs, j.state_files, j.error, j.recovered_segments,
                              j.recovered_results, j.torn_bytes_cut, j.failures, j.last_error)
    streams = {s.id: StreamInfo(s.rpc, s.peer, s.messages_sent, s.bytes_sent)
               for s in msg.subscribers if s.rpc}
    return RemoteStats(
        server_time_ns=msg.server_time_ns, engine=engine, feed=msg.feed, symbols=msg.symbols,
        rates=_rates(msg.rates), average=_rates(msg.average),
        rpcs={r.method: RpcCounters(r.method, r.streams_open, r.streams_served, r.messages_sent,
                                    r.bytes_sent) for r in msg.rpcs},
        streams_open=msg.streams_open, max_streams=msg.max_streams, journal=journal,
        streams=streams)
