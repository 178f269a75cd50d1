"""The settings of the built-in feeds, as frozen values a NodeConfig holds.

A feed config is anything with a ``kind`` (its name in ``--feed NAME:...``)
and a ``build()`` that makes a new Feed (see mdstream.feeds.base.FeedConfig);
a config may also ``describe(feed)`` the running feed in one line for
``mdstream serve``. Durations are seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from mdstream.errors import InvalidArgumentError

if TYPE_CHECKING:
    from typing_extensions import Self

    from mdstream.feeds.csv.feed import CSVFeed
    from mdstream.feeds.progress import ReplayProgress
    from mdstream.feeds.simulated import SimulatedFeed

__all__ = ["SimulatedFeedConfig", "CSVFeedConfig", "FileReplayConfig", "TabularReplayConfig",
           "DEFAULT_SYMBOLS",
           "replay_paths", "pace_text", "replay_line"]

#: The symbols of the simulated feed unless others are given.
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")


@dataclass(frozen=True)
class SimulatedFeedConfig:
    """A simulated random-walk feed (mdstream.SimulatedFeed).

    symbols: the names it trades; rate: ticks per second, 0 = as fast as the
    engine takes them; seed: of the random walk; count: ticks in all, then
    the data ends (0 = no end); quote_ratio: the share of ticks that are
    quotes, 0 to 1. The feed checks the values when the node is built
    (InvalidArgumentError).
    """

    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    rate: float = 100_000.0
    seed: int = 7
    count: int = 0
    quote_ratio: float = 0.2

    kind: ClassVar[str] = "sim"

    def build(self) -> "SimulatedFeed":
        """A new SimulatedFeed with these settings."""
        from mdstream.feeds.simulated import SimulatedFeed

        return SimulatedFeed(symbols=list(self.symbols), rate=self.rate, seed=self.seed,
                             count=self.count, quote_ratio=self.quote_ratio)


class FileReplayConfig:
    """What the configs of the file feeds (CSV, Parquet, DBN) have in common:
    each is a frozen dataclass with these fields, and its feed keeps
    ``progress`` (a ReplayProgress) up to date."""

    paths: tuple[str, ...]
    speed: float
    loop: bool
    progress: "ReplayProgress | None"

    def with_progress(self, progress: "ReplayProgress | None") -> "Self":
        """A copy whose feed will keep ``progress`` up to date (for a display to poll)."""
        return dataclasses.replace(self, progress=progress)  # type: ignore[type-var]  # subclasses are dataclasses


@dataclass(frozen=True)
class TabularReplayConfig(FileReplayConfig):
    """The settings of a replay of tables of trades or quotes, which
    CSVFeedConfig and ParquetFeedConfig share (see CSVFeedConfig)."""

    paths: tuple[str, ...]
    speed: float = 1.0
    loop: bool = False
    symbol: str | None = None
    preset: str | None = None
    on_bad_row: str = "raise"
    #: A mdstream.feeds.progress.ReplayProgress the feed keeps up to date (scan
    #: and replay), for a display to poll; None: the feed makes its own.
    progress: "ReplayProgress | None" = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CSVFeedConfig(TabularReplayConfig):
    """Recorded trades and quotes replayed from CSV files (mdstream.CSVFeed).

    paths: plain or gzip CSV files, merged by timestamp; speed: 1 = as
    recorded, 10 = ten times faster, 0 = as fast as possible; loop: replay
    again and again, shifted in time; symbol: the symbol of every row, for
    files without a symbol column; preset: the files' format (None:
    recognised from the header row); on_bad_row: ``"raise"`` or ``"skip"``.
    Building the feed reads the files' headers: BadFileError (an
    MDStreamError) or OSError for a file that cannot be used.
    """

    kind: ClassVar[str] = "csv"

    def build(self) -> "CSVFeed":
        """A new CSVFeed with these settings."""
        from mdstream.feeds.csv.feed import CSVFeed

        # A served replay starts with the node: its clients are remote and
        # come when they come; they replay from from_seq=0 while it is held.
        return CSVFeed(list(self.paths), preset=self.preset, symbol=self.symbol,
                       speed=self.speed, loop=self.loop, on_bad_row=self.on_bad_row,
                       wait_for_subscriber=False, progress=self.progress)


# -- shared by the file feeds' configs (CSV, Parquet, DBN) ------------------------

def replay_paths(arg: str, empty: str) -> tuple[str, ...]:
    """The paths of ``NAME:PATH[,PATH...]``'s ``arg``; InvalidArgumentError
    with the message ``empty`` for none."""
    paths = tuple(p for p in arg.split(",") if p)
    if not paths:
        raise InvalidArgumentError(empty)
    return paths


def pace_text(speed: float) -> str:
    """A replay's ``speed`` in words: "at the recorded pace", "at 10x the recorded pace"..."""
    if speed == 0:
        return "as fast as possible"
    return "at the recorded pace" if speed == 1 else f"at {speed:g}x the recorded pace"


def replay_line(feed, rows: str, bad: str, sources: str) -> str:
    """A file replay's line for ``mdstream serve``: ``rows`` names what
    ``feed.rows`` counts ("Parquet rows"), ``bad`` what ``feed.bad_rows``
    counts ("bad rows"), ``sources`` the inputs."""
    skipped = f" ({feed.bad_rows:,} {bad} skipped)" if feed.bad_rows else ""
    n = len(feed.symbols)
    return (f"replaying {feed.rows:,} {rows}{skipped} of {n} symbol{'' if n == 1 else 's'} "
            f"({','.join(feed.symbols[:8])}) from {sources} {pace_text(feed.speed)}"
            f"{', looping' if feed.loop else ''}")
