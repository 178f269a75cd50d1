"""Shared pieces of the journal tests: a deterministic tick stream and its
reference results, computed by the core's single-threaded analytics."""

from __future__ import annotations

import numpy as np

import mdstream
from mdstream import _testing

SYMBOLS = ["AAA", "BBB", "CCC"]
EMA_ALPHA = 2.0 / 21.0


def tick_stream(n: int, seed: int = 11) -> np.ndarray:
    """n ticks (TICK_DTYPE) of SYMBOLS with event times, the same for a seed."""
    ticks = _testing.simulate_ticks(n, seed, len(SYMBOLS))
    ticks["ts_ns"] = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 1_000_000
    return ticks


def reference_results(ticks: np.ndarray) -> np.ndarray:
    """What an uninterrupted engine computes for these ticks, in order."""
    results, _ = _testing.compute_analytics(ticks, EMA_ALPHA, len(SYMBOLS))
    return results


ANALYTIC_COLUMNS = [c for c in mdstream.RESULT_DTYPE.names
                    if c not in ("seq", "recv_ns", "done_ns")]


def assert_same_analytics(got: np.ndarray, want: np.ndarray) -> None:
    assert len(got) == len(want)
    for col in ANALYTIC_COLUMNS:
        np.testing.assert_allclose(got[col].astype(float), want[col].astype(float),
                                   rtol=1e-12, atol=0, equal_nan=True, err_msg=col)


def publish_ticks(engine: mdstream.Engine, ticks: np.ndarray) -> None:
    """Publish a TICK_DTYPE array through the public API, trades and quotes in order."""
    start = 0
    kinds = ticks["kind"]
    while start < len(ticks):
        stop = start
        while stop < len(ticks) and kinds[stop] == kinds[start]:
            stop += 1
        part = ticks[start:stop]
        names = np.asarray(SYMBOLS, dtype=object)[part["symbol_id"]]
        if kinds[start] == mdstream.TRADE:
            engine.publish_trades(names, part["price"], part["size"], part["ts_ns"])
        else:
            engine.publish_quotes(names, part["bid"], part["ask"], part["bid_size"],
                                  part["ask_size"], part["ts_ns"])
        start = stop


def collect(sub: mdstream.Subscription, n: int, timeout: float = 10.0) -> np.ndarray:
    """Read exactly n results from a subscription (fails on a timeout)."""
    parts, got = [], 0
    while got < n:
        batch = sub.next_batch(timeout=timeout)
        assert batch is not None, f"timed out after {got} of {n} results"
        parts.append(batch.rows)
        got += len(batch)
    rows = np.concatenate(parts) if parts else np.zeros(0, mdstream.RESULT_DTYPE)
    assert len(rows) == n, f"got {len(rows)} results, expected {n}"
    return rows
