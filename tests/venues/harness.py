"""Running an Engine with a live feed against a local VenueServer, for the tests."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import numpy as np

from mdstream import Engine

from venues.server import VenueServer


@contextmanager
def running_venue(name: str):
    """A VenueServer for venue ``name`` on a free loopback port, stopped at the end."""
    server = VenueServer(name).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def live_engine(feed, **engine_options):
    """An Engine running ``feed``, with a subscription opened before the start;
    yields (engine, subscription)."""
    engine = Engine(feed=feed, workers=1, **engine_options)
    sub = engine.subscribe(policy="block")
    engine.start()
    try:
        yield engine, sub
    finally:
        sub.close()
        engine.stop()
        left = [t.name for t in threading.enumerate()
                if t.name.startswith("mdstream-") and t.name.endswith("-feed")]
        assert not left, f"feed threads still running after engine.stop(): {left}"


def collect(sub, count: int, timeout: float = 15.0):
    """Rows of the first ``count`` results as (symbol, kind, price, size, bid, ask,
    bid_size, ask_size, ts_ns) tuples, kind as "trade"/"quote"; AssertionError
    if they do not come within timeout seconds."""
    rows = []
    deadline = time.monotonic() + timeout
    while len(rows) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {len(rows)} of {count} results in {timeout} s: {rows}")
        batch = sub.next_batch(timeout=min(left, 0.5))
        if batch is None:
            continue
        names = batch.symbol_names()
        for i in range(len(batch)):
            kind = {0: "trade", 1: "quote"}.get(int(batch.kind[i]), "bar")
            rows.append((names[i], kind, float(batch.price[i]), float(batch.size[i]),
                         float(batch.bid[i]), float(batch.ask[i]), float(batch.bid_size[i]),
                         float(batch.ask_size[i]), int(batch.ts_ns[i])))
    return rows


def wait_for(predicate, timeout: float = 15.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.01)


def nan_equal(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b
