"""ParquetFeedConfig and the ``parquet`` entry of the feed registry (``--feed parquet:PATH``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mdstream.feeds.configs import TabularReplayConfig, replay_line, replay_paths

if TYPE_CHECKING:
    from mdstream.feeds.parquet.feed import ParquetFeed

__all__ = ["ParquetFeedConfig", "feed_config"]


@dataclass(frozen=True)
class ParquetFeedConfig(TabularReplayConfig):
    """Recorded trades and quotes replayed from Parquet files or datasets
    (mdstream.feeds.parquet.ParquetFeed).

    paths: Parquet files or directories (datasets), merged by timestamp;
    speed: 1 = as recorded, 10 = ten times faster, 0 = as fast as possible;
    loop: replay again and again, shifted in time; symbol: the symbol of
    every row, for data without a symbol column; preset: a CSV preset whose
    column names the data uses (None: recognised from the column names);
    on_bad_row: ``"raise"`` or ``"skip"``. Building the feed reads the
    whole data once (BadFileError or BadRowError, both MDStreamError, for
    data that cannot be used).
    """

    kind: ClassVar[str] = "parquet"

    def build(self) -> "ParquetFeed":
        """A new ParquetFeed with these settings (started with the node: a
        served replay's clients ask for from_seq=0)."""
        from mdstream.feeds.parquet.feed import ParquetFeed

        return ParquetFeed(list(self.paths), preset=self.preset, symbol=self.symbol,
                           speed=self.speed, loop=self.loop, on_bad_row=self.on_bad_row,
                           wait_for_subscriber=False, progress=self.progress)

    def describe(self, feed: "ParquetFeed") -> str:
        """One line for ``mdstream serve``."""
        names = ", ".join(os.path.basename(p.rstrip("/")) or p for p in feed.paths)
        return replay_line(feed, "Parquet rows", "bad rows", names)


def feed_config(arg: str, *, speed=None, loop=False, symbol=None, preset=None,
                on_bad_row=None) -> ParquetFeedConfig:
    """``parquet:PATH[,PATH...]`` (a directory is a dataset): the registry's factory."""
    paths = replay_paths(arg, "parquet: needs at least one file or directory, "
                              "e.g. parquet:trades.parquet or parquet:recording/")
    return ParquetFeedConfig(paths, speed=1.0 if speed is None else speed, loop=bool(loop),
                             symbol=symbol, preset=preset, on_bad_row=on_bad_row or "raise")
