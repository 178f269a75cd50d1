"""Prefixed: a binary stream that replays bytes already read, then the rest."""

from __future__ import annotations

import io

__all__ = ["Prefixed"]


class Prefixed(io.RawIOBase):
    """A binary stream that yields ``head`` and then the rest of ``tail``."""

    def __init__(self, head: bytes, tail):
        self._head = memoryview(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if len(self._head):
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._tail.close()
        super().close()
