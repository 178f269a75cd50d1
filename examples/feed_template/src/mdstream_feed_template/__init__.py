"""A third-party mdstream feed: trades from a JSON Lines file (``--feed jsonl:PATH``)."""

from mdstream_feed_template.config import JSONLFeedConfig, feed_config
from mdstream_feed_template.feed import JSONLFeed

__all__ = ["JSONLFeed", "JSONLFeedConfig", "feed_config"]
