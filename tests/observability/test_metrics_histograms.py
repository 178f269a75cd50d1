"""Latency as Prometheus histograms made from the core's counts, and
per-symbol series only on request, with a bound: scraped from the real HTTP
endpoint and parsed by prometheus_client's own parser."""

from __future__ import annotations

import logging
import math
import urllib.request

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from prometheus_client.parser import text_string_to_metric_families

import mdstream
from mdstream._core import LatencyHistogram
from mdstream.errors import InvalidArgumentError
from mdstream.node import NodeConfig
from mdstream.observe.metrics import LATENCY_BUCKETS_S, latency_buckets, start_metrics_server

STAGES = {"feed_to_ingest", "ingest_to_processed", "processed_to_sent", "age_at_send"}
INT64_MAX = 2**63 - 1


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def histogram(families: dict, stage: str) -> tuple[list[tuple[float, float]], float, float]:
    """([(le, cumulative count)], sum, count) of one stage's histogram."""
    family = families["mdstream_stage_latency_seconds"]
    assert family.type == "histogram"
    samples = [s for s in family.samples if s.labels["stage"] == stage]
    buckets = [(float(s.labels["le"]), s.value) for s in samples if s.name.endswith("_bucket")]
    total = next(s.value for s in samples if s.name.endswith("_sum"))
    count = next(s.value for s in samples if s.name.endswith("_count"))
    return buckets, total, count


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20_000_000_000), max_size=300))
def test_cumulative_counts_never_count_a_value_above_its_bound(values):
    hist = LatencyHistogram()
    hist.record_many(np.array(values, dtype=np.int64))
    bounds = [round(b * 1e9) for b in LATENCY_BUCKETS_S] + [INT64_MAX]
    counts = hist.cumulative_counts(bounds)
    v = np.array(values, dtype=np.int64)
    for bound, got in zip(bounds, counts):
        # At the core's resolution: never above the bound, at most a bucket (1/128) below it.
        assert np.count_nonzero(v <= bound * (1 - 1 / 128)) <= got <= np.count_nonzero(v <= bound)
    assert counts[-1] == len(values) == hist.count
    assert hist.sum == float(sum(values))
    buckets, total = latency_buckets(hist)
    assert [le for le, _ in buckets][-1] == "+Inf" and total == pytest.approx(sum(values) / 1e9)


def test_cumulative_counts_take_ascending_bounds_only():
    with pytest.raises(InvalidArgumentError, match="ascending"):
        LatencyHistogram().cumulative_counts([5, 1])
    hist = LatencyHistogram()
    hist.record(2**40)                     # past the last finite bucket (~69 s)
    assert list(hist.cumulative_counts([10**12, INT64_MAX])) == [0, 1]


@pytest.mark.timeout(60)
def test_latency_histograms_are_scraped_cumulative_and_equal_the_core_counts():
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=2, count=30_000)
    engine = mdstream.Engine(feed=feed, workers=2)
    sub = engine.subscribe(["AAPL"])
    server, thread = start_metrics_server(engine, 0)
    try:
        with engine:
            delivered = 0
            early = None
            for batch in sub:
                delivered += len(batch)
                if early is None and delivered > 1_000:
                    early = scrape(server.server_port)
            engine.wait()
            families = scrape(server.server_port)
            core = engine.latency_histograms()
    finally:
        server.shutdown()
        server.server_close()
    assert {s.labels["stage"] for s in families["mdstream_stage_latency_seconds"].samples} == STAGES
    for stage in STAGES:
        buckets, total, count = histogram(families, stage)
        les = [le for le, _ in buckets]
        assert les == sorted(les) and les[-1] == math.inf and len(les) == len(LATENCY_BUCKETS_S) + 1
        values = [c for _, c in buckets]
        assert values == sorted(values), f"{stage}: buckets are not cumulative"
        assert values[-1] == count == core[stage].count
        assert values == list(core[stage].cumulative_counts(
            [round(le * 1e9) if le != math.inf else INT64_MAX for le in les]))
        assert total == pytest.approx(core[stage].sum / 1e9)
        # Counters across scrapes: nothing ever goes down.
        early_buckets, early_total, early_count = histogram(early, stage)
        assert all(b >= a for (_, a), (_, b) in zip(early_buckets, buckets))
        assert early_count <= count and early_total <= total
    assert histogram(families, "ingest_to_processed")[2] == 30_000
    assert histogram(families, "processed_to_sent")[2] == delivered
    # A mean between the smallest and largest latency the engine reports.
    _, total, count = histogram(families, "ingest_to_processed")
    assert 0 < total / count <= core["ingest_to_processed"].max / 1e9
    # The percentile gauges are still there, under their names.
    assert any(s.labels == {"stage": "ingest_to_processed", "range": "total", "quantile": "0.99"}
               for s in families["mdstream_latency_seconds"].samples)


@pytest.mark.timeout(60)
def test_per_symbol_series_only_on_request_and_bounded(caplog):
    symbols = ["AAPL", "MSFT", "GOOG"]
    engine = mdstream.Engine(symbols=symbols)
    plain, _ = start_metrics_server(engine, 0)
    bounded, _ = start_metrics_server(engine, 0, per_symbol=True, max_symbols=2)
    every, _ = start_metrics_server(engine, 0, per_symbol=True)
    try:
        with engine, caplog.at_level(logging.WARNING, logger="mdstream.metrics"):
            engine.publish_trades(["AAPL"] * 5 + ["MSFT"] * 3 + ["GOOG"] * 7, 1.0, 1.0)
            engine.close_ingest()
            assert engine.wait(10)
            default = scrape(plain.server_port)
            first, second = scrape(bounded.server_port), scrape(bounded.server_port)
            full = scrape(every.server_port)
    finally:
        for server in (plain, bounded, every):
            server.shutdown()
            server.server_close()
    assert not {"mdstream_symbol_results", "mdstream_other_symbol_results"} & set(default)
    assert all("symbol" not in s.labels for f in default.values() for s in f.samples)
    per_symbol = {s.labels["symbol"]: s.value for s in first["mdstream_symbol_results"].samples}
    assert per_symbol == {"AAPL": 5, "MSFT": 3}
    assert first["mdstream_other_symbol_results"].samples[0].value == 7
    assert first["mdstream_symbol_series_omitted"].samples[0].value == 1
    assert second["mdstream_symbol_series_omitted"].samples[0].value == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "mdstream.metrics"]
    assert warnings == ["metrics: 3 symbols, more than the limit of 2 per-symbol series "
                        "(--metrics-max-symbols): the results of the other 1 are counted in "
                        "mdstream_other_symbol_results"]
    assert {s.labels["symbol"]: s.value for s in full["mdstream_symbol_results"].samples} == \
        {"AAPL": 5, "MSFT": 3, "GOOG": 7}
    assert full["mdstream_symbol_series_omitted"].samples[0].value == 0
    with pytest.raises(ValueError, match="max_symbols"):
        start_metrics_server(engine, 0, per_symbol=True, max_symbols=0)
    with pytest.raises(InvalidArgumentError, match="metrics_max_symbols must be >= 1"):
        NodeConfig(metrics_max_symbols=0)
