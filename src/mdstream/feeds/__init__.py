"""Sources of ticks for the engine."""

from mdstream.feeds.base import Feed, FeedConfig
from mdstream.feeds.configs import CSVFeedConfig, SimulatedFeedConfig
from mdstream.feeds.csv.feed import CSVFeed
from mdstream.feeds.csv.errors import BadFileError, BadRowError, CSVFeedError
from mdstream.feeds.csv.format import PRESETS, CSVFormat
from mdstream.feeds.progress import ProgressState, ReplayProgress
from mdstream.feeds.registry import ENTRY_POINT_GROUP, feed_config, feed_names
from mdstream.feeds.simulated import SimulatedFeed
from mdstream.feeds.sink import TickSink

__all__ = ["Feed", "FeedConfig", "TickSink", "feed_config", "feed_names", "ENTRY_POINT_GROUP",
           "SimulatedFeedConfig", "CSVFeedConfig", "SimulatedFeed", "CSVFeed", "CSVFormat",
           "PRESETS", "CSVFeedError", "BadFileError", "BadRowError", "ReplayProgress",
           "ProgressState"]
