"""`mdstream serve --metrics-per-symbol --metrics-max-symbols N`: the real
command's endpoint, scraped and parsed with prometheus_client's parser."""

from __future__ import annotations

import re
import signal
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.timeout(90)


def scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def processed(families: dict) -> float:
    """The count of the ingest_to_processed latency histogram."""
    return next(s.value for s in families["mdstream_stage_latency_seconds"].samples
                if s.name.endswith("_count") and s.labels["stage"] == "ingest_to_processed")


def metrics_url(proc) -> str:
    seen = []
    for line in proc.stdout:
        seen.append(line)
        m = re.search(r"Prometheus metrics at (http://127\.0\.0\.1:\d+/metrics)$", line.strip())
        if m:
            return m.group(1)
    raise AssertionError(f"no metrics line; got {seen}; stderr: {proc.stderr.read()}")


def test_serve_bounds_per_symbol_series_and_serves_histograms(helpers):
    command = helpers.mdstream_command(
        "serve", "--port", "0", "--metrics-port", "0", "--symbols", "AAPL,MSFT,GOOG",
        "--rate", "5000", "--metrics-per-symbol", "--metrics-max-symbols", "2")
    with helpers.popen(command) as proc:
        url = metrics_url(proc)
        assert helpers.wait_until(lambda: processed(scrape(url)) > 0, timeout=20)
        families = scrape(url)
        assert {s.labels["symbol"] for s in families["mdstream_symbol_results"].samples} == \
            {"AAPL", "MSFT"}
        assert families["mdstream_symbol_series_omitted"].samples[0].value == 1
        assert families["mdstream_other_symbol_results"].samples[0].value > 0
        inf = next(s.value for s in families["mdstream_stage_latency_seconds"].samples
                   if s.labels == {"stage": "ingest_to_processed", "le": "+Inf"})
        assert inf == processed(families)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        err = out + err                         # a warning is in serve's log, on stdout
    assert proc.returncode == 0, err
    assert err.count("more than the limit of 2 per-symbol series") == 1, err


def test_serve_without_the_option_has_no_symbol_series(helpers):
    with helpers.popen(helpers.mdstream_command(
            "serve", "--port", "0", "--metrics-port", "0", "--rate", "2000")) as proc:
        url = metrics_url(proc)
        families = scrape(url)
        assert "mdstream_symbol_results" not in families
        assert families["mdstream_stage_latency_seconds"].type == "histogram"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
