"""Live market data from venues' public WebSocket APIs (``pip install 'mdstream[live]'``).

``BinanceFeed``, ``CoinbaseFeed`` and ``KrakenFeed`` are ``LiveFeed``s (the
venue-independent connection core in ``connection.py``); ``--feed
binance:btcusdt``, ``coinbase:BTC-USD``, ``kraken:BTC/USD`` and
``live:binance:btcusdt;coinbase:BTC-USD`` (several venues) find them by name.
"""

from mdstream.feeds.live.binance import BinanceFeed
from mdstream.feeds.live.coinbase import CoinbaseFeed
from mdstream.feeds.live.connection import LiveFeed
from mdstream.feeds.live.kraken import KrakenFeed
from mdstream.feeds.live.stats import FeedStats

__all__ = ["LiveFeed", "BinanceFeed", "CoinbaseFeed", "KrakenFeed", "FeedStats"]
