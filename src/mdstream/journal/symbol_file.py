"""The journal's symbol list: names by id, in a format any name round-trips.

``symbols.jsonl`` holds one JSON string per line, line i being symbol id i,
written with ``ensure_ascii`` so the file is plain ASCII and no character of
a name (a line or paragraph separator, a control character) can be taken for
the end of a line. A line is appended and fsynced before any result can
refer to its id, so a torn last line (a crash while appending) names a
symbol nothing refers to: it is cut off when the file is opened.

Journals written before this format have ``symbols.txt`` instead: names
separated by "\\n" (and nothing else). Opening such a journal reads it that
way and converts it to ``symbols.jsonl`` (written aside, fsynced, renamed
into place, then ``symbols.txt`` removed); the ids are unchanged.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from mdstream.errors import JournalError
from mdstream.files import fsync_dir, write_atomic

__all__ = ["SymbolFile", "SYMBOLS_FILE", "LEGACY_SYMBOLS_FILE", "parse_names", "read_names"]

SYMBOLS_FILE = "symbols.jsonl"
LEGACY_SYMBOLS_FILE = "symbols.txt"

log = logging.getLogger("mdstream.journal")


def _encode(names: list[str]) -> bytes:
    return "".join(json.dumps(n, ensure_ascii=True) + "\n" for n in names).encode("ascii")


def parse_names(data: bytes, path: Path) -> tuple[list[str], int | None]:
    """The names of a symbols.jsonl file's bytes, and the length of its
    whole lines when the last one is torn (None: no torn line). Raises
    JournalError naming the file and line when a line is not a name."""
    names: list[str] = []
    offset = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        if end < 0:
            return names, offset
        line = data[offset:end]
        try:
            name = json.loads(line)
            if not isinstance(name, str):
                raise ValueError("not a JSON string")
        except ValueError as e:
            raise JournalError(
                f"{path} is damaged: line {len(names) + 1} (offset {offset}) is not a "
                f"symbol name ({e}); the results' symbol ids cannot be named") from None
        names.append(name)
        offset = end + 1
    return names, None


def read_names(directory: Path) -> list[str]:
    """A journal directory's symbol names by id, read only (no conversion,
    nothing cut): a torn last line, which no result refers to, is left out.
    A journal without a symbol file has no symbols."""
    path = directory / SYMBOLS_FILE
    try:
        return parse_names(path.read_bytes(), path)[0]
    except FileNotFoundError:
        pass
    legacy = directory / LEGACY_SYMBOLS_FILE
    try:
        data = legacy.read_bytes()
    except FileNotFoundError:
        if path.exists():                 # converted by an engine just now
            return parse_names(path.read_bytes(), path)[0]
        return []
    return _legacy_names(data, legacy)


def _legacy_names(data: bytes, legacy: Path) -> list[str]:
    """The names of a symbols.txt file's bytes (a UTF-8 name a line); a torn
    last line is left out. JournalError naming the file when not UTF-8."""
    try:
        return [line.decode("utf-8") for line in data.split(b"\n")[:-1]]
    except UnicodeDecodeError as e:
        raise JournalError(f"{legacy} is not UTF-8 text: {e}") from e


class SymbolFile:
    """A journal directory's symbol list, open for appending."""

    def __init__(self, directory: Path):
        self.path = directory / SYMBOLS_FILE
        legacy = directory / LEGACY_SYMBOLS_FILE
        if not self.path.exists() and legacy.exists():
            try:
                self._convert(legacy)
            except OSError as e:
                raise JournalError(f"cannot convert {legacy} to {self.path.name}: "
                                   f"{e.strerror or e}") from e
        try:
            self._file = open(self.path, "a+b")
        except OSError as e:
            raise JournalError(f"cannot open {self.path}: {e.strerror}") from e
        try:
            self.names = self._read()
        except BaseException:
            self._file.close()
            raise

    def _convert(self, legacy: Path) -> None:
        data = legacy.read_bytes()
        torn = data[data.rfind(b"\n") + 1:]
        if torn:
            log.warning("journal: ignoring a torn last line of %s (%d bytes)", legacy, len(torn))
        names = _legacy_names(data, legacy)
        write_atomic(self.path, lambda f: f.write(_encode(names)))
        fsync_dir(self.path.parent)
        legacy.unlink()
        log.info("journal: converted %s (%d symbols) to %s", legacy, len(names), self.path.name)

    def _read(self) -> list[str]:
        self._file.seek(0)
        names, complete = parse_names(self._file.read(), self.path)
        if complete is not None:          # torn by a crash while appending
            log.warning("journal: cutting a torn last line of %s (%d bytes)",
                        self.path, self._file.tell() - complete)
            os.truncate(self.path, complete)
        self._file.seek(0, os.SEEK_END)
        return names

    def append(self, names: list[str]) -> None:
        """Record new symbols durably (written and fsynced)."""
        if names:
            self._file.write(_encode(names))
            self._file.flush()
            os.fsync(self._file.fileno())
            self.names.extend(names)

    def close(self) -> None:
        self._file.close()
