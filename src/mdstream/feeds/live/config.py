"""LiveFeedConfig: a live feed's settings as a NodeConfig holds them, and the
``--feed VENUE:SYMBOLS`` factories (entry points of the ``mdstream.feeds``
group, listed in pyproject.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mdstream.feeds.live.connection import DEFAULT_STALE_AFTER_S, LiveFeed
from mdstream.feeds.live.venue import Venue

__all__ = ["LiveFeedConfig", "live_factory", "DEFAULT_STALE_AFTER_S"]


@dataclass(frozen=True)
class LiveFeedConfig:
    """One venue's live feed: ``venue`` (a Venue), ``symbols`` (as the venue
    names them), ``url`` (None: the venue's environment variable, else its
    public endpoint), ``stale_after`` (seconds). ``build()`` raises
    InvalidArgumentError for a symbol or URL the venue cannot use."""

    venue: Venue
    symbols: tuple[str, ...]
    url: str | None = None
    stale_after: float = DEFAULT_STALE_AFTER_S

    @property
    def kind(self) -> str:
        """The feed's name in ``--feed NAME:...`` (the venue's name)."""
        return self.venue.name

    def build(self) -> LiveFeed:
        """A new LiveFeed with these settings (not connected until the engine starts)."""
        return LiveFeed(self.venue, list(self.symbols), url=self.url, stale_after=self.stale_after)

    def describe(self, feed: LiveFeed) -> str:
        """One line for ``mdstream serve``."""
        names = ", ".join(feed.symbols[:8]) + (", ..." if len(feed.symbols) > 8 else "")
        return (f"live {self.venue.name} trades and best bid/offer of {len(feed.symbols)} "
                f"symbol{'s' if len(feed.symbols) != 1 else ''} ({names}) from {feed.url}")


def live_factory(venue: Venue) -> Callable[..., LiveFeedConfig]:
    """The ``--feed NAME:SYMBOLS`` factory of ``venue``: ``factory("btcusdt,ethusdt",
    url=None, stale_after=None) -> LiveFeedConfig``; InvalidArgumentError for
    no symbol or a symbol the venue cannot use."""

    def factory(arg: str, *, url: str | None = None,
                stale_after: float | None = None) -> LiveFeedConfig:
        symbols = tuple(venue.venue_symbols(arg))
        return LiveFeedConfig(venue, symbols, url=url,
                              stale_after=DEFAULT_STALE_AFTER_S if stale_after is None
                              else float(stale_after))

    factory.__doc__ = (f"``{venue.name}:SYMBOLS``: live trades and best bid/offer from "
                       f"{venue.name} (e.g. {venue.name}:{venue.example}).")
    return factory
