"""A bad record of a DBN file, named by its file and record number.

(A file that cannot be used as a whole is a BadFileError, as for CSV.)"""

from __future__ import annotations

import os

from mdstream.feeds.csv.errors import BadRowError

__all__ = ["DBNRecordError"]


class DBNRecordError(BadRowError):
    """One record of a DBN file cannot be replayed (an undefined price on a
    trade, an instrument id without a symbol, a ts_event that is not set...).
    ``record`` (also ``line``) is its 1-based position among the file's
    records (the metadata header is not a record); the message reads
    ``path: record N: problem``."""

    line: int           # always a record number here (None only for a whole file)

    def __init__(self, path: str | os.PathLike, record: int, problem: str):
        super().__init__(path, record, problem)
        self.args = (f"{self.path}: record {record}: {problem}",)

    @property
    def record(self) -> int:
        return self.line

    @property
    def where(self) -> str:
        return f"record {self.line}"

    def __str__(self) -> str:
        return self.args[0]
