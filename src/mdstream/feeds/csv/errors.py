"""Errors of the recorded-data (CSV) feed: each names the file, the line and the problem."""

from __future__ import annotations

import os

from mdstream.errors import MDStreamError

__all__ = ["CSVFeedError", "BadFileError", "BadRowError"]


class CSVFeedError(MDStreamError):
    """A recorded-data file cannot be replayed.

    ``path`` is the file, ``line`` the 1-based line number as a text editor
    shows it (the header is line 1), or None when the problem is not one line
    (a truncated gzip stream, say), and ``problem`` says what is wrong. The
    message reads ``path:line: problem``, the form editors and terminals
    recognise.
    """

    def __init__(self, path: str | os.PathLike, line: int | None, problem: str):
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # keep the attributes when pickled (e.g. across processes)
        return (type(self), (self.path, self.line, self.problem))


class BadFileError(CSVFeedError):
    """The file as a whole is unusable: missing, empty, no header, a column
    the mapping needs is missing, not text, or its compressed data is truncated."""


class BadRowError(CSVFeedError):
    """One row is malformed: a missing or extra field, a bad number or
    timestamp, a value mdstream.tick_rules does not allow (NaN or infinity, a
    negative size, a quote side with a size but no price), an unknown symbol..."""

    @property
    def where(self) -> str:
        """Where the row is, in the words of its format ("line 7")."""
        return f"line {self.line}"
