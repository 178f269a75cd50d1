"""Typed statistics of an engine."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from mdstream.journal.watch import error_text
from mdstream.request import Policy

if TYPE_CHECKING:
    from mdstream._core import LatencyHistogram

__all__ = ["EngineStats", "SubscriptionStats", "JournalStats", "Percentiles", "StageLatency",
           "journal_stats", "stats_html"]


@dataclass(frozen=True)
class Percentiles:
    """Latency percentiles in ns over some set of results (0 when there were none)."""

    count: int
    p50: int
    p90: int
    p99: int
    p999: int
    max: int

    @classmethod
    def of(cls, hist: LatencyHistogram) -> "Percentiles":
        """From a LatencyHistogram."""
        return cls(hist.count, hist.percentile(50), hist.percentile(90), hist.percentile(99),
                   hist.percentile(99.9), hist.max)

    def __str__(self) -> str:
        us = lambda ns: f"{ns / 1000:,.1f}"
        return (f"p50={us(self.p50)}us p99={us(self.p99)}us p999={us(self.p999)}us "
                f"max={us(self.max)}us n={self.count:,}")


@dataclass(frozen=True)
class StageLatency:
    """A stage's latency over the last 10 seconds (window) and since start (total)."""

    window: Percentiles
    total: Percentiles


@dataclass(frozen=True)
class SubscriptionStats:
    id: int
    symbols: list[str] | None   # None: every symbol
    policy: Policy
    delivered: int              # results handed to the subscriber
    lag: int                    # results written but not yet read (sequence numbers)
    missed: int                 # results skipped by the 'skip' policy
    gaps: int                   # gap notices given
    disconnected: bool          # dropped by the 'disconnect' policy
    latency: dict[str, StageLatency] = field(default_factory=dict)  # processed_to_sent, age_at_send


@dataclass(frozen=True)
class VenueStats:
    """The paper venue of an engine (Engine(venue=...)): what it has done."""

    requests: int               # order requests acted on (new, cancel, replace, cancel-all)
    reports: int                # execution reports written (the next report seq)
    open_orders: int
    pending: int                # requests delayed by the venue's latency, not arrived yet
    clock_ns: int               # the venue's event time (ns since the epoch; 0: none yet)
    no_memory: bool             # a table could not grow: the venue stopped acting (see the log)


@dataclass(frozen=True)
class JournalStats:
    """The journal of an engine: where it is, what was written, what a start recovered."""

    directory: str
    durability: str             # "write", "interval" or "fsync"
    written_seq: int            # every result with seq below this is in the journal
    oldest_seq: int | None      # the oldest seq a subscription can resume from (None: none yet)
    bytes: int                  # bytes written since the engine started
    fsyncs: int                 # fsync() calls since the engine started
    state_files: int            # analytics state files written since the engine started
    error: str                  # the writer's error now: file and OS error in words; "" while well
    recovered_segments: int     # what the start on an existing journal found (0: a new journal)
    recovered_results: int      # results replayed to rebuild the analytics
    next_seq: int               # where the sequence continued after the start
    torn_bytes_cut: int         # bytes of a torn tail (a crash mid-write) cut off
    torn_file: str | None
    failures: int = 0           # times the writer could not write since start (each ended or not)
    last_error: str = ""        # the newest failure in words, kept once it recovered


@dataclass(frozen=True)
class EngineStats:
    running: bool
    finished: bool              # the feed ended and every tick was processed
    uptime_s: float
    ticks_in: int               # ticks taken since start (bar markers and recovered results not)
    processed: int              # ticks processed by the workers
    results: int                # results in the log, readable by subscribers
    ticks_per_s: float          # processed / uptime
    processed_per_worker: list[int]
    channel_depth: list[int]    # ticks waiting in each worker's channel
    dropped: int                # results 'skip' subscribers missed
    disconnected: int           # subscriptions dropped as too slow
    bad_rows: int               # input rows a feed skipped as malformed (on_bad_row="skip")
    subscriptions: list[SubscriptionStats] = field(default_factory=list)
    # Per stage: feed_to_ingest (event time -> engine receive), ingest_to_processed,
    # and over all subscriptions processed_to_sent and age_at_send (event time -> handed out).
    latency: dict[str, StageLatency] = field(default_factory=dict)
    journal: JournalStats | None = None     # None: the engine has no journal
    # Trades whose bar (of some bar interval) had closed when they arrived: left
    # out of that bar, still in the session analytics (see mdstream.engine's bars).
    late_ticks: int = 0
    # The id of the stream of the sequence numbers (Engine.stream_id).
    stream_id: str = ""
    order_requests: int = 0     # order requests taken since start (a paper venue's input)
    venue: VenueStats | None = None     # None: the engine has no paper venue

    def _repr_html_(self) -> str:
        """The counters and each subscription as small HTML tables (Jupyter)."""
        return stats_html(self)

    def __str__(self) -> str:
        return (f"ticks in={self.ticks_in:,} processed={self.processed:,} results={self.results:,} "
                f"rate={self.ticks_per_s:,.0f}/s dropped={self.dropped:,} "
                f"subscriptions={len(self.subscriptions)} "
                + " ".join(f"[#{s.id} lag={s.lag:,}]" for s in self.subscriptions))


def stats_html(stats: EngineStats) -> str:
    """EngineStats as HTML: the engine's counters, the latency per stage
    (p50/p99/max over the last 10 s) and one row per subscription; every
    value escaped."""
    def table(header: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "") -> str:
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in rows)
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    state = "finished" if stats.finished else "running" if stats.running else "not running"
    counters: list[list[object]] = [["state", state], ["uptime", f"{stats.uptime_s:,.1f} s"],
                ["ticks in", f"{stats.ticks_in:,}"], ["processed", f"{stats.processed:,}"],
                ["results", f"{stats.results:,}"], ["rate", f"{stats.ticks_per_s:,.0f} /s"],
                ["dropped", f"{stats.dropped:,}"], ["disconnected", stats.disconnected],
                ["bad rows", f"{stats.bad_rows:,}"], ["late ticks", f"{stats.late_ticks:,}"],
                ["stream id", stats.stream_id]]
    if stats.journal is not None:
        counters.append(["journal", f"{stats.journal.directory} (written to seq "
                                    f"{stats.journal.written_seq:,})"
                                    + (f"; error: {stats.journal.error}" if stats.journal.error
                                       else "")])
    us = lambda ns: f"{ns / 1000:,.1f} us"  # noqa: E731
    latency = [[stage, us(s.window.p50), us(s.window.p99), us(s.window.max), f"{s.window.count:,}"]
               for stage, s in stats.latency.items()]
    subs = [[s.id, "all" if s.symbols is None else ",".join(s.symbols), s.policy,
             f"{s.delivered:,}", f"{s.lag:,}", f"{s.missed:,}", s.gaps,
             "yes" if s.disconnected else "no"] for s in stats.subscriptions]
    out = table(["", ""], counters, "mdstream engine")
    if latency:
        out += table(["stage", "p50", "p99", "max", "count"], latency, "latency, last 10 s")
    out += table(["#", "symbols", "policy", "delivered", "lag", "missed", "gaps",
                  "disconnected"], subs, f"{len(subs)} subscriptions")
    return out


def journal_stats(journal: Any, status: dict | None, recovery: Any) -> JournalStats | None:
    """JournalStats from an engine's Journal, its writer's status and the
    RecoveryReport of the start (None without a journal)."""
    if journal is None or status is None:
        return None
    try:
        oldest = journal.oldest_seq()
    except OSError:             # the directory is gone: the writer's error says more
        oldest = None
    r = recovery
    return JournalStats(
        directory=str(journal.config.directory),
        durability=journal.config.durability,
        written_seq=status["written_seq"], oldest_seq=oldest, bytes=status["bytes"],
        fsyncs=status["fsyncs"], state_files=status.get("state_files", 0),
        error=error_text(status), failures=status.get("failures", 0),
        last_error=error_text(status, last=True),
        recovered_segments=r.segments if r else 0, recovered_results=r.results if r else 0,
        next_seq=r.next_seq if r else 0, torn_bytes_cut=r.torn_bytes_cut if r else 0,
        torn_file=r.torn_file if r else None)
