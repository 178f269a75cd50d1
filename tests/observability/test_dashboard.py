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
    assert stats["venue"] is None           # no paper venue: no positions panel
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(dash.url + "nope", timeout=10)


# -- the paper venue's panel ------------------------------------------------------

FEE_BPS = 1.0


@pytest.fixture
def venue_dashboard():
    """An engine with a paper venue, two accounts and a few orders: alice buys
    10 AAPL at the ask (101) and sells 4 at the bid (99); bob's MSFT bid rests."""
    from mdstream.venue import Account, PaperVenue

    venue = PaperVenue(accounts={"alice": Account(fee_bps=FEE_BPS), "bob": Account()})
    engine = mdstream.Engine(symbols=["AAPL", "MSFT"], venue=venue)
    engine.start()
    reports = engine.execution_reports()
    engine.publish_quotes(["AAPL", "MSFT"], [99.0, 199.0], [101.0, 201.0], 100.0, 100.0)
    engine.submit_order("alice", 1, "AAPL", "buy", 10.0, ord_type="market")
    engine.submit_order("alice", 2, "AAPL", "sell", 4.0, price=99.0, tif="ioc")
    engine.submit_order("bob", 1, "MSFT", "buy", 5.0, price=150.0)
    seen = 0
    deadline = time.monotonic() + 10
    while seen < 5 and time.monotonic() < deadline:      # NEW + FILL, NEW + FILL, NEW
        batch = reports.read(0.5)
        seen += len(batch) if batch is not None else 0
    reports.close()
    assert seen == 5, seen
    dash = Dashboard(engine).start()
    yield dash
    dash.stop()
    engine.stop()


def wait_for_venue(dash) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = json.loads(urllib.request.urlopen(dash.url + "api/stats", timeout=10).read())
        if stats.get("venue"):
            return stats["venue"]
        time.sleep(0.2)
    raise AssertionError("no venue panel in /api/stats")


def test_dashboard_api_serves_positions_and_pnl_per_account_and_symbol(venue_dashboard):
    venue = wait_for_venue(venue_dashboard)
    rows = {(r["account"], r["symbol"]): r for r in venue["positions"]}
    assert set(rows) == {("alice", "AAPL"), ("bob", "MSFT")}
    alice = rows[("alice", "AAPL")]
    # the venue's position rules on the two fills: +10 @ 101, then -4 @ 99
    fees = (101.0 * 10 + 99.0 * 4) * FEE_BPS / 1e4
    realized = 4 * (99.0 - 101.0)
    unrealized = (100.0 - 101.0) * 6            # marked at the mid
    assert alice["position"] == pytest.approx(6.0)
    assert alice["avg_px"] == pytest.approx(101.0)
    assert alice["mark_px"] == pytest.approx(100.0)
    assert alice["realized_pnl"] == pytest.approx(realized)
    assert alice["unrealized_pnl"] == pytest.approx(unrealized)
    assert alice["fees"] == pytest.approx(fees)
    assert alice["pnl"] == pytest.approx(realized + unrealized - fees)
    assert alice["open_orders"] == 0 and alice["fills"] == 2
    bob = rows[("bob", "MSFT")]
    assert bob["position"] == 0 and bob["open_orders"] == 1 and bob["pnl"] == 0
    assert venue["open_orders"] == 1
    assert venue["pnl"] == pytest.approx(realized + unrealized - fees)


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_dashboard_shows_the_positions_panel(chromium, venue_dashboard, tmp_path):
    wait_for_venue(venue_dashboard)
    dom = render(chromium, venue_dashboard.url, tmp_path, "--dump-dom").stdout
    panel = re.search(r'<section class="panel wide" id="venue"( hidden="")?>(.*?)</section>', dom,
                      re.S)
    assert panel and panel.group(1) is None, dom[:3000]          # shown: the engine has a venue
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row)
             for row in re.findall(r"<tr>(.*?)</tr>", panel.group(2), re.S)]
    cells = [c for c in cells if c]
    assert [c[:3] for c in cells] == [["alice", "AAPL", "+6.0000"], ["bob", "MSFT", "0.0000"]], cells
    assert cells[0][8] == "-14.14" and cells[1][9] == "1", cells   # P&L -8 - 6 - 0.1406
    assert re.search(r'id="kpi-open-orders">1<', dom)


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_positions_panel_is_hidden_without_a_venue(chromium, running_dashboard, tmp_path):
    dash, _ = running_dashboard
    time.sleep(1.5)
    dom = render(chromium, dash.url, tmp_path, "--dump-dom").stdout
    assert re.search(r'id="kpi-processed">[\d,]+<', dom), dom[:2000]     # the script ran
    assert '<section class="panel wide" id="venue" hidden="">' in dom


def test_past_the_listing_cap_only_the_total_of_open_orders_is_shown(venue_dashboard,
                                                                      monkeypatch):
    from mdstream.observe import dashboard

    monkeypatch.setattr(dashboard, "OPEN_ORDERS_LISTED", 0)
    panel = venue_dashboard._venue_panel()
    assert panel is not None and panel["open_orders"] == 1 and not panel["open_orders_listed"]
    assert [(r["account"], r["symbol"], r["open_orders"]) for r in panel["positions"]] == [
        ("alice", "AAPL", None)]                  # bob's resting order is in the total only
    assert panel["accounts"] == ["alice", "bob"]
