"""ParquetRecorder: a stream of results into rolling Parquet files.

    import mdstream
    from mdstream.record import ParquetRecorder

    with mdstream.Client("127.0.0.1:50051") as client, ParquetRecorder("data/") as rec:
        stream = client.stream_batches(["AAPL"], from_seq=rec.resume_seq, resume=True,
                                       heartbeats=True)
        rec.consume(stream)                 # until the stream ends (or rec.stop())
    print(rec.stats())

Rows are buffered per partition (event date in UTC, and kind or symbol) and
written at checkpoints: every partition at once, when one partition holds
``flush_rows`` rows, when all together hold ``max_buffered_rows``, or
``flush_interval`` seconds after the last checkpoint (checked as batches or
heartbeats arrive), and at close(). The files, the checkpoint rule and the
recovery are described in mdstream.record.layout.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from mdstream.batch import KIND_NAMES, ResultBatch
from mdstream.errors import InvalidArgumentError, StreamChangedError
from mdstream.record import layout

__all__ = ["ParquetRecorder", "record", "NS_PER_DAY"]

log = logging.getLogger("mdstream.record")

NS_PER_DAY = 86_400 * 10**9
_KEY_SPACE = 1 << 24          # > any symbol id or kind code: day * _KEY_SPACE + key


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ImportError("recording to Parquet needs pyarrow: pip install 'mdstream[arrow]'") \
            from None
    return pyarrow, pyarrow.parquet


class ParquetRecorder:
    """Records ResultBatch objects into a directory of Parquet files.

    Parameters
    ----------
    directory:
        The recording (created if missing). An existing one is recovered:
        ``resume_seq`` is where to subscribe to continue it.
    partition_by:
        "kind" (trade, quote, bar) or "symbol": the second level of
        directories, under ``date=YYYY-MM-DD`` (the event time ``ts_ns``, UTC).
    flush_rows:
        A checkpoint when one partition holds this many rows.
    max_buffered_rows:
        A checkpoint when all partitions together hold this many rows (the
        memory bound: about 200 bytes a row, plus one batch).
    flush_interval:
        Seconds after the last checkpoint that the next is written (0: only
        by rows and at close()).
    datetimes:
        Write ts_ns, recv_ns, done_ns as Arrow timestamp[ns, UTC] instead of
        int64 ns since the epoch.
    compression:
        Parquet compression (pyarrow's names; default "zstd").
    """

    def __init__(self, directory, *, partition_by: str = "kind", flush_rows: int = 100_000,
                 max_buffered_rows: int = 1_000_000, flush_interval: float = 10.0,
                 datetimes: bool = False, compression: str = "zstd"):
        if partition_by not in layout.PARTITION_BY:
            raise InvalidArgumentError(f"partition_by must be one of {', '.join(layout.PARTITION_BY)}, "
                                       f"got {partition_by!r}")
        if flush_rows < 1 or max_buffered_rows < 1:
            raise InvalidArgumentError("flush_rows and max_buffered_rows must be >= 1")
        if flush_interval < 0:
            raise InvalidArgumentError(f"flush_interval must be >= 0, got {flush_interval}")
        _pyarrow()
        self.directory = Path(directory)
        self.partition_by = partition_by
        self.flush_rows = int(flush_rows)
        self.max_buffered_rows = int(max_buffered_rows)
        self.flush_interval = float(flush_interval)
        self.datetimes = datetimes
        self.compression = compression
        #: What opening the directory found (mdstream.record.layout.Recovery).
        self.recovery = layout.recover(self.directory, partition_by)
        self._state = layout.Recovery(**vars(self.recovery))
        self._state.removed_files = self._state.removed_temporary = 0
        self._buffers: dict[int, list[np.ndarray]] = {}
        self._counts: dict[int, int] = {}
        self._buffered = 0
        self._gaps: list = []
        self._symbols: list = []
        self._position = self._state.last_seq          # the newest seq accounted for
        self._start: int | None = None                 # a new recording's first seq
        self._last_checkpoint = time.monotonic()
        self._stop = threading.Event()
        self._closed = False
        #: True while rows are being added or written (a signal handler that
        #: must not interrupt a checkpoint waits: see stop()).
        self.busy = False
        #: Rows dropped because they were recorded already (a stream opened
        #: before resume_seq).
        self.duplicates = 0

    def __repr__(self) -> str:
        return f"<ParquetRecorder {self.directory} last_seq={self.last_seq}>"

    # -- where to continue -------------------------------------------------------

    @property
    def resume_seq(self) -> int | None:
        """The ``from_seq`` that continues the recording (the last recorded
        sequence number + 1), or None for a new, empty recording."""
        return self.recovery.last_seq + 1 if self.recovery.last_seq >= 0 else None

    @property
    def last_seq(self) -> int:
        """The last sequence number recorded (written by a checkpoint), -1: none."""
        return self._state.last_seq

    @property
    def stream_id(self) -> str | None:
        """The stream recorded here (the server's Engine.stream_id), None: not known yet."""
        return self._state.stream_id

    def check_stream(self, stream_id: str | None) -> None:
        """Note which stream the rows come from (kept with the next checkpoint).
        Raises StreamChangedError when the recording holds another stream's
        rows: the same sequence numbers mean other results there."""
        if not stream_id or stream_id == self._state.stream_id:
            return
        held = self._state.stream_id
        if held is not None:
            raise StreamChangedError(held, stream_id, (
                f"{self.directory} records stream {held!r}, but these results come from stream "
                f"{stream_id!r} (another server or journal, or a server restarted without its "
                "journal), where the same sequence numbers mean other results: write them into "
                "another directory"))
        self._state.stream_id = stream_id

    # -- adding --------------------------------------------------------------------

    def write(self, batch: ResultBatch, position: int | None = None) -> None:
        """Buffer a batch (and note its gap); writes a checkpoint when a
        bound is reached. ``position``: the stream's ``last_seq`` after this
        batch (results up to it were delivered or filtered out)."""
        if self._closed:
            raise InvalidArgumentError("the recorder is closed")
        self.busy = True
        try:
            self._add(batch, position)
            if self._due():
                self.checkpoint()
        finally:
            self.busy = False

    def _add(self, batch: ResultBatch, position: int | None) -> None:
        rows = batch.rows
        if self._start is None and self._state.last_seq < 0:
            firsts = [int(rows["seq"][0])] if len(rows) else []
            if batch.gap is not None:
                firsts.append(batch.gap.from_seq)
            self._start = min(firsts) if firsts else None
        if batch.gap is not None and batch.gap.to_seq - 1 > self._position:
            gap = batch.gap
            log.warning("gap in the stream: seq %d to %d (%d results) were not received",
                        gap.from_seq, gap.to_seq - 1, gap.missed)
            self._gaps.append(gap)
            self._position = max(self._position, gap.to_seq - 1)
        if len(rows) and rows["seq"][0] <= self._state.last_seq:
            keep = rows["seq"] > self._state.last_seq
            self.duplicates += len(rows) - int(np.count_nonzero(keep))
            rows = rows[keep]
        if len(batch.symbols) >= len(self._symbols):
            self._symbols = list(batch.symbols)
        if len(rows):
            self._split(rows)
            self._position = max(self._position, int(rows["seq"][-1]))
        if position is not None:
            self._position = max(self._position, int(position))

    def _split(self, rows: np.ndarray) -> None:
        second = rows["kind"] if self.partition_by == "kind" else rows["symbol_id"]
        keys = (rows["ts_ns"] // NS_PER_DAY) * _KEY_SPACE + second.astype(np.int64)
        if keys[0] == keys[-1] and np.all(keys == keys[0]):
            parts = [(int(keys[0]), rows.copy())]
        else:
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
            parts = [(int(sorted_keys[start]), rows[idx])
                     for start, idx in zip(np.r_[0, cuts], np.split(order, cuts))]
        for key, part in parts:
            self._buffers.setdefault(key, []).append(part)
            self._counts[key] = self._counts.get(key, 0) + len(part)
            self._buffered += len(part)

    def _due(self) -> bool:
        if self._buffered >= self.max_buffered_rows:
            return True
        if self._counts and max(self._counts.values()) >= self.flush_rows:
            return True
        return self.tick_due()

    def tick_due(self) -> bool:
        """True when flush_interval has passed and there is something to write."""
        return (self.flush_interval > 0 and self._position > self._state.last_seq
                and time.monotonic() - self._last_checkpoint >= self.flush_interval)

    # -- checkpoints -----------------------------------------------------------------

    def _partition_value(self, key: int) -> str:
        second = key % _KEY_SPACE
        if self.partition_by == "kind":
            return KIND_NAMES.get(second, str(second))
        name = self._symbols[second] if second < len(self._symbols) else None
        return name if name is not None else f"#{second}"

    def checkpoint(self) -> int:
        """Write every buffered row (one file per partition), the gaps, then
        the checkpoint record; returns the files written. Afterwards
        ``last_seq`` is the newest sequence number accounted for."""
        if self._position <= self._state.last_seq:
            self._last_checkpoint = time.monotonic()
            return 0
        pa, pq = _pyarrow()
        first = self._state.last_seq + 1 if self._state.last_seq >= 0 else (self._start or 0)
        last = self._position
        was_busy, self.busy = self.busy, True
        try:
            if self._gaps:
                (self.directory / layout.GAPS_DIR).mkdir(exist_ok=True)
            for gap in self._gaps:
                layout.write_json_atomic(
                    layout.gap_path(self.directory, gap.from_seq, gap.to_seq),
                    {"from_seq": gap.from_seq, "to_seq": gap.to_seq, "missed": gap.missed,
                     "recorded_at_ns": time.time_ns()})
            touched: set[Path] = set()
            files = len(self._buffers)
            meta = {layout.META_CHECKPOINT: f"{first}-{last}".encode(),
                    layout.META_FILES: str(files).encode(),
                    layout.META_PARTITION_BY: self.partition_by.encode()}
            rows_written = 0
            for key in sorted(self._buffers):
                rows = np.concatenate(self._buffers[key])
                table = pa.Table.from_batches([ResultBatch(rows, self._symbols).to_arrow(
                    datetimes=self.datetimes)])
                table = table.drop_columns([self.partition_by])
                table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
                folder = layout.partition_dir(self.directory, key // _KEY_SPACE,
                                              self.partition_by, self._partition_value(key))
                if not folder.is_dir():
                    folder.mkdir(parents=True, exist_ok=True)
                    touched.update((folder.parent, self.directory))
                layout.write_atomic(folder / layout.part_name(first, last),
                                    lambda f, t=table: pq.write_table(
                                        t, f, compression=self.compression))
                touched.add(folder)
                rows_written += len(rows)
            for folder in sorted(touched, key=lambda p: len(p.parts), reverse=True):
                layout.fsync_dir(folder)
            state = self._state
            state.last_seq = last
            state.rows += rows_written
            state.files += files
            state.checkpoints += 1
            state.gaps += len(self._gaps)
            state.missed += sum(g.missed for g in self._gaps)
            layout.write_json_atomic(self.directory / layout.STATE_FILE, state.state())
            self._buffers.clear()
            self._counts.clear()
            self._buffered = 0
            self._gaps.clear()
            self._last_checkpoint = time.monotonic()
            return files
        finally:
            self.busy = was_busy

    # -- reading a stream -------------------------------------------------------------

    def consume(self, stream, *, duration: float | None = None) -> str:
        """Record a BatchStream until it ends, ``duration`` seconds pass, or
        stop() is called; returns why it stopped ("the stream ended",
        "duration reached", "stopped"). The stream is not closed here.
        Time-based checkpoints happen as batches arrive: pass a gRPC stream
        ``heartbeats=True`` so quiet periods deliver empty batches; an
        in-process Subscription is polled once a second."""
        from mdstream.engine.subscription import StreamEnded

        deadline = time.monotonic() + duration if duration else None
        poll = getattr(stream, "next_batch", None)
        iterator = None if poll is not None else iter(stream)
        while not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return "duration reached"
            if poll is not None:
                try:
                    batch = poll(timeout=1.0)
                except StreamEnded:
                    return "the stream ended"
            else:
                try:
                    batch = next(iterator)  # type: ignore[arg-type]  # opened above
                except StopIteration:
                    return "stopped" if self._stop.is_set() else "the stream ended"
            if batch is None:
                if self.tick_due():
                    self.checkpoint()
                continue
            stream_id = getattr(stream, "stream_id", None)       # a gRPC stream's
            if isinstance(stream_id, str):
                self.check_stream(stream_id)
            last = getattr(stream, "last_seq", None)
            self.write(batch, last if isinstance(last, int) else None)
        return "stopped"

    def stop(self) -> None:
        """Make consume() return after the batch in hand (any thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Write what is buffered (a last checkpoint); safe twice."""
        if self._closed:
            return
        self.checkpoint()
        self._closed = True

    def stats(self) -> dict:
        """rows, files, checkpoints, gaps, missed (recorded in this directory
        in all, this run included), last_seq, buffered, duplicates."""
        s = self._state
        return {"rows": s.rows, "files": s.files, "checkpoints": s.checkpoints, "gaps": s.gaps,
                "missed": s.missed, "last_seq": s.last_seq, "buffered": self._buffered,
                "duplicates": self.duplicates}

    def __enter__(self) -> "ParquetRecorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def record(stream, directory, *, duration: float | None = None, **options) -> dict:
    """Record a BatchStream into ``directory`` until it ends (or ``duration``
    seconds), then write the last checkpoint; returns the recorder's stats().
    ``options`` are ParquetRecorder's. To continue a recording, open the
    stream at ``ParquetRecorder(directory).resume_seq`` (rows already
    recorded are dropped in any case)."""
    with ParquetRecorder(directory, **options) as rec:
        rec.consume(stream, duration=duration)
    return rec.stats()
