"""Replay of recorded trades and quotes from Parquet files and datasets (needs pyarrow)."""

from mdstream.feeds.parquet.config import ParquetFeedConfig, feed_config
from mdstream.feeds.parquet.errors import ParquetRowError
from mdstream.feeds.parquet.feed import ParquetFeed

__all__ = ["ParquetFeed", "ParquetFeedConfig", "ParquetRowError", "feed_config"]
