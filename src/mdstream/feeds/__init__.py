"""Sources of ticks for the engine."""

from mdstream.feeds.base import Feed
from mdstream.feeds.csv.feed import CSVFeed
from mdstream.feeds.csv.errors import BadFileError, BadRowError, CSVFeedError
from mdstream.feeds.csv.format import PRESETS, CSVFormat
from mdstream.feeds.simulated import SimulatedFeed
from mdstream.feeds.sink import TickSink

__all__ = ["Feed", "TickSink", "SimulatedFeed", "CSVFeed", "CSVFormat", "PRESETS", "CSVFeedError",
           "BadFileError", "BadRowError"]
