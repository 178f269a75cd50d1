"""Merging files in timestamp order (stable: ties keep the order of the files), against a plain sort."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from mdstream import TICK_DTYPE
from mdstream.feeds.merge import merge_by_time


def stream(times: list[int], tag: int, chunk: int) -> list[np.ndarray]:
    arr = np.zeros(len(times), dtype=TICK_DTYPE)
    arr["recv_ns"] = sorted(times)
    arr["symbol_id"] = tag                  # which stream
    arr["seq"] = np.arange(len(times))      # position in the stream
    return [arr[i:i + chunk] for i in range(0, len(arr), chunk)]


def reference(streams_times: list[list[int]]) -> list[tuple[int, int, int]]:
    """(time, stream, position) in the order a stable merge must give."""
    rows = [(t, s, k) for s, times in enumerate(streams_times) for k, t in enumerate(sorted(times))]
    return sorted(rows)


_times = st.lists(st.integers(min_value=0, max_value=20), max_size=40)


@given(st.lists(_times, min_size=1, max_size=5), st.lists(st.integers(1, 9), min_size=5, max_size=5))
@example([[1, 1, 1], [1, 1], [1]], [1, 2, 1, 1, 1])         # all tied, odd chunking
@example([[0, 5, 5, 5, 9], [5, 5], []], [2, 1, 3, 1, 1])
def test_merge_matches_a_stable_sort(streams_times, chunks):
    streams = [stream(t, s, chunks[s]) for s, t in enumerate(streams_times)]
    out = list(merge_by_time(streams))
    assert all(len(b) for b in out)
    merged = np.concatenate(out) if out else np.zeros(0, TICK_DTYPE)
    got = list(zip(merged["recv_ns"].tolist(), merged["symbol_id"].tolist(), merged["seq"].tolist()))
    assert got == reference(streams_times)


def test_reads_lazily():
    # a stream whose times are all later is not read past its first chunk
    # while the early stream is being merged
    reads = []

    def late():
        for k in range(100):
            reads.append(k)
            arr = np.zeros(1, dtype=TICK_DTYPE)
            arr["recv_ns"] = 1000 + k
            yield arr

    early = stream(list(range(50)), 0, 5)
    merged = merge_by_time([early, late()])
    first = next(merged)
    assert first["recv_ns"].tolist() == [0, 1, 2, 3, 4]
    assert reads == [0]
