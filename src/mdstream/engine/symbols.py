"""SymbolTable: the engine's symbol names and their dense integer ids."""

from __future__ import annotations

import threading
from typing import Iterable, Sequence

from mdstream.errors import InvalidArgumentError, UnknownSymbolError
from mdstream.text import check_symbol_name

__all__ = ["SymbolTable"]


class SymbolTable:
    """Names to ids 0, 1, 2, ... in the order they were added. Ids never change.

    Every new name is checked by :func:`mdstream.text.check_symbol_name` (the
    one rule for publish, feeds, CSV files and gRPC, which all land here).
    Names loaded from an existing journal (``existing``) keep their ids
    unchecked: they were accepted when they were journaled.
    """

    def __init__(self, max_symbols: int, on_new=None, existing: Iterable[str] = ()):
        self._max = max_symbols
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        self._lock = threading.Lock()
        self._on_new = None
        self._add(existing, check=False)    # names known from before (a journal), not new
        self._on_new = on_new       # called with new names before their ids are handed out

    def add(self, names: Iterable[str]) -> list[int]:
        """Add names (existing ones keep their id); returns the id of each.

        InvalidArgumentError for a name the rule refuses (nothing is added then).
        """
        return self._add(names, check=True)

    def _add(self, names: Iterable[str], check: bool) -> list[int]:
        with self._lock:
            names = list(names)
            new: dict[str, int] = {}
            for name in names:
                if check and not isinstance(name, str):
                    check_symbol_name(name)     # raises, before an unhashable name is looked up
                if name in self._ids or name in new:
                    continue
                if check:
                    check_symbol_name(name)
                new[name] = len(self._names) + len(new)
            if len(self._names) + len(new) > self._max:
                raise InvalidArgumentError(
                    f"cannot add {len(new)} symbols: the engine holds at most {self._max} "
                    "(raise max_symbols)")
            if new and self._on_new is not None:
                self._on_new(list(new))
            for name, sid in new.items():
                self._ids[name] = sid
                self._names.append(name)
            return [self._ids[name] for name in names]

    def ids(self, names: Iterable[str]) -> list[int]:
        """The ids of names; UnknownSymbolError naming every unknown one."""
        names = list(names)
        unknown = [n for n in names if n not in self._ids]
        if unknown:
            raise UnknownSymbolError(unknown, self._names)
        return [self._ids[n] for n in names]

    def id(self, name: str) -> int:
        return self.ids([name])[0]

    def name(self, sid: int) -> str:
        if not 0 <= sid < len(self._names):
            raise UnknownSymbolError([sid], self._names)
        return self._names[sid]

    @property
    def names(self) -> Sequence[str]:
        """Names by id: names[id] is the symbol with that id (a live, growing list)."""
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._ids
