"""Live market data from venues' public WebSocket APIs (``pip install 'mdstream[live]'``).

``BinanceFeed``, ``CoinbaseFeed`` and ``KrakenFeed`` are ``LiveFeed``s (the
venue-independent connection core in ``connection.py``); ``--feed
binance:btcusdt``, ``coinbase:BTC-USD``, ``kraken:BTC/USD`` and
``live:binance:btcusdt;coinbase:BTC-USD`` (several venues) find them by name.
"""

try:
    import msgspec  # noqa: F401
    import tenacity  # noqa: F401
    import websockets  # noqa: F401
except ModuleNotFoundError as exc:      # the 'live' extra is not installed
    raise ModuleNotFoundError(f"mdstream's live feeds need the {exc.name!r} package: "
                              "pip install 'mdstream[live]'", name=exc.name) from exc

from mdstream.feeds.live.binance import BinanceFeed
from mdstream.feeds.live.coinbase import CoinbaseFeed
from mdstream.feeds.live.connection import LiveFeed
from mdstream.feeds.live.kraken import KrakenFeed
from mdstream.feeds.live.stats import FeedStats

__all__ = ["LiveFeed", "BinanceFeed", "CoinbaseFeed", "KrakenFeed", "FeedStats"]
