"""The live feeds' parts without a connection: sequence checks, the tick
buffer's rules, symbol names; and batching, seen through a real engine."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdstream.batch import QUOTE, TRADE  # noqa: E402
from mdstream.errors import InvalidArgumentError  # noqa: E402
from mdstream.feeds.live import BinanceFeed  # noqa: E402
from mdstream.feeds.live.binance import BINANCE, BINANCE_FUTURES  # noqa: E402
from mdstream.feeds.live.buffer import TickBuffer  # noqa: E402
from mdstream.feeds.live.kraken import KRAKEN  # noqa: E402
from mdstream.feeds.live.stats import FeedCounters, SequenceCheck  # noqa: E402
from mdstream.feeds.live.venue import MalformedMessage  # noqa: E402
from venues.harness import collect, live_engine, running_venue, wait_for  # noqa: E402
from venues.messages import binance_agg_trade, binance_trade, kraken_trades  # noqa: E402
from venues.server import Hold, Send  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def test_sequence_check_counts_gaps_and_drops_duplicates():
    c = FeedCounters("x")
    check = SequenceCheck(c, "trade ids")
    assert [check.check("A", n) for n in (5, 6, 6, 4, 9, 10)] == [True, True, False, False,
                                                                  True, True]
    assert check.check("B", 1)                    # keys are independent
    check.seen("A", 10)                           # nothing missed
    check.seen("A", 13)                           # 11, 12, 13 never seen
    assert (c.gaps, c.missed, c.duplicates) == (2, 2 + 3, 2)
    loose = SequenceCheck(c, "sequence", contiguous=False)
    assert loose.check("A", 1) and loose.check("A", 50) and not loose.check("A", 50)
    assert c.gaps == 2


def test_tick_buffer_drops_only_the_ticks_the_rules_refuse():
    c = FeedCounters("x")
    buf = TickBuffer(c)
    buf.trade(0, 1, 10.0, 1.0)
    buf.trade(0, 2, math.inf, 1.0)
    buf.quote(1, 3, 0.0, 11.0, 0.0, 2.0)          # no bid: an absent side
    buf.trade(1, 4, -37.63, 5.0)                  # a negative price is real
    buf.trade(0, 5, 10.0, -1.0)
    ticks = buf.take()
    assert len(buf) == 0 and len(ticks) == 3
    assert ticks["kind"].tolist() == [TRADE, QUOTE, TRADE]
    assert ticks["ts_ns"].tolist() == [1, 3, 4]
    assert np.isnan(ticks["bid"][1]) and ticks["bid_size"][1] == 0 and ticks["ask"][1] == 11.0
    assert (c.malformed, c.trades, c.quotes) == (2, 2, 1)
    assert c.malformed_kinds() == {"bad price": 1, "bad size": 1}


def test_side_and_ids_of_binance_futures_and_kraken_batches():
    c = FeedCounters("binance-futures")
    dec = BINANCE_FUTURES.decoder({"BTCUSDT": 3}, c)
    buf = TickBuffer(c)
    dec.decode(binance_agg_trade("btcusdt", 7, "1.5", "2", 1000, buyer_is_maker=True), 0, buf)
    dec.decode(binance_agg_trade("btcusdt", 8, "1.6", "1", 1001), 0, buf)
    dec.decode(binance_agg_trade("btcusdt", 8, "1.6", "1", 1001), 0, buf)   # again
    ticks = buf.take()
    assert ticks["symbol_id"].tolist() == [3, 3]
    assert ticks["ts_ns"].tolist() == [10**9, 1001 * 10**6]
    assert (c.sells, c.buys, c.duplicates) == (1, 1, 1)

    k = FeedCounters("kraken")
    dec = KRAKEN.decoder({"BTC/USD": 0}, k)
    buf = TickBuffer(k)
    dec.decode(kraken_trades(("BTC/USD", 1, 10.0, 1.0, "buy", 5_000), ("BTC/USD", 2, 11.0, 2.0,
                                                                         "sell", 6_000)), 0, buf)
    assert buf.take()["price"].tolist() == [10.0, 11.0] and (k.buys, k.sells) == (1, 1)
    with pytest.raises(MalformedMessage, match="not subscribed"):
        dec.decode(kraken_trades(("ETH/USD", 1, 1.0, 1.0, "buy", 0)), 0, buf)


def test_symbols_as_the_venues_name_them():
    assert BINANCE.venue_symbols("btcusdt, BINANCE:ethusdt,btcusdt") == ["BTCUSDT", "ETHUSDT"]
    assert KRAKEN.venue_symbols(["btc/usd"]) == ["BTC/USD"]
    assert KRAKEN.mdstream_symbol("BTC/USD") == "KRAKEN:BTC/USD"
    with pytest.raises(InvalidArgumentError, match="not a Kraken v2 pair"):
        KRAKEN.venue_symbols("BTCUSD")
    with pytest.raises(InvalidArgumentError, match="1024"):
        BinanceFeed([f"sym{i}usdt" for i in range(600)])


def test_a_burst_of_messages_reaches_the_engine_in_few_batches():
    n = 2000
    burst = [binance_trade("btcusdt", i, "10", "1", 1_700_000_000_000 + i) for i in range(n)]
    with running_venue("binance") as venue:
        venue.queue(Send(*burst), Hold())
        feed = BinanceFeed("btcusdt", url=venue.url)
        with live_engine(feed) as (engine, sub):
            rows = collect(sub, n)
            wait_for(lambda: feed.stats().ticks == n, what="every tick")
            stats = feed.stats()
    assert len(rows) == n and stats.messages == n and stats.gaps == 0
    assert stats.batches < n / 4, stats           # one array per burst, not one per message


def test_an_older_binance_book_update_is_dropped():
    from venues.messages import binance_book
    c = FeedCounters("binance")
    dec = BINANCE.decoder({"BTCUSDT": 0}, c)
    buf = TickBuffer(c)
    for u, bid in ((10, "1.0"), (15, "1.1"), (12, "0.9"), (16, "1.2")):
        dec.decode(binance_book("btcusdt", u, bid, "1", "2.0", "1"), 7, buf)
    assert buf.take()["bid"].tolist() == [1.0, 1.1, 1.2]
    assert (c.duplicates, c.gaps) == (1, 0)
