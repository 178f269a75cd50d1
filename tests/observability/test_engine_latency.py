"""Latency and counters recorded by a running engine."""

from __future__ import annotations

import time

import pytest

import mdstream


@pytest.mark.timeout(30)
def test_stats_carry_latency_per_stage_and_per_subscription():
    feed = mdstream.SimulatedFeed(symbols=["A", "B"], rate=50_000, seed=1, count=20_000)
    engine = mdstream.Engine(feed=feed)
    sub = engine.subscribe()
    with engine:
        got = sum(len(b) for b in sub)
    st = engine.stats()
    assert got == 20_000
    for stage in ("feed_to_ingest", "ingest_to_processed", "processed_to_sent", "age_at_send"):
        total = st.latency[stage].total
        assert total.count == 20_000, stage
        assert 0 <= total.p50 <= total.p99 <= total.p999 <= total.max, stage
    # Each tick's age at send is at least its time from ingest to processed.
    assert st.latency["age_at_send"].total.max >= st.latency["ingest_to_processed"].total.p50


@pytest.mark.timeout(30)
def test_latency_can_be_switched_off():
    feed = mdstream.SimulatedFeed(rate=0, count=5_000)
    engine = mdstream.Engine(feed=feed, latency=False)
    sub = engine.subscribe()
    with engine:
        assert sum(len(b) for b in sub) == 5_000
    assert all(lat.total.count == 0 for lat in engine.stats().latency.values())
