"""The feed's settings (a frozen FeedConfig) and the factory its entry point names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mdstream.errors import InvalidArgumentError


@dataclass(frozen=True)
class JSONLFeedConfig:
    """Required by mdstream: ``kind`` (the --feed name) and ``build()``;
    optional: ``describe(feed)``, one line for ``mdstream serve``."""

    path: str
    symbol: str | None = None

    kind: ClassVar[str] = "jsonl"

    def build(self):
        from mdstream_feed_template.feed import JSONLFeed

        return JSONLFeed(self.path, symbol=self.symbol)

    def describe(self, feed) -> str:
        return f"jsonl: {feed.rows:,} trades of {','.join(feed.symbols)} from {self.path}"


def feed_config(arg: str, *, symbol=None) -> JSONLFeedConfig:
    """``--feed jsonl:PATH``. Only the options declared here are accepted:
    mdstream refuses the others (``--loop``...) naming them."""
    if not arg:
        raise InvalidArgumentError("jsonl: needs a file, e.g. jsonl:trades.jsonl")
    return JSONLFeedConfig(arg, symbol=symbol)
