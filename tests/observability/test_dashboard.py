"""The dashboard in headless Chromium: it renders, and its live values change."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

import mdstream
from mdstream.observe.dashboard import Dashboard

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1300,900"]


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium: Debian's chromium, which `make test` installs
    (`make browser`); skipped with the reason where there is none."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH: `make test` installs Debian's chromium package "
                    "(`make browser`, as root with apt-get); elsewhere install a Chromium")
    return path


def render(chromium, url, tmp_path, *extra) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{time.monotonic_ns()}"
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=4000", *extra, url],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def running_dashboard():
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=20_000, seed=4)
    engine = mdstream.Engine(feed=feed)
    sub = engine.subscribe(policy="skip")
    engine.start()
    dash = Dashboard(engine).start()
    yield dash, sub
    dash.stop()
    sub.close()
    engine.stop()


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_dashboard_renders_and_its_values_change(chromium, running_dashboard, tmp_path):
    dash, sub = running_dashboard
    for _ in range(20):
        sub.next_batch(timeout=1)
    time.sleep(2.5)
    shot = tmp_path / "dashboard.png"
    result = render(chromium, dash.url, tmp_path, f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]

    def processed_on_page() -> int:
        dom = render(chromium, dash.url, tmp_path, "--dump-dom").stdout
        m = re.search(r'id="kpi-processed">([\d,]+)<', dom)
        assert m, dom[:2000]
        return int(m.group(1).replace(",", ""))

    first = processed_on_page()
    time.sleep(2.5)
    second = processed_on_page()
    assert 0 < first < second, (first, second)


def test_dashboard_api_serves_stats_and_prices(running_dashboard):
    dash, sub = running_dashboard
    time.sleep(1.5)
    stats = json.loads(urllib.request.urlopen(dash.url + "api/stats", timeout=10).read())
    assert stats["symbols"] == ["AAPL", "MSFT"]
    assert stats["subscriptions"][0]["policy"] == "skip"
    prices = json.loads(urllib.request.urlopen(dash.url + "api/prices?symbol=AAPL", timeout=10).read())
    assert prices["points"] and all(p[1] > 0 for p in prices["points"])
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(dash.url + "nope", timeout=10)
