"""ParquetFeed: replay of recorded trades and quotes from Parquet files and datasets."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

from mdstream.feeds.csv.format import CSVFormat
from mdstream.feeds.parquet.reader import ParquetReader, open_dataset, recording_kinds
from mdstream.feeds.progress import ReplayProgress
from mdstream.feeds.replay import FileReplay, check_replay_options, column_settings, input_paths
from mdstream.feeds.symbol_index import SymbolIndex

__all__ = ["ParquetFeed"]


class ParquetFeed(FileReplay):
    """Trades and quotes replayed from Parquet files or datasets, through the engine.

    Each path is a Parquet file or a directory of them (a dataset; Hive
    ``key=value`` directories are partition columns). Data is read one record
    batch at a time (``batch_rows`` rows of the needed columns, never a whole
    file), checked with the CSV feed's rules (mdstream.tick_rules, the
    out-of-order rule, on_bad_row), merged by time across paths, and paced by
    ``speed``. A path holds trades or quotes, with columns mapped as for CSV
    (``preset``, ``columns``, ``kind``: see CSVFeed; detection from the column
    names: timestamp/ts/ts_event/ts_ns, symbol/ticker, price, size/amount,
    bid, ask, bid_size, ask_size...).

    A recording made by ``mdstream record --parquet`` (partitioned by kind or
    by symbol) is recognised by its columns and replays as it was recorded:
    its trade results as trades (``price``, ``size``) and its quote results as
    quotes (``bid``, ``ask``, ``bid_size``, ``ask_size``), at ``ts_ns``; its
    bars are results of the engine, not input, and are not replayed (the
    engine that replays the ticks makes them again).

    Parameters
    ----------
    paths:
        A file or directory, or a list of them.
    preset, columns, kind, symbol, symbols, speed, loop, on_bad_row,
    out_of_order, prescan, cache_mb, wait_for_subscriber:
        As for CSVFeed (``preset``, ``columns``, ``kind``, ``time_unit`` and
        ``symbol`` one value for every path or a list with one per path).
    time_unit:
        Of a numeric timestamp column: s, ms, us, ns (since the Unix epoch);
        None: the column's own for an Arrow timestamp, else from the first
        value's magnitude (then a later value of another magnitude is a bad
        row). An Arrow timestamp column is read in its own unit whatever this
        says.
    batch_rows:
        Rows read (and checked) at a time.

    A bad row is a ParquetRowError (a BadRowError) naming the file (the part
    file of a dataset), the row's 1-based number in it, and the problem:
    ``trades.parquet: row 3 (index 2): price nan is not a finite number
    (column 'price')``. A path that cannot be used is a BadFileError naming it.
    """

    format_name = "parquet"

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike], *,
                 preset: str | CSVFormat | None | Sequence = None,
                 columns: Mapping[str, str | None] | Sequence | None = None,
                 kind: str | None | Sequence = None, time_unit: str | None | Sequence = None,
                 symbol: str | None | Sequence = None, symbols: Sequence[str] | None = None,
                 speed: float = 1.0, loop: bool = False, on_bad_row: str = "raise",
                 out_of_order: str = "keep", prescan: bool = True, batch_rows: int = 1 << 16,
                 cache_mb: float = 256, wait_for_subscriber: bool | float = True,
                 progress: ReplayProgress | None = None):
        self.paths = input_paths(paths, "ParquetFeed needs at least one file or directory")
        speed, wait_for_subscriber = check_replay_options(speed, on_bad_row, out_of_order,
                                                          wait_for_subscriber)
        index = SymbolIndex(symbols)
        per_path = column_settings(len(self.paths), preset=preset, columns=columns, kind=kind,
                                   time_unit=time_unit, symbol=symbol)
        readers = []
        for path, settings in zip(self.paths, per_path):
            dataset = open_dataset(path)
            kinds: Sequence[str | None] | None = (
                recording_kinds(dataset) if settings["preset"] is None else None)
            for record_kind in kinds or [None]:
                readers.append(ParquetReader(path, index, dataset=dataset, record_kind=record_kind,
                                             on_bad_row=on_bad_row, out_of_order=out_of_order,
                                             batch_rows=batch_rows, **settings))
        self._init_replay(readers, index, speed=speed, loop=loop, on_bad_row=on_bad_row,
                          out_of_order=out_of_order, prescan=prescan, cache_mb=cache_mb,
                          wait_for_subscriber=wait_for_subscriber, progress=progress,
                          empty_problem="no rows in any file")

    def __repr__(self) -> str:
        files = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} paths"
        return (f"ParquetFeed({files!r}, symbols={self.symbols!r}, speed={self.speed:g}, "
                f"loop={self.loop}, rows={self.rows})")

    @property
    def formats(self) -> list[CSVFormat]:
        """The column mapping of each input read (a recording has two: its
        trades and its quotes)."""
        return [r.format for r in self._readers]
