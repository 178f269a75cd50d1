"""BinanceFeed against a local server speaking Binance's combined streams: ticks,
reconnects with resubscription, gaps, planned disconnects, stale connections,
malformed messages."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdstream.feeds.live import BinanceFeed  # noqa: E402
from venues.harness import collect, live_engine, running_venue, wait_for  # noqa: E402
from venues.messages import (binance_agg_trade, binance_book, binance_shutdown,  # noqa: E402
                             binance_trade)
from venues.server import Abort, Close, Hold, Pause, Send  # noqa: E402

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000_000          # ms


def test_trades_and_best_bid_offer_become_ticks():
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 100, "37000.10", "0.5", T0),
                         binance_book("btcusdt", 9, "36999.9", "1.25", "37000.2", "0.75"),
                         binance_trade("ethusdt", 7, "2000", "3", T0 + 5, buyer_is_maker=True),
                         binance_trade("btcusdt", 101, "37000.00", "0.001", T0 + 9)), Hold())
        feed = BinanceFeed("btcusdt,ethusdt", url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 4)
            stats = feed.stats()
    assert venue.subscriptions == [["btcusdt@trade", "btcusdt@bookTicker", "ethusdt@trade",
                                    "ethusdt@bookTicker"]]
    assert feed.symbols == ["BINANCE:BTCUSDT", "BINANCE:ETHUSDT"]
    by_kind = [(r[0], r[1]) for r in rows]
    assert by_kind == [("BINANCE:BTCUSDT", "trade"), ("BINANCE:BTCUSDT", "quote"),
                       ("BINANCE:ETHUSDT", "trade"), ("BINANCE:BTCUSDT", "trade")]
    t = rows[0]
    assert (t[2], t[3], t[8]) == (37000.10, 0.5, T0 * 1_000_000)
    q = rows[1]
    assert (q[4], q[5], q[6], q[7]) == (36999.9, 37000.2, 1.25, 0.75)
    assert q[8] > T0 * 1_000_000          # spot bookTicker has no event time: the receive time
    assert (rows[2][2], rows[2][3], rows[2][8]) == (2000.0, 3.0, (T0 + 5) * 1_000_000)
    assert (stats.trades, stats.quotes, stats.buys, stats.sells) == (3, 1, 2, 1)
    assert (stats.gaps, stats.malformed, stats.connects, stats.reconnects) == (0, 0, 1, 0)
    assert stats.messages == 4 and stats.last_message_ns > 0


def test_futures_agg_trades_and_book_ticker_event_time():
    with running_venue("binance-futures") as venue:
        venue.queue(Send(binance_agg_trade("btcusdt", 5, "37010.5", "2", T0),
                         binance_book("btcusdt", 3, "37010", "4", "37011", "5", event_ms=T0 + 3),
                         binance_agg_trade("btcusdt", 6, "37011", "1", T0 + 4)), Hold())
        feed = BinanceFeed(["BTCUSDT"], market="futures", url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 3)
    assert venue.subscriptions == [["btcusdt@aggTrade", "btcusdt@bookTicker"]]
    assert [r[0] for r in rows] == ["BINANCE-FUTURES:BTCUSDT"] * 3
    assert rows[1][1] == "quote" and rows[1][8] == (T0 + 3) * 1_000_000
    assert [(r[2], r[3]) for r in (rows[0], rows[2])] == [(37010.5, 2.0), (37011.0, 1.0)]


def test_abrupt_drop_reconnects_resubscribes_and_counts_the_gap():
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0),
                         binance_trade("btcusdt", 2, "11", "1", T0 + 1)), Pause(0.2), Abort())
        venue.queue(Send(binance_trade("btcusdt", 5, "12", "1", T0 + 2)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url, backoff_initial=0.05)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 3)
            stats = feed.stats()
    assert [r[2] for r in rows] == [10.0, 11.0, 12.0]
    assert len(venue.subscriptions) == 2 and venue.subscriptions[0] == venue.subscriptions[1]
    assert (stats.reconnects, stats.gaps, stats.missed, stats.duplicates) == (1, 1, 2, 0)


def test_refused_connections_are_retried_with_backoff():
    import socket
    with socket.socket() as s:           # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feed = BinanceFeed("btcusdt", url=f"ws://127.0.0.1:{port}", backoff_initial=0.05,
                       backoff_max=0.2)
    with live_engine(feed) as (engine, sub):
        import time
        time.sleep(1.0)
        assert feed.error is None and feed.stats().connects == 0
        assert feed.stats().connected is False


def test_venue_shutdown_notice_hands_over_without_a_hole():
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0),
                         binance_shutdown(T0)), Pause(0.3),
                    Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1)), Pause(5), Close(1001))
        venue.queue(Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1),
                         binance_trade("btcusdt", 3, "12", "1", T0 + 2)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 3)
            wait_for(lambda: feed.stats().connects == 2, what="the second connection")
            stats = feed.stats()
            more = sub.next_batch(timeout=0.5)
    assert [r[2] for r in rows] == [10.0, 11.0, 12.0]
    assert more is None or len(more) == 0          # no trade twice
    assert (stats.gaps, stats.stale) == (0, 0)


def test_venue_closing_the_connection_is_reconnected_at_once():
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0)), Close(1000, "24h"))
        venue.queue(Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 2)
            stats = feed.stats()
    assert [r[2] for r in rows] == [10.0, 11.0]
    assert (stats.reconnects, stats.gaps) == (1, 0)


def test_connection_age_limit_replaces_the_connection_before_the_venue_does():
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0)), Pause(0.2),
                    Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1)), Hold())
        venue.queue(Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1),
                         binance_trade("btcusdt", 3, "12", "1", T0 + 2)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url, max_connection_age=1.5)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 3)
            stats = feed.stats()
    assert [r[2] for r in rows] == [10.0, 11.0, 12.0]
    assert stats.connects >= 2 and stats.duplicates == 1 and stats.gaps == 0


def test_a_silent_connection_is_replaced_after_stale_after():
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0)), Hold())
        venue.queue(Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url, stale_after=1.5)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, 2)
            stats = feed.stats()
    assert [r[2] for r in rows] == [10.0, 11.0]
    assert stats.stale >= 1 and stats.reconnects >= 1
    assert venue.connections >= 2


def test_malformed_messages_are_counted_and_never_stop_the_feed(caplog):
    bad_price = binance_trade("btcusdt", 2, "12x.5", "1", T0)
    negative = binance_trade("btcusdt", 3, "10", "-1", T0)
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0), "not json {",
                         '{"stream": "btcusdt@depth", "data": {}}', bad_price, "not json either",
                         negative, '{"stream": "dogeusdt@trade", "data": {"s": "DOGEUSDT", '
                         '"t": 1, "p": "1", "q": "1", "T": 1, "m": true}}',
                         binance_trade("btcusdt", 4, "11", "2", T0 + 1)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url)
        with caplog.at_level("WARNING", logger="mdstream.feeds.live"):
            with live_engine(feed) as (engine, sub):
                rows = collect(sub, 2)
                wait_for(lambda: feed.stats().messages == 8, what="all messages")
                stats = feed.stats()
                engine_stats = engine.stats()
    assert [(r[2], r[3]) for r in rows] == [(10.0, 1.0), (11.0, 2.0)]
    assert stats.malformed == 6 and engine_stats.bad_rows == 6
    kinds = feed.malformed_kinds()
    assert kinds["bad JSON or not a stream message"] == 2
    assert kinds["unknown stream 'depth'"] == 1 and kinds["bad size"] == 1
    assert any(k.startswith("trade: Expected `float`") for k in kinds)
    assert kinds["trade: a symbol not subscribed"] == 1
    # logged once per kind: the second bad JSON is counted, not logged again
    assert sum("bad JSON" in r.getMessage() for r in caplog.records) == 1
    assert feed.error is None and not math.isnan(rows[1][2])


def test_bad_symbols_and_urls_are_refused_with_a_clear_error():
    from mdstream.errors import InvalidArgumentError
    with pytest.raises(InvalidArgumentError, match="not a Binance symbol"):
        BinanceFeed("btc/usdt")
    with pytest.raises(InvalidArgumentError, match="at least one symbol"):
        BinanceFeed(",")
    with pytest.raises(InvalidArgumentError, match="ws:// or wss://"):
        BinanceFeed("btcusdt", url="http://127.0.0.1:1")
    with pytest.raises(InvalidArgumentError, match="not usable"):
        BinanceFeed("btcusdt", url="ws://exa mple:99999")
    with pytest.raises(InvalidArgumentError, match="stale_after"):
        BinanceFeed("btcusdt", stale_after=0)


def test_a_venue_closing_before_any_message_is_a_failed_attempt_retried_with_backoff(caplog):
    with running_venue("binance") as venue:
        for _ in range(3):
            venue.queue(Close(1013, "try again later"))
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0)), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url, backoff_initial=0.05, backoff_max=0.2)
        with caplog.at_level("WARNING", logger="mdstream.feeds.live"):
            with live_engine(feed) as (engine, sub):
                rows = collect(sub, 1)
                stats = feed.stats()
    assert rows[0][2] == 10.0 and venue.connections == 4
    assert (stats.connects, stats.reconnects) == (1, 0)       # only a live connection counts
    retries = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(retries) == 3 and "closed before its first message" in retries[0]
    assert "(attempt 3)" in retries[-1]



def test_stop_ends_a_feed_that_keeps_retrying_even_if_its_cancel_is_lost():
    """asyncio.wait_for (Python < 3.12) can swallow a cancel that races with its
    timeout; stop() must still end a feed whose venue keeps closing on it."""
    with running_venue("binance") as venue:
        for _ in range(200):
            venue.queue(Close(1013, "try again later"))
        feed = BinanceFeed("btcusdt", url=venue.url, backoff_initial=0.05, backoff_max=0.2)
        feed._cancel = lambda: None                 # the lost cancel
        with live_engine(feed):                     # asserts no feed thread is left
            wait_for(lambda: venue.connections >= 2, what="a retry")
    assert feed.error is None                       # a stop, not a failure
