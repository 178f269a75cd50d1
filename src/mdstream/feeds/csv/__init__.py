"""Replay of recorded trades and quotes from CSV files."""

from mdstream.feeds.csv.errors import BadFileError, BadRowError, CSVFeedError
from mdstream.feeds.csv.feed import CSVFeed
from mdstream.feeds.csv.format import PRESETS, CSVFormat
from mdstream.feeds.progress import ProgressState, ReplayProgress

__all__ = ["CSVFeed", "CSVFormat", "PRESETS", "CSVFeedError", "BadFileError", "BadRowError",
           "ReplayProgress", "ProgressState"]
