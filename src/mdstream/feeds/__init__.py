"""Sources of ticks for the engine."""

from mdstream.feeds.base import Feed
from mdstream.feeds.simulated import SimulatedFeed

__all__ = ["Feed", "SimulatedFeed"]
