"""The engine's symbol table as an edge learns it from JetStream messages.

Every message's frame names its symbol with the engine's id, so an edge
keeps the same ids as the engine: ``names[id]`` is a live list (encoders hold
it) that grows as names arrive; ids not seen yet hold "".
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable, Sequence

from mdstream.errors import UnknownSymbolError

__all__ = ["EdgeSymbols"]


class EdgeSymbols:
    """Symbol names by the engine's ids, learned from messages.

    ``refresh``: called (at most once a second) when a name is looked up
    that is not known yet; it reads the stream's subjects and learns the
    new ones (see EdgeSource).
    """

    def __init__(self, refresh: Callable[[], None] | None = None, min_refresh_s: float = 1.0):
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self._refresh = refresh
        self._min_refresh_s = min_refresh_s
        self._refreshed = 0.0

    def learn(self, symbols: dict[int, str]) -> None:
        """Take in {id: name} pairs from a decoded frame."""
        for sid, name in symbols.items():
            if sid < len(self._names) and self._names[sid] == name:
                continue
            with self._lock:
                if sid >= len(self._names):
                    self._names.extend([""] * (sid + 1 - len(self._names)))
                self._names[sid] = name
                self._ids[name] = sid

    def _maybe_refresh(self) -> None:
        now = time.monotonic()
        if self._refresh is not None and now - self._refreshed >= self._min_refresh_s:
            self._refreshed = now
            self._refresh()

    @property
    def names(self) -> Sequence[str]:
        """The live list of names by id ("" for ids not seen yet)."""
        return self._names

    def __contains__(self, name: object) -> bool:
        if name in self._ids:
            return True
        self._maybe_refresh()
        return name in self._ids

    def __len__(self) -> int:
        return len(self._names)

    def ids(self, names: Iterable[str]) -> list[int]:
        """The id of each name; UnknownSymbolError naming the unknown ones."""
        names = list(names)
        if any(n not in self._ids for n in names):
            self._maybe_refresh()
        unknown = [n for n in names if n not in self._ids]
        if unknown:
            raise UnknownSymbolError(unknown, [n for n in self._names if n])
        return [self._ids[n] for n in names]

    def id(self, name: str) -> int:
        return self.ids([name])[0]

    def name(self, sid: int) -> str:
        return self._names[sid]
