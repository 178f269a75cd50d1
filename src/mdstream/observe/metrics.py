"""Prometheus metrics of an engine, through the prometheus-client library.

A custom collector reads engine.stats() at each scrape, so nothing is
counted twice and the hot path is untouched. The exposition is served by
observe/http.py's bounded server (timeouts, a connection cap), not by
prometheus_client's thread-per-connection one.

Latency is exposed two ways:

- ``mdstream_stage_latency_seconds{stage}``: a Prometheus histogram
  (``_bucket{le}``, ``_sum``, ``_count``; bounds LATENCY_BUCKETS_S in
  seconds) made from the core's own latency histograms since start
  (Engine.latency_histograms()): cumulative counters, so
  ``histogram_quantile(0.99, sum by (le, stage) (rate(..._bucket[1m])))``
  aggregates across servers and time. A core bucket (~0.8 % wide) counts
  toward a bound only when it lies wholly at or below it. Names and units
  follow Prometheus' conventions (base unit seconds, ``_seconds`` suffix,
  cumulative ``le`` buckets with ``+Inf``: prometheus.io/docs/practices/naming
  and /docs/practices/histograms).
- ``mdstream_latency_seconds{stage,range,quantile}``: gauges of the
  percentiles of the last 10 s (range="window") and since start ("total"),
  as computed by the engine (not aggregatable; kept for dashboards).

Per-symbol series (``mdstream_symbol_results{symbol}``) are off unless asked
for (``per_symbol=True``, ``mdstream serve --metrics-per-symbol``): one
series per symbol can be many thousands. With them on, at most
``max_symbols`` symbols (the first by id, so the set stays stable) get a
series; the results of the others add up in
``mdstream_other_symbol_results``, ``mdstream_symbol_series_omitted`` says
how many symbols that is, and the ``mdstream.metrics`` logger warns once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

if TYPE_CHECKING:
    from mdstream.engine import Engine

__all__ = ["EngineCollector", "start_metrics_server", "LATENCY_BUCKETS_S",
           "DEFAULT_MAX_SYMBOL_SERIES"]

log = logging.getLogger("mdstream.metrics")

QUANTILES = (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"), ("0.999", "p999"), ("1", "max"))

#: Upper bounds (seconds) of the latency histogram's buckets, +Inf implied:
#: 1 us to 10 s in 1-2.5-5 steps, from the engine's own stages (microseconds)
#: to the age of replayed or delayed data.
LATENCY_BUCKETS_S = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
                     1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BOUNDS_NS = np.array([round(b * 1e9) for b in LATENCY_BUCKETS_S] + [np.iinfo(np.int64).max],
                      dtype=np.int64)
_LE = [floatToGoString(b) for b in LATENCY_BUCKETS_S] + ["+Inf"]

#: Symbols that get a series of their own with per_symbol=True, unless told otherwise.
DEFAULT_MAX_SYMBOL_SERIES = 1000


def latency_buckets(hist) -> tuple[list[tuple[str, int]], float]:
    """The cumulative Prometheus buckets (le, count) and the sum (seconds) of
    a core LatencyHistogram (ns); the +Inf bucket counts every value."""
    counts = hist.cumulative_counts(_BOUNDS_NS)
    return list(zip(_LE, (int(c) for c in counts))), hist.sum / 1e9


class EngineCollector(Collector):
    """Collects an engine's counters, gauges, latency histograms and percentiles.

    ``extra`` may return more metric families (e.g. the gRPC server's bytes
    and frames sent). ``per_symbol``: add ``mdstream_symbol_results{symbol}``
    for at most ``max_symbols`` symbols (see the module docstring). Raises
    ValueError when max_symbols < 1.
    """

    def __init__(self, engine: "Engine", extra: Callable[[], Iterable] | None = None, *,
                 per_symbol: bool = False, max_symbols: int = DEFAULT_MAX_SYMBOL_SERIES):
        if max_symbols < 1:
            raise ValueError(f"max_symbols must be >= 1, got {max_symbols}")
        self.engine = engine
        self.extra = extra
        self.per_symbol = per_symbol
        self.max_symbols = int(max_symbols)
        self._warned = False

    def collect(self):
        st = self.engine.stats()
        yield CounterMetricFamily("mdstream_ticks_ingested", "Ticks sequenced at ingest.", st.ticks_in)
        yield CounterMetricFamily("mdstream_ticks_processed", "Ticks processed by the workers.",
                                  st.processed)
        yield CounterMetricFamily("mdstream_results", "Results readable by subscribers.", st.results)
        yield CounterMetricFamily("mdstream_dropped_results",
                                  "Results 'skip' subscriptions jumped over.", st.dropped)
        yield CounterMetricFamily("mdstream_bad_rows", "Input rows a feed skipped as malformed.",
                                  st.bad_rows)
        yield GaugeMetricFamily("mdstream_uptime_seconds", "Seconds since the engine started.",
                                st.uptime_s)
        yield GaugeMetricFamily("mdstream_subscriptions", "Open subscriptions.", len(st.subscriptions))

        workers = CounterMetricFamily("mdstream_worker_processed", "Ticks processed per worker.",
                                      labels=["worker"])
        depth = GaugeMetricFamily("mdstream_channel_depth", "Ticks waiting in a worker's channel.",
                                  labels=["worker"])
        for i, (n, d) in enumerate(zip(st.processed_per_worker, st.channel_depth)):
            workers.add_metric([str(i)], n)
            depth.add_metric([str(i)], d)
        yield workers
        yield depth

        lag = GaugeMetricFamily("mdstream_subscription_lag", "Results written but not yet read.",
                                labels=["subscription", "policy"])
        delivered = CounterMetricFamily("mdstream_subscription_delivered",
                                        "Results handed to a subscription.",
                                        labels=["subscription", "policy"])
        missed = CounterMetricFamily("mdstream_subscription_missed",
                                     "Results a subscription missed ('skip').",
                                     labels=["subscription", "policy"])
        for s in st.subscriptions:
            labels = [str(s.id), s.policy]
            lag.add_metric(labels, s.lag)
            delivered.add_metric(labels, s.delivered)
            missed.add_metric(labels, s.missed)
        yield lag
        yield delivered
        yield missed

        latency = GaugeMetricFamily(
            "mdstream_latency_seconds",
            "Latency per stage over the last 10 s (window) and since start (total).",
            labels=["stage", "range", "quantile"])
        for stage, lat in st.latency.items():
            for range_name, p in (("window", lat.window), ("total", lat.total)):
                for q, attr in QUANTILES:
                    latency.add_metric([stage, range_name, q], getattr(p, attr) / 1e9)
        yield latency

        histogram = HistogramMetricFamily(
            "mdstream_stage_latency_seconds",
            "Latency per stage since start, from the core's histograms (aggregatable).",
            labels=["stage"])
        for stage, hist in self.engine.latency_histograms().items():
            buckets, total = latency_buckets(hist)
            histogram.add_metric([stage], buckets, total)
        yield histogram

        if self.per_symbol:
            yield from self._symbol_families()

        journal = st.journal
        if journal is not None:
            yield CounterMetricFamily("mdstream_journal_bytes", "Bytes written to the journal.",
                                      journal.bytes)
            yield CounterMetricFamily("mdstream_journal_fsyncs", "fsync() calls of the journal.",
                                      journal.fsyncs)
            yield GaugeMetricFamily("mdstream_journal_written_seq",
                                    "Every seq below this is in the journal.", journal.written_seq)
        venue = st.venue
        if venue is not None:
            yield CounterMetricFamily("mdstream_venue_requests",
                                      "Order requests the paper venue acted on.", venue.requests)
            yield CounterMetricFamily("mdstream_venue_reports",
                                      "Execution reports the paper venue wrote.", venue.reports)
            yield GaugeMetricFamily("mdstream_venue_open_orders",
                                    "Open orders of the paper venue.", venue.open_orders)
        if self.extra is not None:
            yield from self.extra()

    def _symbol_families(self):
        names = list(self.engine.symbols)
        results = self.engine.symbol_result_counts()
        counts = CounterMetricFamily("mdstream_symbol_results", "Results per symbol.",
                                     labels=["symbol"])
        for name, n in zip(names[:self.max_symbols], results[:self.max_symbols]):
            counts.add_metric([name], n)
        yield counts
        omitted = max(0, len(names) - self.max_symbols)
        yield CounterMetricFamily("mdstream_other_symbol_results",
                                  "Results of the symbols over the per-symbol series limit.",
                                  sum(results[self.max_symbols:]))
        yield GaugeMetricFamily("mdstream_symbol_series_omitted",
                                "Symbols without a series of their own (over the limit).", omitted)
        if omitted and not self._warned:
            self._warned = True
            log.warning("metrics: %d symbols, more than the limit of %d per-symbol series "
                        "(--metrics-max-symbols): the results of the other %d are counted in "
                        "mdstream_other_symbol_results", len(names), self.max_symbols, omitted)


def start_metrics_server(engine: "Engine", port: int, host: str = "127.0.0.1",
                         extra: Callable[[], Iterable] | None = None, ssl_context=None, *,
                         per_symbol: bool = False,
                         max_symbols: int = DEFAULT_MAX_SYMBOL_SERIES):
    """Serve /metrics (and /) in Prometheus text format on host:port, from
    its own thread. Returns (server, thread): ``server.server_port`` is the
    port; call ``server.shutdown()`` and ``server.server_close()`` to stop.
    OSError when the port cannot be bound. ``ssl_context``: serve HTTPS.
    ``per_symbol``, ``max_symbols``: per-symbol series (EngineCollector)."""
    from aiohttp import web

    from mdstream.observe.http import HTTPService

    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(engine, extra, per_symbol=per_symbol,
                                      max_symbols=max_symbols))

    def handle(request):
        if request.path not in ("/", "/metrics"):
            return web.Response(status=404, text="not found: the metrics are at /metrics\n")
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST,
                                     "Cache-Control": "no-store"})

    server = HTTPService(handle, host, port, name="metrics",
                         ssl_context=ssl_context).start()
    return server, server.thread
