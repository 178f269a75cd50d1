"""Sources of ticks for the engine."""

from mdstream.feeds.base import Feed
from mdstream.feeds.csv import CSVFeed
from mdstream.feeds.csv_errors import BadFileError, BadRowError, CSVFeedError
from mdstream.feeds.csv_format import PRESETS, CSVFormat
from mdstream.feeds.simulated import SimulatedFeed

__all__ = ["Feed", "SimulatedFeed", "CSVFeed", "CSVFormat", "PRESETS", "CSVFeedError",
           "BadFileError", "BadRowError"]
