"""JournalReader: a journal directory's results, read only.

    from mdstream.journal import JournalReader

    reader = JournalReader("/var/lib/mdstream")
    print(reader.first_seq, reader.last_seq, reader.stream_id, len(reader.symbols))
    for batch in reader.batches(from_seq=1_000, to_seq=2_000):
        print(batch.seq[0], batch.symbol_names()[0], batch.vwap[-1])

No engine is started and the directory's ``LOCK`` is not taken, so a journal
can be read while a live engine writes it (another process, or this one).
Nothing is ever written, cut or converted. What is read is what is complete:
every block passes the core's checks (header and payload CRC-32C, the
Castagnoli polynomial of RFC 3720; record size; sequence continuity; the
format is described in core/journal.pxi), and a block cut short at the
end of the newest segment (a write in progress, or the torn tail of a crash
that the next engine start will cut) ends the reading cleanly before it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterator

import numpy as np

from mdstream import _core
from mdstream.batch import ResultBatch
from mdstream.errors import InvalidArgumentError, JournalCorruptError, JournalError, OutOfRangeError
from mdstream.journal.layout import FORMAT_VERSION, SEGMENT_SUFFIX, list_segments, list_states
from mdstream.journal.segments import read_blocks
from mdstream.journal.symbol_file import read_names

__all__ = ["JournalReader", "JournalInfo", "DEFAULT_MAX_RESULTS"]

#: The most results per batch of JournalReader.batches() unless told otherwise
#: (a batch is at most a journal block: 4,096 results).
DEFAULT_MAX_RESULTS = 4_096


@dataclasses.dataclass(frozen=True)
class JournalInfo:
    """What a journal directory holds, as of one look at it.

    ``first_seq``/``last_seq``: the oldest and newest sequence numbers held
    (both inclusive; None when it holds no result), ``results`` how many,
    ``segments`` the segment files, ``segment_bytes`` their size and
    ``bytes`` that of every file of the directory (segments, state files,
    symbols, settings), ``symbols`` the symbol names by id, ``stream_id``
    the journal's stream (journal.json), ``torn_tail`` the error describing
    an incomplete block at the end (file and byte offset), or None.
    """

    directory: str
    stream_id: str
    first_seq: int | None
    last_seq: int | None
    results: int
    segments: int
    segment_bytes: int
    state_files: int
    bytes: int
    symbols: list[str]
    settings: dict
    torn_tail: str | None


class JournalReader:
    """A journal directory (see mdstream.journal.directory), read only.

    Parameters
    ----------
    directory:
        The journal's directory, as given to ``Engine(journal=...)`` or
        ``mdstream serve --journal``.

    Raises JournalError when ``directory`` is not a journal (missing, not a
    directory, no ``journal.json``) or was written by a version with another
    record layout, naming the directory and what is wrong.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise JournalError(f"{self.directory} is not a journal directory: "
                               f"{'not a directory' if self.directory.exists() else 'it does not exist'}")
        path = self.directory / "journal.json"
        try:
            settings = json.loads(path.read_text())
        except FileNotFoundError:
            raise JournalError(f"{self.directory} is not an mdstream journal: it has no journal.json "
                               "(give the directory of Engine(journal=...) or "
                               "mdstream serve --journal)") from None
        except (OSError, ValueError) as e:
            raise JournalError(f"cannot read {path}: {e}") from e
        if not isinstance(settings, dict):
            raise JournalError(f"{path} does not hold a JSON object")
        record_size = _core.RESULT_DTYPE.itemsize
        if settings.get("format") != FORMAT_VERSION or settings.get("record_size") != record_size:
            raise JournalError(
                f"{self.directory} was written in journal format {settings.get('format')} with "
                f"records of {settings.get('record_size')} bytes; this version reads format "
                f"{FORMAT_VERSION} with records of {record_size} bytes")
        #: The id of the stream of the journal's sequence numbers ("" for a
        #: journal that no engine of this version has opened yet).
        self.stream_id: str = str(settings.pop("stream_id", "") or "")
        #: The settings the results were computed with (journal.json: EMA,
        #: bar intervals, record layout).
        self.settings: dict = settings
        self._symbols: list[str] = []

    def __repr__(self) -> str:
        return f"<JournalReader {self.directory} stream_id={self.stream_id or '-'}>"

    # -- what it holds ---------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """Symbol names by id (symbols.jsonl), read now."""
        self._symbols = read_names(self.directory)
        return list(self._symbols)

    def segments(self) -> list[tuple[int, Path]]:
        """(first_seq, path) of every segment file, oldest first."""
        return list_segments(self.directory)

    @property
    def first_seq(self) -> int | None:
        """The oldest sequence number held, or None when the journal holds no result."""
        return self._held(self.segments())[0]

    @property
    def last_seq(self) -> int | None:
        """The newest sequence number held whole (inclusive), or None when
        the journal holds no result. Reads (and checks) the newest segment."""
        return self._held(self.segments())[1]

    @staticmethod
    def _held(segments: list[tuple[int, Path]]
              ) -> tuple[int | None, int | None, list[JournalCorruptError]]:
        """(first_seq, last_seq, torn tails met) of ``segments``: the newest
        segment with a complete block is read (and checked) to find the last
        complete result. Raises JournalCorruptError on a damaged block."""
        torn: list[JournalCorruptError] = []
        last = None
        # The newest segment may be empty (just opened); look back until one has a block.
        for index in range(len(segments) - 1, -1, -1):
            first, path = segments[index]
            end = first
            for rows in read_blocks(segments[index:index + 1], first, torn_tail=torn.append,
                                    orders=True):
                end = int(rows["seq"][-1]) + 1
            if end > first:
                last = end - 1
                break
        first_seq = segments[0][0] if last is not None else None
        return first_seq, last, torn

    def info(self) -> JournalInfo:
        """A JournalInfo of the directory now (the newest segment is read
        and checked to find the last complete result). Raises
        JournalCorruptError on a damaged block of the newest segment."""
        segments = self.segments()
        first_seq, last, torn = self._held(segments)
        sizes = []
        total = 0
        for p in self.directory.iterdir():
            try:
                size = p.stat().st_size
            except FileNotFoundError:       # removed by retention meanwhile
                continue
            total += size
            if p.suffix == SEGMENT_SUFFIX:
                sizes.append(size)
        return JournalInfo(
            directory=str(self.directory), stream_id=self.stream_id, first_seq=first_seq,
            last_seq=last, results=0 if last is None or first_seq is None else last - first_seq + 1,
            segments=len(segments), segment_bytes=sum(sizes),
            state_files=len(list_states(self.directory)), bytes=total, symbols=self.symbols,
            settings=dict(self.settings), torn_tail=str(torn[0]) if torn else None)

    # -- reading -----------------------------------------------------------------------

    def batches(self, from_seq: int | None = None, to_seq: int | None = None,
                max_results: int = DEFAULT_MAX_RESULTS) -> Iterator[ResultBatch]:
        """ResultBatch objects of the results from ``from_seq`` (inclusive;
        default: the oldest held) to ``to_seq`` (exclusive; default: the
        newest complete one), in sequence order: one per journal block (up
        to 4,096 results), split to at most ``max_results`` rows. The
        columns are those a subscription gives
        (``mdstream.RESULT_DTYPE``: seq, ts_ns, recv_ns, done_ns in ns,
        symbol_id, kind, price, ...), ``batch.symbols`` the journal's names.

        Reads the segments there are when it starts, each as far as it is
        complete when it gets to it: results a live engine appends to the
        newest one meanwhile are included, up to the first incomplete block
        (call again for what went into segments opened since). Raises OutOfRangeError when ``from_seq`` is older than the
        oldest result held (``.oldest``) or retention removed a segment
        before it was read, JournalCorruptError (file, byte offset) on a
        damaged block, and InvalidArgumentError for a negative from_seq, a
        to_seq before from_seq or a max_results below 1.
        """
        if from_seq is not None and from_seq < 0:
            raise InvalidArgumentError(f"from_seq must be >= 0, got {from_seq}")
        if to_seq is not None and from_seq is not None and to_seq < from_seq:
            raise InvalidArgumentError(f"to_seq ({to_seq}) must not be below from_seq ({from_seq})")
        if max_results < 1:
            raise InvalidArgumentError(f"max_results must be >= 1, got {max_results}")
        segments = self.segments()
        if not segments:
            return
        oldest = segments[0][0]
        if from_seq is None:
            from_seq = oldest
        elif from_seq < oldest:
            raise OutOfRangeError(
                f"from_seq {from_seq} is older than the oldest result kept in {self.directory} "
                f"(seq {oldest})", oldest)
        try:
            # A batch per journal block (no copy: joining blocks into bigger
            # batches costs more than the batches save), split at max_results.
            for rows in read_blocks(segments, from_seq, to_seq, torn_tail=lambda e: None):
                for start in range(0, len(rows), max_results):
                    part = rows[start:start + max_results]
                    yield ResultBatch(part, self._names_for(part))
        except FileNotFoundError:
            now = self.segments()
            raise OutOfRangeError(
                f"the journal's retention removed segments of {self.directory} while they were "
                f"being read (the oldest seq kept is now {now[0][0] if now else 'none'})",
                now[0][0] if now else 0) from None

    def read(self, from_seq: int | None = None, to_seq: int | None = None) -> ResultBatch:
        """All results from ``from_seq`` to ``to_seq`` (as batches()) in one ResultBatch."""
        parts = [b.rows for b in self.batches(from_seq, to_seq)]
        rows = np.concatenate(parts) if parts else np.zeros(0, _core.RESULT_DTYPE)
        return ResultBatch(rows, self._names_for(rows))

    def _names_for(self, rows: np.ndarray) -> list[str]:
        """The symbol names, read again when a row has an id not yet known
        (symbols are written before any result refers to them)."""
        if len(rows):
            top = int(rows["symbol_id"].max())
            if top >= len(self._symbols):
                self._symbols = read_names(self.directory)
                if top >= len(self._symbols):
                    raise JournalError(
                        f"{self.directory / 'symbols.jsonl'} names {len(self._symbols)} symbols, "
                        f"but a result at seq {int(rows['seq'][rows['symbol_id'].argmax()])} has "
                        f"symbol id {top}: the symbol file is damaged or from another journal")
        return self._symbols
