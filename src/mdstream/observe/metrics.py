"""Prometheus metrics of an engine, through the prometheus-client library.

A custom collector reads engine.stats() at each scrape, so nothing is
counted twice and the hot path is untouched. The exposition is served by
observe/http.py's bounded server (timeouts, a connection cap), not by
prometheus_client's thread-per-connection one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from mdstream.engine import Engine

__all__ = ["EngineCollector", "start_metrics_server"]

QUANTILES = (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"), ("0.999", "p999"), ("1", "max"))


class EngineCollector(Collector):
    """Collects an engine's counters, gauges and latency percentiles.

    ``extra`` may return more metric families (e.g. the gRPC server's bytes
    and frames sent).
    """

    def __init__(self, engine: "Engine", extra: Callable[[], Iterable] | None = None):
        self.engine = engine
        self.extra = extra

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

        counts = CounterMetricFamily("mdstream_symbol_results", "Results per symbol.",
                                     labels=["symbol"])
        names = list(self.engine.symbols)
        for name, n in zip(names, self.engine.symbol_result_counts()):
            counts.add_metric([name], n)
        yield counts

        journal = st.journal
        if journal is not None:
            yield CounterMetricFamily("mdstream_journal_bytes", "Bytes written to the journal.",
                                      journal.bytes)
            yield CounterMetricFamily("mdstream_journal_fsyncs", "fsync() calls of the journal.",
                                      journal.fsyncs)
            yield GaugeMetricFamily("mdstream_journal_written_seq",
                                    "Every seq below this is in the journal.", journal.written_seq)
        if self.extra is not None:
            yield from self.extra()


def start_metrics_server(engine: "Engine", port: int, host: str = "127.0.0.1",
                         extra: Callable[[], Iterable] | None = None, ssl_context=None):
    """Serve /metrics (and /) in Prometheus text format on host:port, from
    its own thread. Returns (server, thread): ``server.server_port`` is the
    port; call ``server.shutdown()`` and ``server.server_close()`` to stop.
    OSError when the port cannot be bound. ``ssl_context``: serve HTTPS."""
    from aiohttp import web

    from mdstream.observe.http import HTTPService

    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(engine, extra))

    def handle(request):
        if request.path not in ("/", "/metrics"):
            return web.Response(status=404, text="not found: the metrics are at /metrics\n")
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST,
                                     "Cache-Control": "no-store"})

    server = HTTPService(handle, host, port, name="metrics",
                         ssl_context=ssl_context).start()
    return server, server.thread
