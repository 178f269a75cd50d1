"""One real endpoint: Coinbase Exchange's public feed (needs the internet;
skipped unless MDSTREAM_NETWORK_TESTS=1)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdstream.feeds.live import CoinbaseFeed  # noqa: E402
from venues.harness import collect, live_engine  # noqa: E402

pytestmark = [pytest.mark.network, pytest.mark.timeout(60),
              pytest.mark.skipif(os.environ.get("MDSTREAM_NETWORK_TESTS") != "1",
                                 reason="connects to Coinbase; set MDSTREAM_NETWORK_TESTS=1")]


def test_coinbase_public_feed_delivers_ticks(monkeypatch):
    monkeypatch.delenv("MDSTREAM_COINBASE_URL", raising=False)
    feed = CoinbaseFeed("BTC-USD")
    with live_engine(feed) as (engine, sub):
        rows = collect(sub, 5, timeout=45)
    assert all(r[0] == "COINBASE:BTC-USD" for r in rows)
    assert feed.stats().connects >= 1 and feed.stats().malformed == 0
