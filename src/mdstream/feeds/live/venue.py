"""The venue contract: what the connection core needs to know about one venue.

A venue module (binance.py, coinbase.py, kraken.py) gives a ``Venue``: where
to connect, what to send after connecting, an optional application-level
ping, and a ``Decoder`` that turns each received message into ticks in a
TickBuffer. The connection core (mdstream.feeds.live.connection) does the
rest: the thread and event loop, reconnects, stale connections, batches.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.live.buffer import TickBuffer
from mdstream.feeds.live.stats import FeedCounters

__all__ = ["Venue", "Decoder", "MalformedMessage", "RECONNECT", "venue_url", "datetime_ns",
           "symbol_rule"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

#: What ``Decoder.decode`` returns for a venue's notice that the connection
#: will be closed: the core opens a new connection and closes this one once
#: the new one is subscribed (a planned disconnect without a hole).
RECONNECT = "reconnect"


class MalformedMessage(Exception):
    """A message a decoder cannot use; ``kind`` groups them for the log
    ("bad JSON", "unknown type 'foo'", "trade: missing field 'p'")."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


class Decoder:
    """Turns one venue's messages into ticks (one instance per feed, kept
    across reconnects so sequence checks see the whole session).

    ``decode(raw, recv_ns, out)`` appends the message's ticks to ``out``
    (a TickBuffer); it returns RECONNECT for a venue's reconnect notice and
    None otherwise, and raises MalformedMessage for a message it cannot use
    (the core counts and logs it, and carries on).
    """

    def decode(self, raw: bytes | str, recv_ns: int, out: TickBuffer) -> str | None:
        raise NotImplementedError


@dataclass(frozen=True)
class Venue:
    """One venue's connection settings.

    name: the feed's name (``--feed NAME:...``); prefix: of the mdstream
    symbols (``BINANCE`` -> ``BINANCE:BTCUSDT``); url_env: the environment
    variable that overrides default_url (tests point it at a local server);
    url: ``url(base, venue_symbols) -> str``, the address to connect to;
    subscribe: ``subscribe(venue_symbols) -> list[str]``, the messages sent
    after each connect (again after every reconnect); subscribe_rate: the
    most messages per second sent to the venue (its documented limit);
    ping: ``ping() -> str`` sent every app_ping_interval seconds, for venues that
    want application-level pings (WebSocket protocol pings are answered by
    the websockets library); max_connection_age: seconds after which the
    venue closes a connection (Binance: 24 h); the core replaces it a little
    before; decoder: ``decoder(ids, counters) -> Decoder``, ids mapping
    venue symbols to engine symbol ids; symbol: ``symbol(text) -> str``, a
    user's symbol as the venue names it (InvalidArgumentError if unusable);
    example: symbols to show in messages.
    """

    name: str
    prefix: str
    url_env: str
    default_url: str
    url: Callable[[str, Sequence[str]], str]
    subscribe: Callable[[Sequence[str]], list[str]]
    decoder: Callable[[dict, FeedCounters], Decoder]
    symbol: Callable[[str], str]
    subscribe_rate: float = 5.0
    ping: Callable[[], str] | None = None
    app_ping_interval: float = 30.0
    max_connection_age: float | None = None
    example: str = "SYMBOL"

    def mdstream_symbol(self, venue_symbol: str) -> str:
        """``BTCUSDT`` -> ``BINANCE:BTCUSDT``."""
        return f"{self.prefix}:{venue_symbol}"

    def venue_symbols(self, symbols: Sequence[str] | str) -> list[str]:
        """The user's symbols (a list, or one comma-separated string, with or
        without the ``PREFIX:``) as the venue names them, duplicates removed."""
        if isinstance(symbols, str):
            symbols = symbols.split(",")
        out: list[str] = []
        for text in symbols:
            text = text.strip()
            head, sep, tail = text.partition(":")
            if sep and head.upper() == self.prefix:
                text = tail
            if not text:
                continue
            name = self.symbol(text)
            if name not in out:
                out.append(name)
        if not out:
            raise InvalidArgumentError(f"{self.name}: give at least one symbol, e.g. "
                                       f"--feed {self.name}:{self.example}")
        return out

    def resolve_url(self, url: str | None) -> str:
        """``url``, else $url_env, else the venue's public endpoint."""
        return url or os.environ.get(self.url_env, "").strip() or self.default_url


def symbol_rule(venue: str, pattern: str, what: str) -> Callable[[str], str]:
    """A ``Venue.symbol``: ``symbol(text)`` is ``text`` upper-cased when it
    matches the regular expression ``pattern``, else InvalidArgumentError
    ("``venue``: 'text' is not ``what``")."""
    regex = re.compile(pattern)

    def symbol(text: str) -> str:
        if not regex.match(text):
            raise InvalidArgumentError(f"{venue}: {text!r} is not {what}")
        return text.upper()

    return symbol


def venue_url(url: str) -> str:
    """``url`` if it is a usable ws:// or wss:// address (as the websockets
    library parses it), else InvalidArgumentError."""
    from websockets.exceptions import InvalidURI
    from websockets.uri import parse_uri

    if not (url.startswith("ws://") or url.startswith("wss://")):
        raise InvalidArgumentError(f"a live feed's url must start with ws:// or wss://, "
                                   f"got {url!r}")
    try:
        parse_uri(url)
    except (InvalidURI, ValueError) as exc:
        raise InvalidArgumentError(f"a live feed's url is not usable: {url!r} ({exc})") from None
    return url.rstrip("/")


def datetime_ns(dt: datetime) -> int:
    """An aware datetime (as msgspec decodes RFC 3339 times) -> ns since the
    epoch, exactly (venues give microseconds)."""
    return (dt - _EPOCH) // _US * 1000
