"""A bad row of a Parquet file, named by its file and row number.

(A file that cannot be used as a whole is a BadFileError, as for CSV.)"""

from __future__ import annotations

import os

from mdstream.feeds.csv.errors import BadRowError

__all__ = ["ParquetRowError"]


class ParquetRowError(BadRowError):
    """One row of a Parquet file is bad (a missing timestamp, a NaN price,
    an unknown symbol...). ``row`` (also ``line``) is its 1-based position in
    its file, whose ``path`` is named (for a dataset: the part file); the
    message reads ``path: row N (index N-1): problem``, the index being what
    pandas or pyarrow call it."""

    line: int           # always a row number here (None only for a whole file)

    def __init__(self, path: str | os.PathLike, row: int, problem: str):
        super().__init__(path, row, problem)
        self.args = (f"{self.path}: row {row} (index {row - 1}): {problem}",)

    @property
    def row(self) -> int:
        return self.line

    @property
    def where(self) -> str:
        return f"row {self.line}"

    def __str__(self) -> str:
        return self.args[0]
