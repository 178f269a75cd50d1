"""LatencyMeter: engine-receive -> client latency of the results a command received."""

from __future__ import annotations

import numpy as np

__all__ = ["LatencyMeter"]


class LatencyMeter:
    """Engine-receive -> client latency samples (ns): per interval and overall.

    Results the engine received before ``since_ns`` (the moment the client
    subscribed: a replay from the journal or the ring) are not a latency:
    they are counted in ``replayed`` and their age kept apart (``ages``).
    Overall, the first ``keep`` samples are kept, then a thin sample of each
    later chunk, so memory stays bounded on a long run.
    """

    def __init__(self, keep: int = 1_000_000, since_ns: int | None = None):
        self.keep = keep
        self.since_ns = since_ns
        self.interval: list[np.ndarray] = []
        self.all: list[np.ndarray] = []
        self.kept = 0
        self.replayed = 0
        self.ages: list[np.ndarray] = []

    def add(self, recv_ns: np.ndarray, now_ns: int) -> None:
        """Results received at now_ns (ns since the epoch), by the engine's receive times (ns)."""
        self.add_latencies(now_ns - recv_ns, recv_ns)

    def add_latencies(self, lat: np.ndarray, recv_ns: np.ndarray | None = None) -> None:
        """Latencies in ns (and the engine's receive times, ns since the
        epoch, to tell replayed results apart)."""
        if self.since_ns is not None and recv_ns is not None:
            old = recv_ns < self.since_ns
            if old.any():
                self.replayed += int(np.count_nonzero(old))
                if sum(len(a) for a in self.ages) < self.keep:
                    self.ages.append(lat[old])
                lat = lat[~old]
        self.interval.append(lat)
        if self.kept < self.keep:
            self.all.append(lat)
            self.kept += len(lat)
        elif len(lat):
            # Past the bound, keep a thin sample so the summary still sees the end.
            self.all.append(lat[:: max(1, len(lat) // 8)])

    @staticmethod
    def percentiles(chunks: list[np.ndarray]) -> tuple[float, float, float, float] | None:
        """(p50, p99, p999, max) in ms, or None without samples."""
        if not chunks:
            return None
        lat = np.concatenate(chunks)
        if not len(lat):
            return None
        p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
        return p50 / 1e6, p99 / 1e6, p999 / 1e6, lat.max() / 1e6

    def take_interval(self):
        """Percentiles (ms) of the samples since the last call, and start a new interval."""
        out = self.percentiles(self.interval)
        self.interval = []
        return out

    def overall(self):
        """Percentiles (ms) of every sample kept."""
        return self.percentiles(self.all)

    def replayed_age(self):
        """Percentiles (ms) of the replayed results' age, or None."""
        return self.percentiles(self.ages)
