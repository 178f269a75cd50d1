"""Typed statistics of an engine."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EngineStats", "SubscriptionStats"]


@dataclass(frozen=True)
class SubscriptionStats:
    id: int
    symbols: list[str] | None   # None: every symbol
    policy: str
    delivered: int              # results handed to the subscriber
    lag: int                    # results written but not yet read (sequence numbers)
    missed: int                 # results skipped by the 'skip' policy
    gaps: int                   # gap notices given
    disconnected: bool          # dropped by the 'disconnect' policy


@dataclass(frozen=True)
class EngineStats:
    running: bool
    finished: bool              # the feed ended and every tick was processed
    uptime_s: float
    ticks_in: int               # ticks sequenced at ingest
    processed: int              # ticks processed by the workers
    results: int                # results in the log, readable by subscribers
    ticks_per_s: float          # processed / uptime
    processed_per_worker: list[int]
    channel_depth: list[int]    # ticks waiting in each worker's channel
    dropped: int                # results 'skip' subscribers missed
    disconnected: int           # subscriptions dropped as too slow
    subscriptions: list[SubscriptionStats] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"ticks in={self.ticks_in:,} processed={self.processed:,} results={self.results:,} "
                f"rate={self.ticks_per_s:,.0f}/s dropped={self.dropped:,} "
                f"subscriptions={len(self.subscriptions)} "
                + " ".join(f"[#{s.id} lag={s.lag:,}]" for s in self.subscriptions))
