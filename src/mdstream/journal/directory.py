"""The journal directory: settings, recovery after a crash or restart, replay
for resuming subscribers, and retention.

The writing itself happens in the core (core/journal.pxi), on its own thread.
A journal directory holds:

- ``NNNNNNNNNNNNNNNNNNNN.mdj``: segments named after their first sequence
  number, each a series of checksummed blocks of results;
- ``state-NNNNNNNNNNNNNNNNNNNN.mds``: the analytics state as of the start of
  each segment, so a restart can begin there once retention removed what
  came before;
- ``journal.json``: the settings the results depend on (record layout, EMA,
  bar intervals), checked on every start, and the journal's ``stream_id``:
  chosen when the journal is created (a journal of an earlier version gets
  one at its first start), it names the sequence space of its results, so a
  client resuming with ``from_seq`` can tell it is the same stream;
- ``symbols.jsonl``: symbol names, one JSON string per line, line i being
  symbol id i (see journal/symbol_file.py; a journal of an earlier version
  has ``symbols.txt``, converted when it is opened);
- ``LOCK``: held while an engine uses the directory.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np

from mdstream import _core
from mdstream.errors import JournalCorruptError, JournalError, OutOfRangeError
from mdstream.files import fsync_dir, write_atomic
from mdstream.journal.config import JournalConfig, RecoveryReport
from mdstream.journal.layout import (
    FORMAT_VERSION,
    list_segments,
    list_states,
)
from mdstream.journal.segments import read_blocks
from mdstream.journal.symbol_file import SymbolFile

__all__ = ["Journal"]

log = logging.getLogger("mdstream.journal")


class Journal:
    """An engine's journal directory (see the module docstring)."""

    def __init__(self, config: JournalConfig, record_settings: dict):
        self.config = config
        self.directory = Path(config.directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.directory / "LOCK", "a+")
        except OSError as e:
            raise JournalError(f"cannot use journal directory {self.directory}: {e.strerror}") from e
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise JournalError(
                f"journal directory {self.directory} is in use by another engine (its LOCK is held)") from None
        try:
            self._check_settings(record_settings)
            self._symbols = SymbolFile(self.directory)
        except BaseException:
            self._lock_file.close()
            raise
        self._core = None

    # -- settings and symbols ---------------------------------------------------

    def _check_settings(self, settings: dict) -> None:
        settings = {"format": FORMAT_VERSION, "record_size": _core.RESULT_DTYPE.itemsize, **settings}
        path = self.directory / "journal.json"
        if path.exists():
            try:
                stored = json.loads(path.read_text())
            except ValueError as e:
                raise JournalError(f"{path} is not valid JSON: {e}") from e
            if not isinstance(stored, dict):
                raise JournalError(f"{path} does not hold a JSON object")
            stream_id = stored.pop("stream_id", None)
            if stored != settings:
                diff = {k: (stored.get(k), settings.get(k)) for k in set(stored) | set(settings)
                        if stored.get(k) != settings.get(k)}
                raise JournalError(
                    f"journal {self.directory} was written with other settings "
                    f"(setting: (journal, now) = {diff}); restart with the same settings "
                    "or use a new journal directory")
        elif list_segments(self.directory):
            raise JournalError(f"{path} is missing: {self.directory} holds segments of unknown settings")
        else:
            stream_id = None
        if not isinstance(stream_id, str) or not stream_id:
            # A new journal (or one of an earlier version): a new stream.
            stream_id = uuid.uuid4().hex
            text = json.dumps({**settings, "stream_id": stream_id}, indent=2) + "\n"
            write_atomic(path, lambda f: f.write(text.encode()))      # fsynced: a power
            fsync_dir(self.directory)                                  # loss leaves it whole
        #: The id of the stream of this journal's sequence numbers (journal.json).
        self.stream_id = stream_id

    def load_symbols(self) -> list[str]:
        """Symbol names by id, as journaled."""
        return list(self._symbols.names)

    def append_symbols(self, names: list[str]) -> None:
        """Record new symbols durably before any result can refer to them."""
        self._symbols.append(list(names))

    # -- recovery ---------------------------------------------------------------

    def recover(self, core, venue=None) -> RecoveryReport:
        """Bring a not yet started _core.Core (and its paper venue) to where
        the journal ends.

        Cuts a torn tail off the newest segment, loads the newest usable state
        file, and replays the results after it (all results when there is no
        state file). A paper venue (``venue``, a _core.VenueCore) replays every
        row from seq 0 (order requests included), so its orders, positions and
        reports come back exactly; a journal whose retention removed its
        first segments raises JournalError for it. Damage anywhere else raises
        JournalCorruptError naming the file and offset; it is never served.
        """
        segments = list_segments(self.directory)
        for (first, path), (nxt, _) in zip(segments, segments[1:]):
            if nxt <= first:
                raise JournalCorruptError(str(path), 0, "segments overlap", False)
        torn_cut, torn_file, end = 0, None, 0
        if segments:
            torn_cut, torn_file, end = self._check_tail(*segments[-1])
            segments = list_segments(self.directory)
        start = self._load_state(core, end)
        if start is None:
            if segments and segments[0][0] != 0:
                raise JournalError(
                    f"journal {self.directory} starts at seq {segments[0][0]} and no state file "
                    "covers what came before: the analytics cannot be rebuilt")
            start = 0
        if venue is not None and segments:
            if segments[0][0] != 0:
                raise JournalError(
                    f"journal {self.directory} starts at seq {segments[0][0]}: the paper venue's "
                    "orders and positions are rebuilt from seq 0, which its retention removed "
                    "(keep the whole journal for a paper venue: no retention)")
            for rows in read_blocks(segments, 0, start, orders=True):
                venue.replay(rows)
        results = 0
        for rows in read_blocks(segments, start, orders=True):
            core.restore(rows)
            if venue is not None:
                venue.replay(rows)
            results += len(rows)
        return RecoveryReport(len(segments), results, core.next_seq, torn_cut, torn_file)

    def _check_tail(self, first: int, path: Path) -> tuple[int, str | None, int]:
        """Scan the newest segment, cut a torn tail; (bytes cut, file, end seq)."""
        scanner = _core.SegmentScanner(str(path), first)
        cut, where = 0, None
        try:
            while True:
                try:
                    if scanner.next_block() is None:
                        break
                except JournalCorruptError as e:
                    if not e.torn:
                        raise
                    cut, where = path.stat().st_size - scanner.offset, str(path)
                    log.warning("journal: cutting a torn tail of %d bytes from %s at offset %d (%s)",
                                cut, path, scanner.offset, e.reason)
                    os.truncate(path, scanner.offset)
                    break
        finally:
            scanner.close()
        end = scanner.expected_seq
        if scanner.offset == 0:
            path.unlink()               # nothing whole in it
        return cut, where, end

    def _load_state(self, core, end: int) -> int | None:
        """Load the newest state file not ahead of the journal's end; its seq, or None."""
        for seq, path in reversed(list_states(self.directory)):
            if seq > end and list_segments(self.directory):
                # Written before the segments' data reached the disk (power loss): unusable.
                log.warning("journal: ignoring %s, which is ahead of the journal's end (seq %d)",
                            path, end)
                continue
            try:
                return _core.StateFile.load(str(path), core)
            except JournalCorruptError as e:
                log.warning("journal: ignoring a damaged state file: %s", e)
        return None

    def _blocks_from(self, segments, from_seq: int, end: int | None = None,
                     active: tuple[int, int] | None = None,
                     orders: bool = False) -> Iterator[np.ndarray]:
        """Results from from_seq (to end), over the given segments; `active`
        is (first_seq, complete bytes) of a segment still being written;
        ``orders``: with the order requests (read_blocks)."""
        return read_blocks(segments, from_seq, end, active, orders=orders)

    # -- replay -----------------------------------------------------------------

    def attach(self, core) -> None:
        """Follow a running core's journal writer (for replay limits)."""
        self._core = core

    def oldest_seq(self) -> int | None:
        segments = list_segments(self.directory)
        return segments[0][0] if segments else None

    def replay(self, from_seq: int, orders: bool = False) -> Iterator[np.ndarray]:
        """Results from from_seq up to what the journal holds now, in blocks
        (RESULT_DTYPE arrays, the first one trimmed to start at from_seq);
        ``orders``: with the order requests between them (a venue's input)."""
        status = self._core.journal_status() if self._core is not None else None
        end = status["written_seq"] if status else None
        active = (status["active_first_seq"], status["active_bytes"]) if status else None
        segments = list_segments(self.directory)
        if not segments or from_seq < segments[0][0]:
            oldest = segments[0][0] if segments else (end if end is not None else 0)
            raise OutOfRangeError(
                f"from_seq {from_seq} is older than the oldest result kept (seq {oldest})", oldest)
        try:
            yield from self._blocks_from(segments, from_seq, end, active, orders)
        except FileNotFoundError:
            raise OutOfRangeError(f"from_seq {from_seq} was just removed by the journal's retention",
                                  self.oldest_seq() or 0) from None

    # -- retention --------------------------------------------------------------

    def apply_retention(self) -> list[Path]:
        """Delete the oldest whole segments past the size or age limits (the
        size counts segments and state files alike).

        A segment goes only if a state file at or after the next segment's
        start exists (so a restart can still rebuild the analytics); the
        active segment never goes. State files older than the oldest segment
        left are removed too.
        """
        cfg = self.config
        if cfg.retain_bytes is None and cfg.retain_age_s is None:
            return []
        # One listing and one stat per file: this runs every second.
        segments = [(first, path, path.stat()) for first, path in list_segments(self.directory)]
        states = list_states(self.directory)
        newest_state = states[-1][0] if states else -1
        # The journal's size is its segments and its state files.
        state_bytes = {seq: p.stat().st_size for seq, p in states}
        total = sum(st.st_size for _, _, st in segments) + sum(state_bytes.values())
        now = time.time()
        removed = []
        gone = 0                     # segments removed: always the oldest ones
        for (first, path, st), (nxt, _, _) in zip(segments, segments[1:]):
            too_big = cfg.retain_bytes is not None and total > cfg.retain_bytes
            too_old = cfg.retain_age_s is not None and now - st.st_mtime > cfg.retain_age_s
            if not (too_big or too_old) or nxt > newest_state:
                break
            path.unlink()
            # ... and its state file goes with it (below: older than the oldest segment).
            total -= st.st_size + state_bytes.get(first, 0)
            removed.append(path)
            gone += 1
            log.info("journal: retention removed %s", path)
        oldest = segments[gone][0] if gone < len(segments) else None
        for seq, path in states:
            if oldest is not None and seq < oldest:
                path.unlink()
                removed.append(path)
        return removed

    def close(self) -> None:
        self._symbols.close()
        self._lock_file.close()
