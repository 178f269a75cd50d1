"""Replay of Databento DBN files (needs databento-dbn: ``pip install 'mdstream[dbn]'``)."""

from mdstream.feeds.dbn.config import DBNFeedConfig, feed_config
from mdstream.feeds.dbn.errors import DBNRecordError
from mdstream.feeds.dbn.feed import DBNFeed

__all__ = ["DBNFeed", "DBNFeedConfig", "DBNRecordError", "feed_config"]
