"""FileReplay: the replay of recorded files that every file feed shares.

A file feed (CSVFeed, ParquetFeed, DBNFeed) makes one *reader* per input:
anything with ``path``, ``fixed_symbol`` (a symbol given for the whole input,
or None) and ``chunks(stats)`` yielding TICK_DTYPE arrays of its good rows in
input order, ``recv_ns`` holding each row's pacing time (see
mdstream.feeds.checked_ticks). FileReplay then scans the inputs once (checking
all the data before anything is published, and finding the symbols), keeps
small data parsed, merges the inputs by time, paces them by ``speed``, loops,
and reports counts and errors in the way the Feed contract asks.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Iterator, Mapping, Sequence

import numpy as np

from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.feeds.base import Feed
from mdstream.feeds.checked_ticks import BAD_ROW_POLICIES, OUT_OF_ORDER_RULES, ReadStats
from mdstream.feeds.csv.errors import BadFileError, BadRowError
from mdstream.feeds.csv.format import CSVFormat
from mdstream.feeds.merge import merge_by_time
from mdstream.feeds.pacing import Pacer
from mdstream.feeds.progress import ReplayProgress
from mdstream.feeds.sink import TickSink
from mdstream.feeds.symbol_index import SymbolIndex

__all__ = ["FileReplay", "check_replay_options", "input_paths", "per_input", "column_settings"]

log = logging.getLogger("mdstream.feeds.replay")

_MIN_LOOP_PERIOD_NS = 1_000_000


def input_paths(paths: str | os.PathLike | Sequence[str | os.PathLike], empty: str) -> list[str]:
    """A file feed's ``paths`` (one path or several) as a list of str;
    InvalidArgumentError with the message ``empty`` for none."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = [os.fspath(p) for p in paths]
    if not names:
        raise InvalidArgumentError(empty)
    return names


def check_replay_options(speed, on_bad_row: str, out_of_order: str,
                         wait_for_subscriber) -> tuple[float, bool | float]:
    """The checked ``speed`` and ``wait_for_subscriber`` (InvalidArgumentError
    for a value no file feed takes)."""
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
    return speed, wait_for_subscriber


def per_input(value, n: int, name: str, scalar: tuple) -> list:
    """One value per input: a scalar (or None) for every input, or a list of n."""
    if value is None or isinstance(value, scalar):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise InvalidArgumentError(f"{name} has {len(values)} entries but there are {n} files")
    return values


def column_settings(n: int, *, preset, columns, kind, time_unit, symbol) -> list[dict]:
    """The column settings of a tabular feed (CSV, Parquet) for each of its n
    inputs: each of them one value for every input or a list of n (see CSVFeed)."""
    per = dict(preset=per_input(preset, n, "preset", (str, CSVFormat)),
               columns=per_input(columns, n, "columns", (Mapping,)),
               kind=per_input(kind, n, "kind", (str,)),
               time_unit=per_input(time_unit, n, "time_unit", (str,)),
               symbol=per_input(symbol, n, "symbol", (str,)))
    return [{name: values[k] for name, values in per.items()} for k in range(n)]


class FileReplay(Feed):
    """The replay part of a file feed; a subclass makes the readers and calls
    ``_init_replay`` (see the module docstring, and CSVFeed for the meaning of
    every setting and attribute)."""

    #: The input format, in the feed thread's name and in messages.
    format_name = "file"

    def _init_replay(self, readers: Sequence, index: SymbolIndex, *, speed: float, loop: bool,
                     on_bad_row: str, out_of_order: str, prescan: bool, cache_mb: float,
                     wait_for_subscriber: bool | float, empty_problem: str,
                     progress: ReplayProgress | None = None) -> None:
        """``empty_problem``: the words of the BadFileError for inputs
        without any row; ``progress``: the ReplayProgress to keep
        up to date (default: a new one), as ``self.progress``."""
        self.speed = speed
        self.loop = bool(loop)
        self.on_bad_row = on_bad_row
        self.out_of_order = out_of_order
        self.prescan = bool(prescan)
        self.wait_for_subscriber = wait_for_subscriber
        #: The scan's and the replay's progress, for a display to poll.
        self.progress = progress if progress is not None else ReplayProgress()
        self._index = index
        self._readers = list(readers)
        self._empty_problem = empty_problem
        fixed = [r.fixed_symbol for r in self._readers if r.fixed_symbol is not None]
        if index.frozen:
            stray = [s for s in fixed if s not in index.names]
            if stray:
                raise InvalidArgumentError(
                    f"symbol {stray[0]!r} (fixed for a file) is not among symbols={index.names}")
        elif not self.prescan:
            index.add(fixed)
        self._stats = ReadStats()
        self._stats_complete = False
        self._cache: list[list[np.ndarray]] | None = None
        if self.prescan:
            try:
                self._scan(cache_bytes=int(cache_mb * (1 << 20)))
            except BaseException:
                self.progress._update(phase="failed")
                raise
        elif not index.frozen and any(r.fixed_symbol is None for r in self._readers):
            raise InvalidArgumentError(
                "without the scan (prescan=False) the symbols must be known up front: pass "
                "symbols=[...], or symbol=... for files without a symbol column")
        index.freeze()
        self.symbols = list(index.names)
        self.published = 0
        self._pass_rows = 0
        self._sink: TickSink | None = None
        self._lut: np.ndarray | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()

    # -- what the data holds ---------------------------------------------------

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
        """The first few bad rows skipped, as errors naming file, row and problem."""
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
            chunks: list[np.ndarray] = []
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
                raise BadFileError(self._readers[0].path, None, self._empty_problem)
            raise BadFileError(first.path, None, f"no good rows: all {self._stats.bad_rows} rows "
                                               f"are bad; the first: {first.where}: "
                                               f"{first.problem}")
        if self._stats.bad_rows:
            log.warning("%s skipped %d bad rows; the first: %s", type(self).__name__,
                        self._stats.bad_rows, self._stats.examples[0])

    # -- the Feed interface ----------------------------------------------------

    def bind(self, sink: TickSink) -> None:
        if self._sink is not None and self._sink is not sink:
            raise EngineStateError(f"this {type(self).__name__} already feeds another engine; "
                                   "make one per engine")
        self._sink = sink
        self._lut = np.asarray(sink.symbol_ids(self.symbols), dtype=np.int32)

    def start(self) -> None:
        if self._sink is None:
            raise EngineStateError("bind(sink) first (Engine(feed=...) does it)")
        if self._thread is not None:
            raise EngineStateError(f"a {type(self).__name__} starts once")
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"mdstream-{self.format_name}-feed")
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
        assert self._sink is not None               # start() needs bind()
        # Progress first: a subscriber never sees a result of a row it does not count.
        self._pass_rows += len(ticks)
        self.progress._advance(self._pass_rows, int(ticks["ts_ns"][-1]))
        self._sink.ingest(ticks, checked=True)     # the reader applied the tick rules
        self.published += len(ticks)

    def _loop_period(self) -> int:
        st = self._stats
        span = 0
        if st.rows:
            assert st.first_ts is not None and st.last_ts is not None   # set by the first row
            span = st.last_ts - st.first_ts
        gap = span // (st.rows - 1) if st.rows > 1 else 0
        return max(span + gap, _MIN_LOOP_PERIOD_NS)

    def _run(self) -> None:
        name = type(self).__name__
        assert self._sink is not None and self._lut is not None     # start() needs bind()
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
                        log.warning("%s skipped %d bad rows; the first: %s", name, stats.bad_rows,
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
            log.error("%s stopped: %s", name, e)
            try:
                self._sink.close()            # let subscriptions end rather than wait forever
            except Exception:  # pragma: no cover - the engine may be stopping
                pass
        finally:
            self._done.set()
