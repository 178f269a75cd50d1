"""SymbolIndex: the symbols a recorded-data feed produces, as dense local ids."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from mdstream.errors import InvalidArgumentError

__all__ = ["SymbolIndex", "UNKNOWN", "INVALID", "MISSING"]

# Negative ids lookup() gives for names it cannot take (the reason a row is bad).
UNKNOWN = -1   # a well-formed name that is not among the allowed symbols
INVALID = -2   # empty, or with spaces around it
MISSING = -3   # no value in the symbol column


class SymbolIndex:
    """Symbol names to ids 0, 1, 2... in order of first appearance.

    Open (``allowed`` None), it takes any well-formed name until frozen; with
    ``allowed``, the ids are those names' positions and any other name is
    UNKNOWN. A feed freezes its index once its symbols are known (before the
    engine starts), so a name first seen later is UNKNOWN rather than a symbol
    the engine never heard of.
    """

    def __init__(self, allowed: Iterable[str] | None = None):
        self._ids: dict[str, int] = {}
        self.names: list[str] = []
        self.frozen = False
        if allowed is not None:
            allowed = list(allowed)
            for name in allowed:
                if not _well_formed(name):
                    raise InvalidArgumentError(
                        f"a symbol must be a non-empty string without surrounding spaces, got {name!r}")
            if not allowed:
                raise InvalidArgumentError("symbols is empty: pass None to take the file's symbols")
            self.add(allowed)
            self.frozen = True

    def add(self, names: Iterable[str]) -> list[int]:
        """Ids of names, adding the new ones (InvalidArgumentError if frozen or malformed)."""
        out = []
        for name in names:
            sid = self._ids.get(name)
            if sid is None:
                if self.frozen:
                    raise InvalidArgumentError(f"symbol {name!r} is not among {self.names}")
                if not _well_formed(name):
                    raise InvalidArgumentError(
                        f"a symbol must be a non-empty string without surrounding spaces, got {name!r}")
                sid = len(self.names)
                self._ids[name] = sid
                self.names.append(name)
            out.append(sid)
        return out

    def lookup(self, names: Sequence[str]) -> np.ndarray:
        """int32 ids of names (each distinct, e.g. a chunk's categories), adding
        new well-formed ones unless frozen; UNKNOWN or INVALID for the others."""
        ids = np.empty(len(names), dtype=np.int32)
        for k, name in enumerate(names):
            sid = self._ids.get(name)
            if sid is None:
                if not _well_formed(name):
                    sid = INVALID
                elif self.frozen:
                    sid = UNKNOWN
                else:
                    sid = len(self.names)
                    self._ids[name] = sid
                    self.names.append(name)
            ids[k] = sid
        return ids

    def lookup_codes(self, codes: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """int32 ids of a dictionary-encoded column: ``codes`` index ``names``
        (see lookup), code -1 (no value) gives MISSING."""
        lut = np.append(self.lookup(names), np.int32(MISSING))
        return lut[codes]    # code -1 picks the last entry: MISSING

    def shown(self) -> str:
        """The first ten names, for a message ("A, B, ..." when there are more)."""
        return ", ".join(self.names[:10]) + (", ..." if len(self.names) > 10 else "")

    def problem(self, code: int, value, column: str | None) -> str:
        """Why a row's symbol ``value`` from ``column`` got the id ``code``
        (MISSING, INVALID or UNKNOWN), for its BadRowError."""
        if code == MISSING:
            return f"missing symbol (column '{column}')"
        if code == INVALID:
            return (f"bad symbol {str(value)!r} in column '{column}': a symbol is non-empty, "
                    "without spaces around it")
        if code == UNKNOWN:
            return (f"unknown symbol {str(value)!r} in column '{column}': not among the feed's "
                    f"symbols ({self.shown()})")
        return f"bad symbol {str(value)!r}"

    def freeze(self) -> None:
        self.frozen = True

    def __len__(self) -> int:
        return len(self.names)


def _well_formed(name) -> bool:
    return isinstance(name, str) and bool(name) and name == name.strip()
