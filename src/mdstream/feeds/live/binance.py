"""Binance spot and USD-M futures: streams named in the URL, combined streams.

Sources (Binance's public documentation):

- Spot: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
  (base ``wss://stream.binance.com:9443``; combined streams at
  ``/stream?streams=<s1>/<s2>`` wrapped as ``{"stream": ..., "data": ...}``;
  stream names lowercase; a connection is valid for 24 h; a ``serverShutdown``
  event before a shutdown; a ping frame every 20 s; 5 incoming messages/s;
  at most 1024 streams per connection; times in ms).
- USD-M futures: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
  (base ``wss://fstream.binance.com``; the same combined streams; 24 h;
  10 incoming messages/s).

Streams: spot ``<symbol>@trade`` (``t``: the trade id, +1 per trade of the
symbol) and ``<symbol>@bookTicker`` (best bid/offer); futures
``<symbol>@aggTrade`` (``a``: the aggregate trade id, +1 per aggregate) and
``<symbol>@bookTicker``. ``m`` (the buyer is the maker) means the aggressor
sold. Spot bookTicker carries no event time: its ``ts_ns`` is the receive
time; futures bookTicker has ``E`` (event time, ms). A bookTicker whose
update id ``u`` is not above the last one of its symbol is dropped as a
duplicate (the overlap of two connections during a handover).

Symbols: ``btcusdt`` or ``BTCUSDT`` -> the engine's ``BINANCE:BTCUSDT``
(futures: ``BINANCE-FUTURES:BTCUSDT``). URL override: ``url=`` or
``MDSTREAM_BINANCE_URL`` / ``MDSTREAM_BINANCE_FUTURES_URL`` (a base URL; the
``/stream?streams=...`` path is added).
"""

from __future__ import annotations

from typing import Sequence

import msgspec

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.live.buffer import TickBuffer
from mdstream.feeds.live.config import live_factory
from mdstream.feeds.live.connection import LiveFeed
from mdstream.feeds.live.stats import FeedCounters, SequenceCheck
from mdstream.feeds.live.venue import RECONNECT, Decoder, MalformedMessage, Venue, symbol_rule

__all__ = ["BinanceFeed", "BINANCE", "BINANCE_FUTURES", "feed_config", "futures_feed_config",
           "Trade", "AggTrade", "BookTicker"]

_MS = 1_000_000


class Trade(msgspec.Struct):
    """Spot ``<symbol>@trade``: one trade."""

    symbol: str = msgspec.field(name="s")
    trade_id: int = msgspec.field(name="t")
    price: float = msgspec.field(name="p")
    quantity: float = msgspec.field(name="q")
    trade_time_ms: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")


class AggTrade(msgspec.Struct):
    """Futures ``<symbol>@aggTrade``: trades of one taker order at one price."""

    symbol: str = msgspec.field(name="s")
    agg_id: int = msgspec.field(name="a")
    price: float = msgspec.field(name="p")
    quantity: float = msgspec.field(name="q")
    trade_time_ms: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")


class BookTicker(msgspec.Struct):
    """``<symbol>@bookTicker``: the best bid and offer (futures add E and T)."""

    symbol: str = msgspec.field(name="s")
    update_id: int = msgspec.field(name="u")
    bid: float = msgspec.field(name="b")
    bid_qty: float = msgspec.field(name="B")
    ask: float = msgspec.field(name="a")
    ask_qty: float = msgspec.field(name="A")
    event_time_ms: int = msgspec.field(name="E", default=0)


class _Envelope(msgspec.Struct):
    stream: str
    data: msgspec.Raw


class _Other(msgspec.Struct):
    """Anything else: an event (``serverShutdown``) or an error reply."""

    e: str = ""
    event: dict | None = None
    error: dict | None = None
    msg: str = ""


_STREAMS = {"trade": Trade, "aggTrade": AggTrade, "bookTicker": BookTicker}


class BinanceDecoder(Decoder):
    """Combined-stream messages -> trades and quotes (see the module docstring)."""

    def __init__(self, ids: dict[str, int], counters: FeedCounters):
        self._ids = ids
        self._counters = counters
        self._envelope = msgspec.json.Decoder(_Envelope)
        # strict=False: Binance sends prices and quantities as strings ("0.001").
        self._decoders = {k: msgspec.json.Decoder(t, strict=False) for k, t in _STREAMS.items()}
        self._other = msgspec.json.Decoder(_Other)
        self._trade_ids = SequenceCheck(counters, "trade ids")
        # bookTicker's u is the order book's update id: it only increases (not
        # by 1: the stream skips updates below the top), so an older one is stale.
        self._book_ids = SequenceCheck(counters, "book update ids", contiguous=False)

    def decode(self, raw: bytes | str, recv_ns: int, out: TickBuffer) -> str | None:
        try:
            env = self._envelope.decode(raw)
        except msgspec.DecodeError:
            return self._not_a_stream(raw)
        kind = env.stream.rpartition("@")[2]
        decoder = self._decoders.get(kind)
        if decoder is None:
            raise MalformedMessage(f"unknown stream {kind!r}")
        try:
            msg = decoder.decode(env.data)
        except msgspec.DecodeError as exc:
            raise MalformedMessage(f"{kind}: {exc}") from None
        sid = self._ids.get(msg.symbol)
        if sid is None:
            raise MalformedMessage(f"{kind}: a symbol not subscribed", msg.symbol)
        if kind == "bookTicker":
            if not self._book_ids.check(msg.symbol, msg.update_id):
                return None
            ts = msg.event_time_ms * _MS if msg.event_time_ms else recv_ns
            out.quote(sid, ts, msg.bid, msg.ask, msg.bid_qty, msg.ask_qty)
            return None
        if not self._trade_ids.check(msg.symbol, msg.trade_id if kind == "trade" else msg.agg_id):
            return None
        out.trade(sid, msg.trade_time_ms * _MS, msg.price, msg.quantity)
        if msg.buyer_is_maker:
            self._counters.sells += 1
        else:
            self._counters.buys += 1
        return None

    def _not_a_stream(self, raw: bytes | str) -> str | None:
        try:
            other = self._other.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessage("bad JSON or not a stream message", str(exc)) from None
        event = other.e or (other.event or {}).get("e", "")
        if event == "serverShutdown":
            return RECONNECT
        if other.error is not None or other.msg:
            self._counters.venue_error(str(other.error or other.msg))
            return None
        raise MalformedMessage("not a stream message")


_symbol = symbol_rule("binance", r"^[A-Za-z0-9]{2,30}$",
                      "a Binance symbol (letters and digits, e.g. btcusdt)")


def _url(streams: tuple[str, str]):
    def url(base: str, symbols: Sequence[str]) -> str:
        names = [f"{s.lower()}@{kind}" for s in symbols for kind in streams]
        if len(names) > 1024:
            raise InvalidArgumentError(f"binance: {len(names)} streams; a connection takes at "
                                       "most 1024 (512 symbols)")
        return f"{base}/stream?streams={'/'.join(names)}"
    return url


BINANCE = Venue(
    name="binance", prefix="BINANCE", url_env="MDSTREAM_BINANCE_URL",
    default_url="wss://stream.binance.com:9443", url=_url(("trade", "bookTicker")),
    subscribe=lambda symbols: [], decoder=BinanceDecoder, symbol=_symbol,
    subscribe_rate=5.0, max_connection_age=24 * 3600.0, example="btcusdt,ethusdt")

BINANCE_FUTURES = Venue(
    name="binance-futures", prefix="BINANCE-FUTURES", url_env="MDSTREAM_BINANCE_FUTURES_URL",
    default_url="wss://fstream.binance.com", url=_url(("aggTrade", "bookTicker")),
    subscribe=lambda symbols: [], decoder=BinanceDecoder, symbol=_symbol,
    subscribe_rate=10.0, max_connection_age=24 * 3600.0, example="btcusdt")


class BinanceFeed(LiveFeed):
    """Binance trades and best bid/offer: ``BinanceFeed(["btcusdt", "ethusdt"])``.

    ``market``: ``"spot"`` (``BINANCE:BTCUSDT``, streams trade + bookTicker)
    or ``"futures"`` (USD-M, ``BINANCE-FUTURES:BTCUSDT``, aggTrade +
    bookTicker). ``url``: the base URL (default ``$MDSTREAM_BINANCE_URL`` /
    ``$MDSTREAM_BINANCE_FUTURES_URL``, else Binance's). The other settings
    are LiveFeed's. Prices in the quote asset, sizes in the base asset.
    """

    def __init__(self, symbols: Sequence[str] | str, *, market: str = "spot", **settings):
        if market not in ("spot", "futures"):
            raise InvalidArgumentError(f"binance: market is 'spot' or 'futures', got {market!r}")
        super().__init__(BINANCE if market == "spot" else BINANCE_FUTURES, symbols, **settings)


#: ``--feed binance:btcusdt,ethusdt`` (entry point of the mdstream.feeds group).
feed_config = live_factory(BINANCE)
#: ``--feed binance-futures:btcusdt``.
futures_feed_config = live_factory(BINANCE_FUTURES)
