"""SimulatedFeed: random-walk trades and quotes generated inside the core."""

from __future__ import annotations

from typing import Sequence

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.base import Feed
from mdstream.feeds.sink import TickSink

__all__ = ["SimulatedFeed"]


class SimulatedFeed(Feed):
    """Trades and quotes from a geometric random walk per symbol, generated in
    batches by a C thread in the core (no Python per tick).

    The ticks (symbols, kinds, prices, sizes) are the same for the same seed
    and symbols; event timestamps are the wall-clock time of generation.

    Parameters
    ----------
    symbols:
        Symbol names; each tick picks one uniformly at random.
    rate:
        Ticks per second, paced in batches of about a millisecond; 0 means as
        fast as the engine takes them (backpressure paces the feed).
    seed:
        Seed of the random generator.
    count:
        Ticks to generate in all, after which the engine finishes (every
        result is delivered, then subscriptions end); 0 means no end.
    quote_ratio:
        Share of ticks that are quotes (the rest are trades).
    volatility:
        Standard deviation of one step's log price change.
    spread_bps:
        Typical quoted spread in basis points of the price.
    """

    def __init__(self, symbols: Sequence[str] = ("AAPL", "MSFT", "GOOG"), rate: float = 100_000,
                 seed: int = 7, count: int = 0, quote_ratio: float = 0.2,
                 volatility: float = 0.0005, spread_bps: float = 2.0):
        self.symbols = list(symbols)
        if not self.symbols:
            raise InvalidArgumentError("SimulatedFeed needs at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise InvalidArgumentError(f"SimulatedFeed symbols must be distinct, got {self.symbols}")
        if rate < 0:
            raise InvalidArgumentError(f"rate must be >= 0 ticks/s (0 = as fast as possible), got {rate}")
        if count < 0:
            raise InvalidArgumentError(f"count must be >= 0 (0 = no end), got {count}")
        if not 0.0 <= quote_ratio <= 1.0:
            raise InvalidArgumentError(f"quote_ratio must be within [0, 1], got {quote_ratio}")
        if volatility < 0 or spread_bps < 0:
            raise InvalidArgumentError("volatility and spread_bps must be >= 0")
        if not 0 <= seed < 2**64:
            raise InvalidArgumentError(f"seed must be within [0, 2**64), got {seed}")
        self.rate = float(rate)
        self.seed = int(seed)
        self.count = int(count)
        self.quote_ratio = float(quote_ratio)
        self.volatility = float(volatility)
        self.spread_bps = float(spread_bps)

    def __repr__(self) -> str:
        return (f"SimulatedFeed(symbols={self.symbols!r}, rate={self.rate:g}, seed={self.seed}, "
                f"count={self.count})")

    def bind(self, sink: TickSink) -> None:
        """Configure the core's generator; it runs from the engine's start and,
        with a count, closes the sink's ingest after the last tick."""
        sink.simulate(sink.symbol_ids(self.symbols), seed=self.seed, rate=self.rate,
                      count=self.count, quote_ratio=self.quote_ratio,
                      volatility=self.volatility, spread_bps=self.spread_bps)
