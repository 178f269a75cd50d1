"""Merging streams of tick chunks into one stream in timestamp order."""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

__all__ = ["merge_by_time"]


def merge_by_time(streams: Iterable[Iterable[np.ndarray]], key: str = "recv_ns") -> Iterator[np.ndarray]:
    """Merge streams of structured arrays, each sorted by ``key``, into blocks
    sorted by (key, stream position): a stable merge, so rows with the same
    key keep the order of their streams (the first stream's first).

    Streams are read lazily, a chunk at a time; a block is yielded as soon as
    no row still unread from any stream could come before it, so memory stays
    at about one chunk per stream. Empty chunks are skipped.
    """
    iters = [iter(s) for s in streams]
    if len(iters) == 1:
        for chunk in iters[0]:
            if len(chunk):
                yield chunk
        return
    bufs: list = [None] * len(iters)        # an array per stream; None: not filled yet

    def fill(i: int) -> None:
        while bufs[i] is None or len(bufs[i]) == 0:
            nxt = next(iters[i], None)
            if nxt is None:
                bufs[i] = None
                alive.discard(i)
                return
            bufs[i] = nxt

    alive = set(range(len(iters)))
    for i in range(len(iters)):
        fill(i)
    while alive:
        # Every row a stream will still produce has a key >= the last one it
        # buffered. So a buffered row of stream f may go now if it sorts before
        # (last key, index) of every other live stream g.
        last = {g: int(bufs[g][key][-1]) for g in alive}
        parts = []
        for f in sorted(alive):
            buf = bufs[f]
            others = [(last[g], g) for g in alive if g != f]
            if others:
                bound, g = min(others)
                take = int(np.searchsorted(buf[key], bound, side="right" if f < g else "left"))
            else:
                take = len(buf)
            if take:
                parts.append(buf[:take])
                bufs[f] = buf[take:]
        block = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if len(parts) > 1:
            block = block[np.argsort(block[key], kind="stable")]
        yield block
        for f in list(alive):
            if len(bufs[f]) == 0:
                fill(f)
