"""CSVFeed: replay of recorded trades and quotes from CSV files (plain or compressed)."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

from mdstream.feeds.csv.format import CSVFormat
from mdstream.feeds.csv.reader import CSVFileReader
from mdstream.feeds.progress import ReplayProgress
from mdstream.feeds.replay import FileReplay, check_replay_options, column_settings, input_paths
from mdstream.feeds.symbol_index import SymbolIndex

__all__ = ["CSVFeed"]


class CSVFeed(FileReplay):
    """Trades and quotes replayed from recorded CSV files, through the engine.

    Each file holds trades or quotes, has a header row, and may be plain text
    or gzip (also bz2, xz) compressed, recognised by its content. Rows are
    parsed in chunks by pandas' C parser into tick arrays, checked, and
    published a sub-batch at a time from the feed's thread (no Python call per
    row). Several files are merged in timestamp order; rows with equal
    timestamps keep the order of ``paths``, then of their file.

    Parameters
    ----------
    paths:
        A file or a list of files.
    preset:
        The file format: ``"tardis-trades"``, ``"tardis-quotes"``, ``"truefx"``
        (see ``mdstream.feeds.csv.format.PRESETS``) or a CSVFormat; None (the
        default) detects it from the header: a preset's exact header selects
        it, otherwise columns are recognised by common names (timestamp/ts/
        time, symbol/ticker, price/px, size/amount/qty, bid/bid_price,
        ask/ask_price/offer, bid_size/bid_amount, ask_size/ask_amount, side).
        One value for every file, or a list with one per file.
    columns:
        Field -> column name, on top of the preset or detection, e.g.
        ``{"price": "px", "size": "qty"}``; fields: timestamp, symbol, price,
        size, side, bid, ask, bid_size, ask_size (None drops an optional one).
    kind:
        ``"trades"`` or ``"quotes"`` when the header alone cannot tell.
    time_unit:
        How timestamps are written: ``"s"``, ``"ms"``, ``"us"``, ``"ns"``
        (numbers since the Unix epoch, integer or fractional), ``"iso"`` (ISO
        8601 with or without an offset; without one means UTC) or ``"auto"``:
        ISO text or an epoch number whose unit the first timestamp's magnitude
        tells (then a later row of another magnitude is a bad row). Default:
        the preset's unit, else auto.
    symbol:
        The symbol of every row of the file, for files without a symbol
        column (it wins over a symbol column if there is one). A name for all
        files or a list with one per file (None: from the column).
    symbols:
        The symbols the feed may produce, in that order. A row of another
        symbol is a bad row. Default: those found in the files (by the scan),
        in order of first appearance.
    speed:
        1 replays at the recorded pace, 10 ten times faster, 0 as fast as the
        engine takes the ticks. Pacing follows event times against a
        monotonic clock; the first tick goes at once.
    loop:
        Replay the data again and again. Each repetition is shifted in time by
        the recorded span plus one mean gap between ticks, so event times keep
        increasing (and bars stay meaningful).
    on_bad_row:
        ``"raise"`` (default): a bad row is a BadRowError naming its file,
        line and problem, and no tick of the chunk holding it is published;
        with the scan (the default), that happens in the constructor, before
        anything is published. ``"skip"``: bad rows are dropped and counted in
        ``bad_rows`` (the first ones are kept in ``bad_row_examples``).
    out_of_order:
        The rule for a row whose timestamp is older than an earlier row's of
        the same file. ``"keep"`` (default): it is published in its place in
        the file with its own timestamp, but paced and merged as if at the
        latest timestamp seen before it in that file (so a file's rows are
        never reordered, and the engine's bars count it in the open
        interval); they are counted in ``late_rows``. ``"reject"``: it is a
        bad row (see on_bad_row).
    prescan:
        Read every file once in the constructor (default): the whole data is
        checked before anything is published, the symbols are found, and
        data of up to ``cache_mb`` is kept parsed in memory for the replay.
        Without it, bad rows surface in the feed thread (see ``error``) and
        the symbols must be known: a symbol per file or ``symbols``.
    chunk_rows:
        Rows parsed (and checked) at a time.
    cache_mb:
        Up to this much parsed data (88 bytes a tick) is kept from the scan
        and replayed without parsing again (freed after the replay unless
        looping); larger data is parsed again for the replay.
    delimiter, encoding:
        Of the files; the delimiter is sniffed from the header (, ; tab |) by
        default.
    wait_for_subscriber:
        True (default): a replay does not start before its reader. The
        engine starts the feed at its first subscription, which therefore
        sees the first row, so ``with engine: with engine.subscribe() as
        sub: ...`` misses nothing (or when ``engine.wait()`` is called with
        no subscription open). A number of seconds: start after that long
        even without a subscriber. False: start with the engine (a served
        replay: remote clients ask for ``from_seq=0`` instead).
    progress:
        A mdstream.feeds.ReplayProgress to keep up to date (pass one to watch
        the scan, which runs in this constructor, from another thread);
        default: a new one. Either way it is ``feed.progress``.

    Attributes
    ----------
    bad_rows, late_rows:
        Counts over the data (one pass): rows skipped as bad, rows out of order.
    rows:
        Good rows in the data (after the scan, or after the first pass).
    published:
        Ticks handed to the engine so far.
    progress:
        The ReplayProgress of the scan and the replay (rows done and in all,
        event-time position), for a display to poll.
    error:
        The exception that ended the feed thread, or None. It is logged, and
        the feed closes the engine's ingest so subscriptions end instead of
        waiting forever; ``wait()`` raises it.
    """

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike], *,
                 preset: str | CSVFormat | None | Sequence = None,
                 columns: Mapping[str, str | None] | Sequence | None = None,
                 kind: str | None | Sequence = None, time_unit: str | None | Sequence = None,
                 symbol: str | None | Sequence = None, symbols: Sequence[str] | None = None,
                 speed: float = 1.0, loop: bool = False, on_bad_row: str = "raise",
                 out_of_order: str = "keep", prescan: bool = True, chunk_rows: int = 1 << 16,
                 cache_mb: float = 256, delimiter: str | None = None, encoding: str = "utf-8",
                 wait_for_subscriber: bool | float = True,
                 progress: ReplayProgress | None = None):
        self.paths = input_paths(paths, "CSVFeed needs at least one file")
        speed, wait_for_subscriber = check_replay_options(speed, on_bad_row, out_of_order,
                                                          wait_for_subscriber)
        index = SymbolIndex(symbols)
        per_file = column_settings(len(self.paths), preset=preset, columns=columns, kind=kind,
                                   time_unit=time_unit, symbol=symbol)
        readers = [
            CSVFileReader(p, index, **settings, on_bad_row=on_bad_row, out_of_order=out_of_order,
                          chunk_rows=chunk_rows, delimiter=delimiter, encoding=encoding)
            for p, settings in zip(self.paths, per_file)]
        self._init_replay(readers, index, speed=speed, loop=loop, on_bad_row=on_bad_row,
                          out_of_order=out_of_order, prescan=prescan, cache_mb=cache_mb,
                          wait_for_subscriber=wait_for_subscriber, progress=progress,
                          empty_problem="no rows in any file: the files hold only a header or "
                                        "blank lines")

    format_name = "csv"

    def __repr__(self) -> str:
        files = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} files"
        return (f"CSVFeed({files!r}, symbols={self.symbols!r}, speed={self.speed:g}, "
                f"loop={self.loop}, rows={self.rows})")

    # -- what the data holds ---------------------------------------------------

    @property
    def formats(self) -> list[CSVFormat]:
        """The column mapping of each file (as given or detected)."""
        return [r.format for r in self._readers]
