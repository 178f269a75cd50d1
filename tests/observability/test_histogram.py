"""The core's latency histogram against NumPy percentiles, within its resolution."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings, strategies as st

from mdstream import LatencyHistogram

values = st.lists(st.integers(0, 2**36), min_size=1, max_size=400)


def nearest_rank(samples: np.ndarray, q: float) -> int:
    return int(np.percentile(samples, q, method="inverted_cdf"))


@settings(max_examples=200, deadline=None)
@given(values, st.sampled_from([0, 1, 10, 50, 90, 99, 99.9, 100]))
@example([0], 50)
@example([255, 256, 257], 50)
@example([2**36 - 1, 2**36], 100)
def test_percentile_is_within_the_bucket_of_the_true_value(samples, q):
    h = LatencyHistogram()
    h.record_many(np.asarray(samples, dtype=np.int64))
    true = nearest_rank(np.asarray(samples), q)
    low, high = LatencyHistogram.bucket_bounds(true)
    got = h.percentile(q)
    assert low <= got <= max(high, true)
    assert got <= max(samples)
    assert h.count == len(samples) and h.max == max(samples)


@settings(max_examples=100, deadline=None)
@given(values)
def test_resolution_is_about_one_percent(samples):
    for v in samples:
        low, high = LatencyHistogram.bucket_bounds(v)
        assert low <= v <= high
        assert high - low <= max(1, v // 100), (v, low, high)


@settings(max_examples=100, deadline=None)
@given(values, values)
def test_merge_equals_recording_everything_in_one(a, b):
    ha, hb, hall = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    ha.record_many(a)
    hb.record_many(b)
    hall.record_many(a + b)
    ha.merge(hb)
    assert ha.count == hall.count and ha.max == hall.max
    for q in (1, 25, 50, 75, 99, 99.9, 100):
        assert ha.percentile(q) == hall.percentile(q)


def test_empty_histogram_is_zero_and_bad_percentile_is_an_error():
    h = LatencyHistogram()
    assert h.count == 0 and h.percentile(99) == 0
    import pytest
    import mdstream
    with pytest.raises(mdstream.InvalidArgumentError):
        h.percentile(101)


def test_lognormal_latencies_match_numpy_closely():
    samples = np.random.default_rng(0).lognormal(10, 1.5, 200_000).astype(np.int64)
    h = LatencyHistogram()
    h.record_many(samples)
    for q in (50, 90, 99, 99.9):
        true = nearest_rank(samples, q)
        assert abs(h.percentile(q) - true) <= true * 0.01 + 1
