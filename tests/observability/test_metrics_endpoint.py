"""The Prometheus endpoint, scraped and parsed by prometheus_client's own parser."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import mdstream
from mdstream.observe.metrics import start_metrics_server


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


@pytest.mark.timeout(30)
def test_metrics_are_scraped_and_parsed():
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=2, count=30_000)
    engine = mdstream.Engine(feed=feed, workers=2)
    sub = engine.subscribe(["AAPL"])
    server, thread = start_metrics_server(engine, 0, per_symbol=True)    # symbol series: on request
    try:
        with engine:
            delivered = sum(len(b) for b in sub)
            families = scrape(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
    value = lambda name, **labels: next(
        s.value for s in families[name].samples
        if s.name.endswith("_total") or s.name == name
        if all(s.labels.get(k) == v for k, v in labels.items()))
    assert value("mdstream_ticks_processed") == 30_000
    assert value("mdstream_results") == 30_000
    assert value("mdstream_symbol_results", symbol="AAPL") == delivered
    assert (value("mdstream_symbol_results", symbol="AAPL")
            + value("mdstream_symbol_results", symbol="MSFT")) == 30_000
    assert value("mdstream_subscription_delivered", subscription=str(sub.id)) == delivered
    assert {s.labels["worker"] for s in families["mdstream_channel_depth"].samples} == {"0", "1"}
    p99 = value("mdstream_latency_seconds", stage="ingest_to_processed", range="total", quantile="0.99")
    assert p99 > 0


@pytest.mark.timeout(30)
def test_journal_metrics_come_from_the_engine_stats(tmp_path):
    engine = mdstream.Engine(symbols=["AAPL"], journal=tmp_path)
    server, thread = start_metrics_server(engine, 0)
    try:
        with engine:
            engine.publish_trades("AAPL", [1.0, 2.0, 3.0], 1.0)
            engine.close_ingest()
            assert engine.wait(10)
            journal = engine.stats().journal
            families = scrape(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
    samples = {s.name: s.value for name in ("mdstream_journal_bytes", "mdstream_journal_fsyncs",
                                            "mdstream_journal_written_seq")
               for s in families[name].samples}
    assert samples["mdstream_journal_written_seq"] == journal.written_seq == 3
    assert samples["mdstream_journal_bytes_total"] == journal.bytes > 0
    assert samples["mdstream_journal_fsyncs_total"] == journal.fsyncs
