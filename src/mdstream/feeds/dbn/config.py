"""DBNFeedConfig and the ``dbn`` entry of the feed registry (``--feed dbn:PATH``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from mdstream.feeds.configs import FileReplayConfig, replay_line, replay_paths

if TYPE_CHECKING:
    from mdstream.feeds.progress import ReplayProgress
    from mdstream.feeds.dbn.feed import DBNFeed

__all__ = ["DBNFeedConfig", "feed_config"]


@dataclass(frozen=True)
class DBNFeedConfig(FileReplayConfig):
    """Databento DBN files replayed (mdstream.feeds.dbn.DBNFeed).

    paths: ``.dbn`` or ``.dbn.zst`` files, merged by ts_event; speed: 1 = as
    recorded, 10 = ten times faster, 0 = as fast as possible; loop: replay
    again and again, shifted in time; symbol: the symbol of every record
    (instead of the files' symbology mappings); on_bad_row: ``"raise"`` or
    ``"skip"``. Building the feed reads the whole data once (BadFileError or
    DBNRecordError, both MDStreamError, for data that cannot be used).
    """

    paths: tuple[str, ...]
    speed: float = 1.0
    loop: bool = False
    symbol: str | None = None
    on_bad_row: str = "raise"
    #: A ReplayProgress the feed keeps up to date, for a display to poll
    #: (None: the feed makes its own); see CSVFeedConfig.
    progress: "ReplayProgress | None" = field(default=None, compare=False, repr=False)

    kind: ClassVar[str] = "dbn"

    def build(self) -> "DBNFeed":
        """A new DBNFeed with these settings (started with the node)."""
        from mdstream.feeds.dbn.feed import DBNFeed

        return DBNFeed(list(self.paths), symbol=self.symbol, speed=self.speed, loop=self.loop,
                       on_bad_row=self.on_bad_row, wait_for_subscriber=False, progress=self.progress)

    def describe(self, feed: "DBNFeed") -> str:
        """One line for ``mdstream serve``."""
        files = ", ".join(f"{os.path.basename(p)} ({s})" for p, s in zip(feed.paths, feed.schemas))
        bars = all(s.startswith("ohlcv") for s in feed.schemas)
        return replay_line(feed, "DBN bars" if bars else "DBN ticks", "bad records", files)


def feed_config(arg: str, *, speed=None, loop=False, symbol=None, on_bad_row=None) -> DBNFeedConfig:
    """``dbn:PATH[,PATH...]``: the registry's factory (no --preset: DBN
    files describe themselves)."""
    paths = replay_paths(arg, "dbn: needs at least one file, e.g. dbn:trades.dbn.zst")
    return DBNFeedConfig(paths, speed=1.0 if speed is None else speed, loop=bool(loop),
                         symbol=symbol, on_bad_row=on_bad_row or "raise")
