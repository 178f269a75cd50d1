"""CoinbaseFeed and KrakenFeed against local servers speaking their protocols:
subscribe messages (again after a reconnect), trades and best bid/offer,
sequence and trade-id checks, application pings, venue errors, unknown
messages; and several venues in one engine."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdstream.feeds.live import CoinbaseFeed, KrakenFeed, LiveFeed  # noqa: E402
from mdstream.feeds.live.kraken import KRAKEN  # noqa: E402
from venues.harness import collect, live_engine, running_venue, wait_for  # noqa: E402
from venues.messages import (KRAKEN_HEARTBEAT, coinbase_heartbeat, coinbase_match,  # noqa: E402
                             coinbase_ticker, kraken_ticker, kraken_trades)
from venues.server import Abort, Hold, Send  # noqa: E402

pytestmark = pytest.mark.timeout(60)

NS = 1_700_000_000_123_456_000          # a time with microseconds, as the venues send


def test_coinbase_matches_and_ticker_become_ticks():
    with running_venue("coinbase") as venue:
        venue.queue(Send(
            coinbase_match("BTC-USD", 10, 100, "37000.01", "0.25", NS, kind="last_match"),
            coinbase_match("BTC-USD", 11, 105, "37000.02", "0.5", NS + 1000, maker_side="sell"),
            coinbase_ticker("BTC-USD", 106, "37000.00", "1.5", "37000.05", "2.5", NS + 2000),
            coinbase_match("ETH-USD", 3, 7, "2000.5", "4", NS + 3000, maker_side="buy"),
            coinbase_heartbeat("BTC-USD", 107, 11, NS + 4000),
            coinbase_match("BTC-USD", 11, 105, "37000.02", "0.5", NS + 1000)), Hold())
        feed = CoinbaseFeed(["BTC-USD", "eth-usd"], url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 3)
            wait_for(lambda: feed.stats().messages == 7, what="every message")  # + subscriptions
            stats = feed.stats()
    sub_msg = venue.subscriptions[0]
    assert sub_msg["type"] == "subscribe" and sub_msg["product_ids"] == ["BTC-USD", "ETH-USD"]
    assert set(sub_msg["channels"]) == {"matches", "ticker", "heartbeat"}
    assert [(r[0], r[1]) for r in rows] == [("COINBASE:BTC-USD", "trade"),
                                            ("COINBASE:BTC-USD", "quote"),
                                            ("COINBASE:ETH-USD", "trade")]
    assert (rows[0][2], rows[0][3], rows[0][8]) == (37000.02, 0.5, NS + 1000)
    assert rows[1][4:9] == (37000.0, 37000.05, 1.5, 2.5, NS + 2000)
    assert (stats.buys, stats.sells) == (1, 1)      # side is the maker's: sell = a buy
    assert (stats.gaps, stats.duplicates, stats.trades, stats.quotes) == (0, 1, 2, 1)


def test_coinbase_gap_after_reconnect_is_counted_from_last_match():
    with running_venue("coinbase") as venue:
        venue.queue(Send(coinbase_match("BTC-USD", 20, 200, "1", "1", NS, kind="last_match"),
                         coinbase_match("BTC-USD", 21, 201, "2", "1", NS + 1)), Abort())
        venue.queue(Send(coinbase_match("BTC-USD", 25, 230, "3", "1", NS + 2, kind="last_match"),
                         coinbase_match("BTC-USD", 26, 231, "4", "1", NS + 3)), Hold())
        feed = CoinbaseFeed("BTC-USD", url=venue.url, backoff_initial=0.05)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 2)
            stats = feed.stats()
    assert [r[2] for r in rows] == [2.0, 4.0]
    assert len(venue.subscriptions) == 2          # subscribed again after the reconnect
    assert (stats.reconnects, stats.gaps, stats.missed) == (1, 1, 4)    # 22..25 never seen


def test_coinbase_errors_and_unknown_types_are_counted():
    with running_venue("coinbase") as venue:
        venue.queue(Send('{"type": "error", "message": "Failed to subscribe", "reason": "x"}',
                         '{"type": "l2update", "product_id": "BTC-USD", "changes": []}',
                         '{"type": "match", "product_id": "BTC-USD"}',
                         coinbase_match("BTC-USD", 1, 1, "5", "1", NS)), Hold())
        feed = CoinbaseFeed("BTC-USD", url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 1)
            wait_for(lambda: feed.stats().messages == 5, what="every message")
            stats = feed.stats()
    assert rows[0][2] == 5.0
    assert (stats.venue_errors, stats.malformed) == (1, 2)
    assert set(feed.malformed_kinds()) == {"unknown type", "bad message"}


def test_kraken_trades_ticker_and_application_pings():
    venue_fast_ping = dataclasses.replace(KRAKEN, app_ping_interval=0.2)
    with running_venue("kraken") as venue:
        venue.queue(Send(kraken_trades(("BTC/USD", 500, 37000.5, 0.1, "buy", NS),
                                       ("BTC/USD", 501, 37000.4, 0.2, "sell", NS + 1000)),
                         KRAKEN_HEARTBEAT,
                         kraken_ticker("BTC/USD", 37000.1, 3.5, 37000.6, 1.25, NS + 2000),
                         kraken_ticker("ETH/USD", 2000.1, 1.0, 2000.2, 2.0),
                         kraken_trades(("ETH/USD", 9, 2000.15, 5.0, "buy", NS + 3000)),
                         '{"channel": "book", "type": "update", "data": []}',
                         '{"method": "subscribe", "success": false, "error": "Currency pair '
                         'not supported XYZ/USD"}'), Hold())
        feed = LiveFeed(venue_fast_ping, ["BTC/USD", "kraken:eth/usd"], url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 5)
            wait_for(lambda: venue.pings >= 2, what="two application pings")
            stats = feed.stats()
    trade_sub, ticker_sub = venue.subscriptions[0]
    assert trade_sub == {"channel": "trade", "symbol": ["BTC/USD", "ETH/USD"], "snapshot": False}
    assert ticker_sub["channel"] == "ticker" and ticker_sub["event_trigger"] == "bbo"
    assert [(r[0], r[1]) for r in rows] == [("KRAKEN:BTC/USD", "trade")] * 2 + [
        ("KRAKEN:BTC/USD", "quote"), ("KRAKEN:ETH/USD", "quote"), ("KRAKEN:ETH/USD", "trade")]
    assert (rows[0][2], rows[0][3], rows[0][8]) == (37000.5, 0.1, NS)
    assert rows[2][4:9] == (37000.1, 37000.6, 3.5, 1.25, NS + 2000)
    assert rows[3][8] > NS                   # a ticker without a timestamp: the receive time
    assert (stats.buys, stats.sells, stats.malformed, stats.venue_errors) == (2, 1, 1, 1)
    assert feed.malformed_kinds() == {"unknown channel 'book'": 1}


def test_kraken_feed_reconnects_and_counts_a_trade_id_gap():
    with running_venue("kraken") as venue:
        venue.queue(Send(kraken_trades(("BTC/USD", 1, 10.0, 1.0, "buy", NS))), Abort())
        venue.queue(Send(kraken_trades(("BTC/USD", 4, 11.0, 1.0, "buy", NS + 1))), Hold())
        feed = KrakenFeed("BTC/USD", url=venue.url, backoff_initial=0.05)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 2)
            stats = feed.stats()
    assert [r[2] for r in rows] == [10.0, 11.0]
    assert len(venue.subscriptions) == 2
    assert (stats.reconnects, stats.gaps, stats.missed) == (1, 1, 2)


def test_several_venues_in_one_engine(monkeypatch):
    from mdstream.feeds.registry import feed_config
    with running_venue("coinbase") as cb, running_venue("kraken") as kr:
        cb.queue(Send(coinbase_match("BTC-USD", 1, 1, "37000", "1", NS)), Hold())
        kr.queue(Send(kraken_trades(("BTC/USD", 1, 37001.0, 2.0, "sell", NS + 1))), Hold())
        monkeypatch.setenv("MDSTREAM_COINBASE_URL", cb.url)
        monkeypatch.setenv("MDSTREAM_KRAKEN_URL", kr.url)
        config = feed_config("live:coinbase:BTC-USD;kraken:BTC/USD")
        feed = config.build()
        assert config.kind == "live" and feed.symbols == ["COINBASE:BTC-USD", "KRAKEN:BTC/USD"]
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 2)
    assert sorted((r[0], r[2]) for r in rows) == [("COINBASE:BTC-USD", 37000.0),
                                                  ("KRAKEN:BTC/USD", 37001.0)]
    assert {k: s.trades for k, s in feed.stats().items()} == {"coinbase": 1, "kraken": 1}
