"""SubscriptionRegistry: an engine's open subscriptions, and the latency of
those already closed, for the engine's statistics."""

from __future__ import annotations

import threading

from mdstream._core import LatencyHistogram
from mdstream.engine.stats import Percentiles, StageLatency, SubscriptionStats
from mdstream.engine.subscription import Subscription

__all__ = ["SubscriptionRegistry", "SUBSCRIPTION_STAGES"]

#: Latency stages measured per subscription: processed -> handed out, and
#: event time -> handed out.
SUBSCRIPTION_STAGES = ("processed_to_sent", "age_at_send")


class SubscriptionRegistry:
    """The open subscriptions of an engine, by id.

    A subscription leaves on close (``forget`` is its close callback); its
    since-start latency stays in the totals.
    """

    def __init__(self):
        self._subs: dict[int, Subscription] = {}
        self._lock = threading.Lock()
        self._closed_latency = {stage: LatencyHistogram() for stage in SUBSCRIPTION_STAGES}

    def add(self, sub: Subscription) -> None:
        with self._lock:
            self._subs[sub.id] = sub

    def forget(self, sub: Subscription) -> None:
        with self._lock:
            if self._subs.pop(sub.id, None) is not None:
                for stage, hist in self._closed_latency.items():
                    hist.merge(sub.latency(stage, window=False))

    def __len__(self) -> int:
        return len(self._subs)

    def total_latency(self) -> dict[str, LatencyHistogram]:
        """Per stage, the since-start latency of every subscription, open or closed."""
        totals = {stage: LatencyHistogram() for stage in SUBSCRIPTION_STAGES}
        with self._lock:     # one step: a subscription is either open or closed here
            for stage, total in totals.items():
                total.merge(self._closed_latency[stage])
                for s in self._subs.values():
                    total.merge(s.latency(stage, window=False))
        return totals

    def stats(self) -> tuple[list[SubscriptionStats], dict[str, StageLatency]]:
        """Each open subscription's statistics, and the latency per stage over
        all of them (window: open ones, last 10 s; total: since start, closed
        ones included)."""
        merged = {stage: (LatencyHistogram(), LatencyHistogram()) for stage in SUBSCRIPTION_STAGES}
        with self._lock:     # one step: a subscription is either open or closed here
            subs = list(self._subs.values())
            for stage, (_, total) in merged.items():
                total.merge(self._closed_latency[stage])
        sub_stats = []
        for s in subs:
            k = s.counters()
            lat = {}
            for stage, (window, total) in merged.items():
                hw, ht = s.latency(stage, window=True), s.latency(stage, window=False)
                window.merge(hw)
                total.merge(ht)
                lat[stage] = StageLatency(Percentiles.of(hw), Percentiles.of(ht))
            sub_stats.append(SubscriptionStats(s.id, s.filter, s.policy or "block", k["delivered"], k["lag"],
                                               k["missed"], k["gaps"], k["disconnected"], lat))
        latency = {stage: StageLatency(Percentiles.of(window), Percentiles.of(total))
                   for stage, (window, total) in merged.items()}
        return sub_stats, latency
