"""The core's row filter (kinds, min_size, min_price, max_price) against plain Python.

Hypothesis builds batches with any kinds, prices and sizes (NaN, infinities,
negative zero included) and any filter; the compiled RowFilter must keep
exactly the rows the reference keeps, in order, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mdstream import RESULT_DTYPE, InvalidArgumentError
from mdstream._core import RowFilter
from mdstream.request import StreamRequest, kind_list

VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 1.0, 10.0, 100.0, 100.5]))
BOUNDS = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=True),
                   st.sampled_from([0.0, 10.0, 100.0]))


def reference(rows, kinds, min_size, min_price, max_price) -> list[int]:
    """Indexes of the rows a subscriber with these filters receives."""
    keep = []
    for i, r in enumerate(rows):
        if kinds is not None and int(r["kind"]) not in kinds:
            continue
        size, price = float(r["size"]), float(r["price"])
        if min_size is not None and not size >= min_size:
            continue
        if min_price is not None and not price >= min_price:
            continue
        if max_price is not None and not price <= max_price:
            continue
        keep.append(i)
    return keep


@st.composite
def batches(draw):
    n = draw(st.integers(0, 60))
    rows = np.zeros(n, dtype=RESULT_DTYPE)
    rows["seq"] = np.arange(n)
    rows["kind"] = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    rows["price"] = draw(st.lists(VALUES, min_size=n, max_size=n))
    rows["size"] = draw(st.lists(VALUES, min_size=n, max_size=n))
    rows["vwap"] = np.arange(n) * 0.5       # another column, carried along
    return rows


@settings(max_examples=300, deadline=None)
@given(batches(), st.one_of(st.none(), st.sets(st.integers(0, 2))), BOUNDS, BOUNDS, BOUNDS)
@example(np.zeros(3, dtype=RESULT_DTYPE), {0}, 0.0, None, None)   # quotes/bars left out
def test_core_filter_matches_the_reference(rows, kinds, min_size, min_price, max_price):
    f = RowFilter(kinds=None if kinds is None else sorted(kinds), min_size=min_size,
                  min_price=min_price, max_price=max_price)
    out = f.apply(rows)
    keep = reference(rows, kinds, min_size, min_price, max_price)
    assert out.dtype == RESULT_DTYPE
    assert out.tobytes() == rows[keep].tobytes()
    if len(keep) == len(rows):
        assert out is rows or len(rows) == 0            # nothing left out: no copy


def test_a_filter_that_keeps_everything_says_so():
    assert RowFilter().passes_all
    assert not RowFilter(kinds=[0]).passes_all and not RowFilter(min_size=0).passes_all


def test_nan_bounds_and_bad_kind_codes_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        RowFilter(min_price=math.nan)
    with pytest.raises(ValueError, match="out of range"):
        RowFilter(kinds=[40])


def test_stream_request_checks_the_filters():
    req = StreamRequest(kinds="trades,bar", min_size=10, min_price=1, max_price=2)
    assert req.kinds == ("trade", "bar") and req.min_size == 10.0 and req.filters_rows
    assert req.at(5).kinds == req.kinds and req.at(5).min_size == 10.0
    assert not StreamRequest().filters_rows
    assert kind_list(["trade", "quote", "bar"]) is None and kind_list("") is None
    for kwargs, words in (({"kinds": ["trade", "tick"]}, "unknown kind 'tick'"),
                          ({"min_size": -1}, "min_size must be >= 0"),
                          ({"min_price": 5, "max_price": 4}, "min_price 5 is above max_price 4"),
                          ({"max_price": math.nan}, "max_price must be a number"),
                          ({"min_size": "big"}, "min_size must be a number")):
        with pytest.raises(InvalidArgumentError, match=words):
            StreamRequest(**kwargs)
