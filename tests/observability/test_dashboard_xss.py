"""Symbol names are data on the dashboard: a name made of HTML (from a
replayed CSV, say) shows as text in the symbol list and the subscribers
table, and runs nothing; the page is served with a Content-Security-Policy
that allows no inline script."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

import mdstream
from mdstream.observe.dashboard import CONTENT_SECURITY_POLICY, Dashboard

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1300,900"]

PAYLOAD = "<img src=x onerror=\"document.title='PWNED';document.body.dataset.pwned=1\">"
SCRIPT = "<script>document.title='PWNED2'</script>"


@pytest.fixture
def hostile_dashboard():
    engine = mdstream.Engine(symbols=[PAYLOAD, SCRIPT, "AAPL"])
    sub = engine.subscribe([PAYLOAD, SCRIPT], policy="skip")
    engine.start()
    engine.publish_trades([PAYLOAD, SCRIPT, "AAPL"], [1.0, 2.0, 3.0], 1.0)
    dash = Dashboard(engine).start()
    yield dash
    dash.stop()
    sub.close()
    engine.stop()


def test_every_response_carries_the_policy(hostile_dashboard):
    for path in ("", "dashboard.js", "dashboard.css", "api/stats"):
        with urllib.request.urlopen(hostile_dashboard.url + path, timeout=10) as resp:
            assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Server"] == "mdstream"
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    page = urllib.request.urlopen(hostile_dashboard.url, timeout=10).read().decode()
    assert "<script>" not in page and "style=" not in page       # nothing inline to allow


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_a_symbol_made_of_html_is_shown_as_text_and_runs_nothing(hostile_dashboard, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH: `make test` installs Debian's chromium package "
                    "(`make browser`)")
    time.sleep(1.5)                 # a stats sample with the subscription in it
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=4000", "--dump-dom", hostile_dashboard.url],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'id="kpi-subs">1<' in dom, dom[:3000]               # the page's script ran
    assert "<title>mdstream dashboard</title>" in dom          # the payloads did not
    assert "PWNED" not in re.sub(r"&[a-z]+;", "", dom.split("<body", 1)[0])
    assert "data-pwned" not in dom
    assert "<img" not in dom and "PWNED2'</script>" not in dom
    # The names are there, as text: in the symbol list and the subscribers table.
    shown = html.escape(PAYLOAD, quote=False)
    assert f">{shown}</option>" in dom, dom[:3000]
    assert f"<td>{shown},{html.escape(SCRIPT, quote=False)}</td>" in dom, dom[:3000]
