"""Coinbase Exchange: a subscribe message, the ``matches`` and ``ticker`` channels.

Sources (Coinbase's public documentation):

- https://docs.cdp.coinbase.com/exchange/websocket-feed/overview (endpoint
  ``wss://ws-feed.exchange.coinbase.com``; subscribe with
  ``{"type": "subscribe", "product_ids": [...], "channels": [...]}``, answered
  by a ``subscriptions`` message or an ``error``; sequence numbers increase
  per product).
- https://docs.cdp.coinbase.com/exchange/websocket-feed/channels
  (``matches``: a ``match`` per trade, ``trade_id`` +1 per trade of the
  product, ``side`` the maker's side, so ``sell`` means the aggressor bought;
  a ``last_match`` right after subscribing; ``ticker``: best bid/offer
  after each match, with ``best_bid``, ``best_bid_size``, ``best_ask``,
  ``best_ask_size``; ``heartbeat``: one a second per product, with
  ``last_trade_id``).
- Rate limits: https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits
  (8 messages a second per IP, bursts of 20).

Gaps: in ``trade_id`` of matches (and of the heartbeats' ``last_trade_id``),
per product. ``sequence`` is per product across every channel, so with only
some channels it jumps: it is checked for order only (a message at or below
the last sequence of its product and channel is a duplicate, dropped).
``last_match`` sets where the trade ids continue from; it is not a new
trade, so it is not published. Symbols: ``BTC-USD`` -> ``COINBASE:BTC-USD``.
URL override: ``url=`` or ``MDSTREAM_COINBASE_URL``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Sequence, Union, final

import msgspec

from mdstream.feeds.live.buffer import TickBuffer
from mdstream.feeds.live.config import live_factory
from mdstream.feeds.live.connection import LiveFeed
from mdstream.feeds.live.stats import FeedCounters, SequenceCheck
from mdstream.feeds.live.venue import (
    Decoder,
    MalformedMessage,
    Venue,
    datetime_ns,
    symbol_rule,
)

__all__ = ["CoinbaseFeed", "COINBASE", "feed_config", "Match", "Ticker", "Heartbeat"]


class Match(msgspec.Struct, tag="match", tag_field="type"):
    """A trade (``matches`` channel); ``side`` is the maker's."""

    product_id: str
    trade_id: int
    sequence: int
    time: datetime
    price: float
    size: float
    side: str


@final
class LastMatch(Match, tag="last_match", tag_field="type"):
    """The product's latest trade, sent once after subscribing."""


@final
class Ticker(msgspec.Struct, tag="ticker", tag_field="type"):
    """Best bid/offer after a match (``ticker`` channel)."""

    product_id: str
    sequence: int
    time: datetime
    best_bid: float
    best_ask: float
    best_bid_size: float = 0.0
    best_ask_size: float = 0.0


@final
class Heartbeat(msgspec.Struct, tag="heartbeat", tag_field="type"):
    """One a second per product (``heartbeat`` channel)."""

    product_id: str
    sequence: int
    last_trade_id: int


@final
class Subscriptions(msgspec.Struct, tag="subscriptions", tag_field="type"):
    channels: list = []


@final
class Error(msgspec.Struct, tag="error", tag_field="type"):
    message: str = ""
    reason: str = ""


_Message = Union[Match, LastMatch, Ticker, Heartbeat, Subscriptions, Error]


class CoinbaseDecoder(Decoder):
    """Coinbase Exchange feed messages -> trades and quotes (module docstring)."""

    def __init__(self, ids: dict[str, int], counters: FeedCounters):
        self._ids = ids
        self._counters = counters
        # strict=False: prices and sizes come as strings ("400.23").
        self._decoder = msgspec.json.Decoder(_Message, strict=False)
        self._trade_ids = SequenceCheck(counters, "trade ids")
        self._sequence = SequenceCheck(counters, "sequence numbers", contiguous=False)

    def decode(self, raw: bytes | str, recv_ns: int, out: TickBuffer) -> str | None:
        try:
            msg = self._decoder.decode(raw)
        except msgspec.DecodeError as exc:
            text = str(exc)
            kind = "unknown type" if "`$.type`" in text else "bad message"
            raise MalformedMessage(kind, text) from None
        # ``type(msg) is`` (not isinstance, which is slower for msgspec's
        # StructMeta classes) narrows the tagged union for type checkers too:
        # the message classes other than Match are final. LastMatch is a Match,
        # so it is told apart before the plain Match at the end.
        if type(msg) is Subscriptions:
            return None
        if type(msg) is Error:
            self._counters.venue_error(f"{msg.message}: {msg.reason}")
            return None
        sid = self._ids.get(msg.product_id)
        if sid is None:
            raise MalformedMessage(f"{type(msg).__name__.lower()}: a product not subscribed",
                                   msg.product_id)
        if type(msg) is Heartbeat:
            self._trade_ids.seen(msg.product_id, msg.last_trade_id)
            return None
        if not self._sequence.check((msg.product_id, type(msg) is Ticker), msg.sequence):
            return None
        if type(msg) is Ticker:
            out.quote(sid, datetime_ns(msg.time), msg.best_bid, msg.best_ask, msg.best_bid_size,
                      msg.best_ask_size)
            return None
        if type(msg) is LastMatch:
            self._trade_ids.seen(msg.product_id, msg.trade_id)
            return None
        if not self._trade_ids.check(msg.product_id, msg.trade_id):
            return None
        out.trade(sid, datetime_ns(msg.time), msg.price, msg.size)
        if msg.side == "sell":          # the maker sold: the aggressor bought
            self._counters.buys += 1
        elif msg.side == "buy":
            self._counters.sells += 1
        return None


_symbol = symbol_rule("coinbase", r"^[A-Za-z0-9]{1,20}-[A-Za-z0-9]{1,20}$",
                      "a Coinbase product id (BASE-QUOTE, e.g. BTC-USD)")


def _subscribe(products: Sequence[str]) -> list[str]:
    return [json.dumps({"type": "subscribe", "product_ids": list(products),
                        "channels": ["heartbeat", "matches", "ticker"]})]


COINBASE = Venue(
    name="coinbase", prefix="COINBASE", url_env="MDSTREAM_COINBASE_URL",
    default_url="wss://ws-feed.exchange.coinbase.com", url=lambda base, symbols: base,
    subscribe=_subscribe, decoder=CoinbaseDecoder, symbol=_symbol, subscribe_rate=8.0,
    example="BTC-USD,ETH-USD")


class CoinbaseFeed(LiveFeed):
    """Coinbase Exchange trades and best bid/offer: ``CoinbaseFeed(["BTC-USD"])``
    -> ``COINBASE:BTC-USD``. ``url``: default ``$MDSTREAM_COINBASE_URL``, else
    Coinbase's. The other settings are LiveFeed's."""

    def __init__(self, symbols: Sequence[str] | str, **settings):
        super().__init__(COINBASE, symbols, **settings)


#: ``--feed coinbase:BTC-USD,ETH-USD`` (entry point of the mdstream.feeds group).
feed_config = live_factory(COINBASE)
