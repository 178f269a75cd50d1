"""Several venues in one engine: ``--feed 'live:binance:btcusdt,ethusdt;coinbase:BTC-USD'``.

``MultiFeed`` runs one LiveFeed per venue (each its own thread and
connection) into the same engine; the engine's ingest is thread-safe and
every venue's ticks keep their order. ``live:`` takes ``VENUE:SYMBOLS``
parts separated by ``;`` (quote the spec in a shell); each venue's URL
comes from its environment variable (``MDSTREAM_BINANCE_URL``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.base import Feed
from mdstream.feeds.live.binance import BINANCE, BINANCE_FUTURES
from mdstream.feeds.live.coinbase import COINBASE
from mdstream.feeds.live.config import LiveFeedConfig, live_factory
from mdstream.feeds.live.connection import LiveFeed
from mdstream.feeds.live.kraken import KRAKEN
from mdstream.feeds.live.stats import FeedStats
from mdstream.feeds.sink import TickSink

__all__ = ["VENUES", "MultiFeed", "MultiFeedConfig", "feed_config"]

#: The venues by feed name.
VENUES = {v.name: v for v in (BINANCE, BINANCE_FUTURES, COINBASE, KRAKEN)}


class MultiFeed(Feed):
    """Several LiveFeeds into one engine. ``symbols``: all of theirs, in order;
    ``error``: the first feed's error; ``bad_rows``: their malformed messages
    in all; ``stats()``: FeedStats by venue name."""

    def __init__(self, feeds: Sequence[LiveFeed]):
        if not feeds:
            raise InvalidArgumentError("MultiFeed needs at least one feed")
        self.feeds = list(feeds)
        self.symbols = [s for f in self.feeds for s in f.symbols]

    def bind(self, sink: TickSink) -> None:
        for f in self.feeds:
            f.bind(sink)

    def start(self) -> None:
        for f in self.feeds:
            f.start()

    def stop(self) -> None:
        for f in self.feeds:
            f.stop()

    @property
    def error(self) -> BaseException | None:
        return next((f.error for f in self.feeds if f.error is not None), None)

    @property
    def bad_rows(self) -> int:
        return sum(f.bad_rows for f in self.feeds)

    def stats(self) -> dict[str, FeedStats]:
        return {f.venue.name: f.stats() for f in self.feeds}


@dataclass(frozen=True)
class MultiFeedConfig:
    """Live feeds of several venues (LiveFeedConfigs) run as one MultiFeed."""

    feeds: tuple[LiveFeedConfig, ...]

    kind = "live"

    def build(self) -> MultiFeed:
        return MultiFeed([c.build() for c in self.feeds])

    def describe(self, feed: MultiFeed) -> str:
        return "; ".join(c.describe(f) for c, f in zip(self.feeds, feed.feeds))


def feed_config(arg: str, *, stale_after: float | None = None) -> MultiFeedConfig:
    """``live:VENUE:SYMBOLS[;VENUE:SYMBOLS...]`` (venues: binance,
    binance-futures, coinbase, kraken). InvalidArgumentError for an unknown
    venue, a venue given twice, or unusable symbols."""
    configs: list[LiveFeedConfig] = []
    for part in (p.strip() for p in arg.split(";")):
        if not part:
            continue
        name, _, symbols = part.partition(":")
        venue = VENUES.get(name.strip().lower())
        if venue is None:
            raise InvalidArgumentError(f"live: unknown venue {name!r}; the venues are "
                                       f"{', '.join(VENUES)} (e.g. live:binance:btcusdt;"
                                       "coinbase:BTC-USD)")
        if any(c.venue is venue for c in configs):
            raise InvalidArgumentError(f"live: {venue.name} is given twice; list all its "
                                       f"symbols once ({venue.name}:{venue.example})")
        configs.append(live_factory(venue)(symbols, stale_after=stale_after))
    if not configs:
        raise InvalidArgumentError("live: give VENUE:SYMBOLS parts separated by ';', e.g. "
                                   "'live:binance:btcusdt;coinbase:BTC-USD'")
    return MultiFeedConfig(tuple(configs))
