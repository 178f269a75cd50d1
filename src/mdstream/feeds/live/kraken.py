"""Kraken spot, WebSocket API v2: subscribe messages per channel, ``trade`` and ``ticker``.

Sources (Kraken's public documentation):

- https://docs.kraken.com/api/docs/guides/spot-ws-intro (endpoint
  ``wss://ws.kraken.com/v2``; requests ``{"method": ..., "params": ...}``,
  acknowledged with ``"success": true`` or an ``"error"``).
- https://docs.kraken.com/api/docs/websocket-v2/trade (``trade``: ``data`` a
  list of trades with ``symbol``, ``side`` (the aggressor), ``price``,
  ``qty``, ``trade_id`` (+1 per trade of the pair), ``timestamp`` RFC 3339).
- https://docs.kraken.com/api/docs/websocket-v2/ticker (``ticker`` with
  ``event_trigger: "bbo"``: an update on every change of the best bid/offer:
  ``bid``, ``bid_qty``, ``ask``, ``ask_qty``, ``timestamp``).
- https://docs.kraken.com/api/docs/websocket-v2/ping and ``heartbeat``
  (application-level ``{"method": "ping"}`` answered by ``pong``; a
  ``heartbeat`` message about once a second once subscribed).
- ``status`` (https://docs.kraken.com/api/docs/websocket-v2/status): the
  system's state (``online``, ``maintenance``, ``cancel_only``,
  ``post_only``); anything but ``online`` is logged.

A ticker without ``timestamp`` gets the receive time as ``ts_ns``. Gaps: in
``trade_id`` per pair. Symbols: ``BTC/USD`` -> ``KRAKEN:BTC/USD`` (mdstream
symbols may contain ``/``). URL override: ``url=`` or ``MDSTREAM_KRAKEN_URL``.
Subscribe messages are sent at most 5 a second (a conservative pace; one
message per channel carries every symbol).
"""

from __future__ import annotations

import itertools
import json
import logging
from datetime import datetime
from typing import Sequence

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
from mdstream.text import printable

__all__ = ["KrakenFeed", "KRAKEN", "feed_config", "Trade", "Ticker"]

log = logging.getLogger("mdstream.feeds.live")


class Trade(msgspec.Struct):
    """One trade of a ``trade`` message's ``data``; ``side`` is the aggressor's."""

    symbol: str
    side: str
    price: float
    qty: float
    trade_id: int
    timestamp: datetime


class Ticker(msgspec.Struct):
    """One entry of a ``ticker`` message's ``data`` (the fields used)."""

    symbol: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    timestamp: datetime | None = None


class Status(msgspec.Struct):
    system: str = ""


class _Message(msgspec.Struct):
    """A channel message or a method's reply; ``data`` decoded by channel."""

    channel: str = ""
    type: str = ""
    method: str = ""
    success: bool = True
    error: str = ""
    data: msgspec.Raw = msgspec.Raw()


_IGNORED_CHANNELS = frozenset(("heartbeat", "pong"))
_REPLIES = frozenset(("subscribe", "unsubscribe", "pong"))


class KrakenDecoder(Decoder):
    """Kraken v2 messages -> trades and quotes (see the module docstring)."""

    def __init__(self, ids: dict[str, int], counters: FeedCounters):
        self._ids = ids
        self._counters = counters
        self._message = msgspec.json.Decoder(_Message)
        self._trades = msgspec.json.Decoder(list[Trade])
        self._tickers = msgspec.json.Decoder(list[Ticker])
        self._status = msgspec.json.Decoder(list[Status])
        self._trade_ids = SequenceCheck(counters, "trade ids")

    def decode(self, raw: bytes | str, recv_ns: int, out: TickBuffer) -> str | None:
        try:
            msg = self._message.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessage("bad message", str(exc)) from None
        channel = msg.channel
        try:
            if channel == "trade":
                self._on_trades(self._trades.decode(msg.data), out)
            elif channel == "ticker":
                for t in self._tickers.decode(msg.data):
                    ts = recv_ns if t.timestamp is None else datetime_ns(t.timestamp)
                    out.quote(self._id(t.symbol, "ticker"), ts, t.bid, t.ask, t.bid_qty, t.ask_qty)
            elif channel == "status":
                for s in self._status.decode(msg.data):
                    if s.system and s.system != "online":
                        log.warning("kraken: the system status is %r", printable(s.system))
            elif channel in _IGNORED_CHANNELS:
                pass
            elif msg.method in _REPLIES:
                if not msg.success:
                    self._counters.venue_error(f"{msg.method}: {msg.error}")
            else:
                raise MalformedMessage(f"unknown channel {channel or msg.method!r}")
        except msgspec.DecodeError as exc:
            raise MalformedMessage(f"{channel}: bad data", str(exc)) from None
        return None

    def _id(self, symbol: str, channel: str) -> int:
        sid = self._ids.get(symbol)
        if sid is None:
            raise MalformedMessage(f"{channel}: a symbol not subscribed", symbol)
        return sid

    def _on_trades(self, trades: list[Trade], out: TickBuffer) -> None:
        c = self._counters
        for t in trades:
            sid = self._id(t.symbol, "trade")
            if not self._trade_ids.check(t.symbol, t.trade_id):
                continue
            out.trade(sid, datetime_ns(t.timestamp), t.price, t.qty)
            if t.side == "buy":
                c.buys += 1
            elif t.side == "sell":
                c.sells += 1


_symbol = symbol_rule("kraken", r"^[A-Za-z0-9.]{1,16}/[A-Za-z0-9.]{1,16}$",
                      "a Kraken v2 pair (BASE/QUOTE, e.g. BTC/USD)")


def _subscribe(pairs: Sequence[str]) -> list[str]:
    return [json.dumps({"method": "subscribe",
                        "params": {"channel": "trade", "symbol": list(pairs), "snapshot": False}}),
            json.dumps({"method": "subscribe",
                        "params": {"channel": "ticker", "symbol": list(pairs),
                                   "event_trigger": "bbo", "snapshot": True}})]


_REQ_IDS = itertools.count(1)


def _ping() -> str:
    return json.dumps({"method": "ping", "req_id": next(_REQ_IDS)})


KRAKEN = Venue(
    name="kraken", prefix="KRAKEN", url_env="MDSTREAM_KRAKEN_URL",
    default_url="wss://ws.kraken.com/v2", url=lambda base, symbols: base,
    subscribe=_subscribe, decoder=KrakenDecoder, symbol=_symbol, subscribe_rate=5.0,
    ping=_ping, app_ping_interval=30.0, example="BTC/USD,ETH/USD")


class KrakenFeed(LiveFeed):
    """Kraken spot trades and best bid/offer (v2 API): ``KrakenFeed(["BTC/USD"])``
    -> ``KRAKEN:BTC/USD``. ``url``: default ``$MDSTREAM_KRAKEN_URL``, else
    Kraken's. The other settings are LiveFeed's."""

    def __init__(self, symbols: Sequence[str] | str, **settings):
        super().__init__(KRAKEN, symbols, **settings)


#: ``--feed kraken:BTC/USD`` (entry point of the mdstream.feeds group).
feed_config = live_factory(KRAKEN)
