"""DBNFeed: replay of Databento DBN files (``.dbn``, ``.dbn.zst``)."""

from __future__ import annotations

import os
from typing import Sequence

from mdstream.feeds.dbn.reader import DBNReader
from mdstream.feeds.progress import ReplayProgress
from mdstream.feeds.replay import FileReplay, check_replay_options, input_paths, per_input
from mdstream.feeds.symbol_index import SymbolIndex

__all__ = ["DBNFeed"]


class DBNFeed(FileReplay):
    """Trades, quotes and bars replayed from Databento Binary Encoding files.

    Each file is DBN (any version) or Zstandard-compressed DBN, of the
    ``trades``, ``tbbo``, ``mbp-1`` schema (live data mixing them is read
    too) or ``ohlcv-1s``/``-1m``/``-1h``/``-1d`` (bars, replayed as bar
    results); what each record gives, the exact price conversion (fixed-point
    1e-9 to float64), and why ``ohlcv-eod`` is refused: see
    mdstream.feeds.dbn.reader. ``ts_event`` (ns since the epoch, UTC) is a
    tick's ``ts_ns``; instrument ids become symbols through the file's
    symbology mappings (mdstream.feeds.dbn.symbology). Files are decoded by
    databento-dbn (``pip install 'mdstream[dbn]'``), 1 MiB at a time.

    Parameters
    ----------
    paths:
        A file or a list of files, merged by ts_event.
    symbol:
        The symbol of every record of a file (instead of its mappings): one
        for all files or a list with one per file.
    symbols, speed, loop, on_bad_row, out_of_order, prescan, cache_mb,
    wait_for_subscriber:
        As for CSVFeed.

    A bad record is a DBNRecordError (a BadRowError) naming the file, the
    record's 1-based number and the problem; a file that cannot be used is a
    BadFileError naming it. ``rows`` counts ticks (an MBP-1 trade record
    gives two: its quote and its trade); a record is good or bad as a whole
    (a bad one gives no tick), and ``bad_rows`` counts records.
    """

    format_name = "dbn"

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike], *,
                 symbol: str | None | Sequence = None, symbols: Sequence[str] | None = None,
                 speed: float = 1.0, loop: bool = False, on_bad_row: str = "raise",
                 out_of_order: str = "keep", prescan: bool = True, cache_mb: float = 256,
                 wait_for_subscriber: bool | float = True,
                 progress: ReplayProgress | None = None):
        self.paths = input_paths(paths, "DBNFeed needs at least one file")
        speed, wait_for_subscriber = check_replay_options(speed, on_bad_row, out_of_order,
                                                          wait_for_subscriber)
        index = SymbolIndex(symbols)
        fixed = per_input(symbol, len(self.paths), "symbol", (str,))
        readers = [DBNReader(p, index, symbol=fixed[k], on_bad_row=on_bad_row,
                             out_of_order=out_of_order) for k, p in enumerate(self.paths)]
        self._init_replay(readers, index, speed=speed, loop=loop, on_bad_row=on_bad_row,
                          out_of_order=out_of_order, prescan=prescan, cache_mb=cache_mb,
                          wait_for_subscriber=wait_for_subscriber, progress=progress,
                          empty_problem="no trade, quote or bar records in any file")

    def __repr__(self) -> str:
        files = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} files"
        return (f"DBNFeed({files!r}, symbols={self.symbols!r}, speed={self.speed:g}, "
                f"loop={self.loop}, rows={self.rows})")

    @property
    def schemas(self) -> list[str]:
        """The schema of each file ("mixed" for live data without one)."""
        return [r.format for r in self._readers]
