"""What the file-feed tests (CSV, Parquet, DBN) share: a feed replayed through an engine."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mdstream import Engine


def replay(feed, **engine_kw):
    """Every result of a replay, in sequence order (None for none), and the engine's symbols."""
    engine = Engine(feed=feed, workers=2, **engine_kw)
    sub = engine.subscribe()
    with engine:
        rows = [b.rows.copy() for b in sub.batches(timeout=30)]
    rows = np.concatenate(rows) if rows else None
    assert rows is None or (np.diff(rows["seq"]) == 1).all()
    return rows, list(engine.symbols)


def first_results(feed, n: int) -> np.ndarray:
    """The first results (at least n, whole batches) of an endless (looping) replay."""
    engine = Engine(feed=feed, workers=2)
    sub = engine.subscribe()
    got = []
    with engine:
        for batch in sub.batches(timeout=30):
            got.append(batch.rows.copy())
            if sum(map(len, got)) >= n:
                break
    return np.concatenate(got)


def resampled_bars(df: pd.DataFrame, rule: str, size: str) -> pd.DataFrame:
    """pandas' bars of the trades in ``df`` (indexed by time, with ``price``
    and the ``size`` column), interval ``rule``, empty intervals left out: the
    reference the engine's bars are checked against."""
    g = df.resample(rule)
    want = pd.DataFrame({"open": g.price.first(), "high": g.price.max(), "low": g.price.min(),
                         "close": g.price.last(), "volume": g[size].sum(),
                         "count": g.price.count(),
                         "notional": (df.price * df[size]).resample(rule).sum()})
    return want[want["count"] > 0]
