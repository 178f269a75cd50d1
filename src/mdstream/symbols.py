"""SymbolTable: the engine's symbol names and their dense integer ids."""

from __future__ import annotations

import threading
from typing import Iterable, Sequence

from mdstream.errors import InvalidArgumentError, UnknownSymbolError

__all__ = ["SymbolTable"]


class SymbolTable:
    """Names to ids 0, 1, 2, ... in the order they were added. Ids never change."""

    def __init__(self, max_symbols: int):
        self._max = max_symbols
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        self._lock = threading.Lock()

    def add(self, names: Iterable[str]) -> list[int]:
        """Add names (existing ones keep their id); returns the id of each."""
        ids = []
        with self._lock:
            for name in names:
                if not isinstance(name, str) or not name or name != name.strip():
                    raise InvalidArgumentError(
                        f"a symbol must be a non-empty string without surrounding spaces, got {name!r}")
                sid = self._ids.get(name)
                if sid is None:
                    if len(self._names) >= self._max:
                        raise InvalidArgumentError(
                            f"cannot add {name!r}: the engine holds at most {self._max} symbols "
                            "(raise max_symbols)")
                    sid = len(self._names)
                    self._ids[name] = sid
                    self._names.append(name)
                ids.append(sid)
        return ids

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
