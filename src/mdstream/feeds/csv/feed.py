"""CSVFeed: replay of recorded trades and quotes from CSV files (plain or compressed)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Iterator, Mapping, Sequence

import numpy as np

from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.feeds.base import Feed
from mdstream.feeds.csv.errors import BadFileError, BadRowError
from mdstream.feeds.csv.format import CSVFormat
from mdstream.feeds.csv.progress import ReplayProgress
from mdstream.feeds.csv.reader import BAD_ROW_POLICIES, OUT_OF_ORDER_RULES, CSVFileReader, ReadStats
from mdstream.feeds.merge import merge_by_time
from mdstream.feeds.pacing import Pacer
from mdstream.feeds.sink import TickSink
from mdstream.feeds.symbol_index import SymbolIndex

__all__ = ["CSVFeed"]

log = logging.getLogger("mdstream.feeds.csv.feed")

_MIN_LOOP_PERIOD_NS = 1_000_000


class CSVFeed(Feed):
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
        A ReplayProgress to keep up to date (pass one to watch the scan,
        which runs in this constructor, from another thread); default: a new
        one. Either way it is ``feed.progress``.

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
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(p) for p in paths]
        if not self.paths:
            raise InvalidArgumentError("CSVFeed needs at least one file")
        try:
            speed = float(speed)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"speed must be a number, got {speed!r}") from None
        if not (speed >= 0 and speed != float("inf")):
            raise InvalidArgumentError(
                f"speed must be a finite number >= 0 (1: as recorded, 10: ten times faster, "
                f"0: as fast as possible), got {speed}")
        if on_bad_row not in BAD_ROW_POLICIES:
            raise InvalidArgumentError(f"on_bad_row must be 'raise' or 'skip', got {on_bad_row!r}")
        if out_of_order not in OUT_OF_ORDER_RULES:
            raise InvalidArgumentError(f"out_of_order must be 'keep' or 'reject', got {out_of_order!r}")
        if not isinstance(wait_for_subscriber, bool):
            try:
                wait_for_subscriber = float(wait_for_subscriber)
            except (TypeError, ValueError):
                wait_for_subscriber = -1.0
            if not wait_for_subscriber >= 0:
                raise InvalidArgumentError(
                    "wait_for_subscriber must be True, False or a number of seconds >= 0")
        self.wait_for_subscriber = wait_for_subscriber
        self.speed = speed
        self.loop = bool(loop)
        self.on_bad_row = on_bad_row
        self.out_of_order = out_of_order
        self.prescan = bool(prescan)
        self.progress = progress if progress is not None else ReplayProgress()
        n = len(self.paths)
        self._index = SymbolIndex(symbols)
        per_file = dict(preset=_per_file(preset, n, "preset", (str, CSVFormat)),
                        columns=_per_file(columns, n, "columns", (Mapping,)),
                        kind=_per_file(kind, n, "kind", (str,)),
                        time_unit=_per_file(time_unit, n, "time_unit", (str,)),
                        symbol=_per_file(symbol, n, "symbol", (str,)))
        self._readers = [
            CSVFileReader(p, self._index, preset=per_file["preset"][k], columns=per_file["columns"][k],
                          kind=per_file["kind"][k], time_unit=per_file["time_unit"][k],
                          symbol=per_file["symbol"][k], on_bad_row=on_bad_row,
                          out_of_order=out_of_order, chunk_rows=chunk_rows, delimiter=delimiter,
                          encoding=encoding)
            for k, p in enumerate(self.paths)]
        fixed = [r.fixed_symbol for r in self._readers if r.fixed_symbol is not None]
        if self._index.frozen:
            stray = [s for s in fixed if s not in self._index.names]
            if stray:
                raise InvalidArgumentError(
                    f"symbol {stray[0]!r} (fixed for a file) is not among symbols={self._index.names}")
        elif not self.prescan:
            self._index.add(fixed)
        self._stats = ReadStats()
        self._stats_complete = False
        self._cache: list[list[np.ndarray]] | None = None
        if self.prescan:
            try:
                self._scan(cache_bytes=int(cache_mb * (1 << 20)))
            except BaseException:
                self.progress._update(phase="failed")
                raise
        elif not self._index.frozen and any(r.fixed_symbol is None for r in self._readers):
            raise InvalidArgumentError(
                "without the scan (prescan=False) the symbols must be known up front: pass "
                "symbols=[...], or symbol=... for files without a symbol column")
        self._index.freeze()
        self.symbols = list(self._index.names)
        self.published = 0
        self._pass_rows = 0
        self._sink: TickSink | None = None
        self._lut: np.ndarray | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()

    def __repr__(self) -> str:
        files = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} files"
        return (f"CSVFeed({files!r}, symbols={self.symbols!r}, speed={self.speed:g}, "
                f"loop={self.loop}, rows={self.rows})")

    # -- what the data holds ---------------------------------------------------

    @property
    def formats(self) -> list[CSVFormat]:
        """The column mapping of each file (as given or detected)."""
        return [r.format for r in self._readers]

    @property
    def rows(self) -> int | None:
        """Good rows in the data (None until the scan or the first pass is done)."""
        return self._stats.rows if self._stats_complete else None

    @property
    def bad_rows(self) -> int:
        """Rows skipped as bad (on_bad_row="skip"), each counted once."""
        return self._stats.bad_rows

    @property
    def late_rows(self) -> int:
        """Rows whose timestamp is older than an earlier row's of their file."""
        return self._stats.late_rows

    @property
    def bad_row_examples(self) -> list[BadRowError]:
        """The first few bad rows skipped, as errors naming file, line and problem."""
        return list(self._stats.examples)

    @property
    def error(self) -> BaseException | None:
        """What ended the feed thread with an error (None if nothing did)."""
        return self._error

    def _scan(self, cache_bytes: int) -> None:
        cache: list[list[np.ndarray]] | None = []
        size = 0
        progress = self.progress
        progress._update(phase="scan")
        for reader in self._readers:
            chunks = []
            for chunk in reader.chunks(self._stats):
                progress._update(rows_done=self._stats.rows, ts_ns=int(chunk["ts_ns"][-1]))
                if cache is not None:
                    size += chunk.nbytes
                    if size > cache_bytes:
                        cache = None
                        chunks = []
                    else:
                        chunks.append(chunk)
            if cache is not None:
                cache.append(chunks)
        self._cache = cache
        self._stats_complete = True
        progress._update(phase="ready", rows_total=self._stats.rows, rows_done=0, ts_ns=None,
                         first_ts_ns=self._stats.first_ts, last_ts_ns=self._stats.last_ts)
        if self._stats.rows == 0:
            first = self._stats.examples[0] if self._stats.examples else None
            if first is None:
                raise BadFileError(self.paths[0], None,
                                   "no rows in any file: the files hold only a header or blank lines")
            raise BadFileError(first.path, None,
                               f"no good rows: all {self._stats.bad_rows} rows are bad; the first: "
                               f"line {first.line}: {first.problem}")
        if self._stats.bad_rows:
            log.warning("CSVFeed skipped %d bad rows; the first: %s", self._stats.bad_rows,
                        self._stats.examples[0])

    # -- the Feed interface ----------------------------------------------------

    def bind(self, sink: TickSink) -> None:
        if self._sink is not None and self._sink is not sink:
            raise EngineStateError("this CSVFeed already feeds another engine; make one per engine")
        self._sink = sink
        self._lut = np.asarray(sink.symbol_ids(self.symbols), dtype=np.int32)

    def start(self) -> None:
        if self._sink is None:
            raise EngineStateError("bind(sink) first (Engine(feed=...) does it)")
        if self._thread is not None:
            raise EngineStateError("a CSVFeed starts once")
        self._thread = threading.Thread(target=self._run, name="mdstream-csv-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop publishing and join the thread (waiting up to ``timeout`` s).

        A thread held in a publish by a full engine (a 'block' subscriber that
        does not read) ends when the engine stops taking ticks, which
        Engine.stop() does right after this. Never raises: see ``error``.
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the feed has published everything (never, with loop=True).

        Returns True if it finished within ``timeout`` s; raises the error
        that ended the feed thread, if one did.
        """
        finished = self._done.wait(timeout)
        if self._error is not None:
            raise self._error
        return finished

    @property
    def done(self) -> bool:
        """The feed thread has ended (all published, stopped, or failed)."""
        return self._done.is_set()

    # -- the feed thread -------------------------------------------------------

    def _file_chunks(self, k: int, stats: ReadStats) -> Iterator[np.ndarray]:
        if self._cache is not None:
            for chunk in self._cache[k]:
                yield chunk.copy()          # the engine writes seq/recv_ns into what it takes
        else:
            yield from self._readers[k].chunks(stats)

    def _publish(self, ticks: np.ndarray) -> None:
        # Progress first: a subscriber never sees a result of a row it does not count.
        self._pass_rows += len(ticks)
        self.progress._advance(self._pass_rows, int(ticks["ts_ns"][-1]))
        self._sink.ingest(ticks, checked=True)     # the reader applied the tick rules
        self.published += len(ticks)

    def _loop_period(self) -> int:
        st = self._stats
        span = (st.last_ts - st.first_ts) if st.rows else 0
        gap = span // (st.rows - 1) if st.rows > 1 else 0
        return max(span + gap, _MIN_LOOP_PERIOD_NS)

    def _run(self) -> None:
        try:
            pacer = Pacer(self.speed, self._stop)
            offset = 0
            first_pass = True
            progress = self.progress
            while not self._stop.is_set():
                # Counts come from the data once: the scan, or else the first pass.
                stats = self._stats if first_pass and not self._stats_complete else ReadStats()
                self._pass_rows = 0
                progress._update(phase="replay", rows_done=0)
                streams = [self._file_chunks(k, stats) for k in range(len(self._readers))]
                for block in merge_by_time(streams):
                    block["symbol_id"] = self._lut[block["symbol_id"]]
                    if offset:
                        block["ts_ns"] += offset
                        block["recv_ns"] += offset
                    if not pacer.run(block, self._publish):
                        return
                if first_pass and not self._stats_complete:
                    self._stats_complete = True
                    progress._update(rows_total=stats.rows, first_ts_ns=stats.first_ts,
                                     last_ts_ns=stats.last_ts)
                    if stats.bad_rows:
                        log.warning("CSVFeed skipped %d bad rows; the first: %s", stats.bad_rows,
                                    stats.examples[0])
                first_pass = False
                progress._update(passes=progress.snapshot().passes + 1)
                if not self.loop or self._stats.rows == 0:
                    self._cache = None        # replayed once: free the parsed data
                    break
                offset += self._loop_period()
            if not self._stop.is_set():
                progress._update(phase="done")
                self._sink.close()
        except BaseException as e:  # noqa: BLE001 - stored, logged and re-raised by wait()
            if isinstance(e, EngineStateError) and self._stop.is_set():
                return                    # the engine stopped taking ticks: we were stopping
            self._error = e
            self.progress._update(phase="failed")
            log.error("CSVFeed stopped: %s", e)
            try:
                self._sink.close()            # let subscriptions end rather than wait forever
            except Exception:  # pragma: no cover - the engine may be stopping
                pass
        finally:
            self._done.set()


def _per_file(value, n: int, name: str, scalar: tuple) -> list:
    """One value per file: a scalar (or None) for every file, or a list of n."""
    if value is None or isinstance(value, scalar):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise InvalidArgumentError(f"{name} has {len(values)} entries but there are {n} files")
    return values
