"""Timestamps of recorded data: epoch s/ms/us/ns and ISO 8601, against Python's datetime."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.timestamps import (
    check_time_unit,
    epoch_to_ns,
    epoch_unit_band,
    epoch_unit_of,
    iso_to_ns,
)

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def ref_ns(t: dt.datetime) -> int:
    """ns since the epoch by Python's datetime arithmetic (exact, microsecond resolution)."""
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000


def test_units_by_magnitude_of_real_recordings():
    # tardis: us; the same instant in the other units
    us = 1582329602111000
    assert epoch_unit_of(us) == "us"
    assert epoch_unit_of(us // 1000) == "ms"
    assert epoch_unit_of(us // 1_000_000) == "s"
    assert epoch_unit_of(us * 1000) == "ns"
    # the bands hold from 1973 (1e8 s) to far beyond 2262
    assert epoch_unit_of(1e8) == "s" and epoch_unit_of(1e11 - 1) == "s"
    assert epoch_unit_of(1e11) == "ms"


def test_epoch_integers_are_exact():
    ns = 1582329602111000123
    for unit, value in (("ns", ns), ("us", ns // 1000), ("ms", ns // 10**6), ("s", ns // 10**9)):
        out, ok = epoch_to_ns(np.array([value], dtype=np.int64), unit)
        assert ok.all()
        mult = {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9}[unit]
        assert int(out[0]) == value * mult


def test_epoch_fractions_round_to_the_microsecond():
    out, ok = epoch_to_ns(np.array([1582329602.111, 1582329602.1234567]), "s")
    assert ok.all()
    assert out.tolist() == [1582329602111000000, 1582329602123457000]
    out, _ = epoch_to_ns(np.array([1582329602111.5]), "ms")
    assert out.tolist() == [1582329602111500000]


def test_epoch_invalid_values():
    out, ok = epoch_to_ns(np.array([-1, 2**62, 5], dtype=np.int64), "s")
    assert ok.tolist() == [False, False, True]          # before 1970; after 2262
    assert out[2] == 5 * 10**9
    out, ok = epoch_to_ns(np.array([np.nan, np.inf, -0.5, 1.0]), "ms")
    assert ok.tolist() == [False, False, False, True]


def test_band_catches_a_value_in_another_unit():
    vals = np.array([1582329602111000, 1582329602, 1582329602111000000], dtype=np.int64)
    assert epoch_unit_band(vals, "us").tolist() == [True, False, False]
    assert epoch_unit_band(vals, "s").tolist() == [False, True, False]


def test_iso_forms_and_offsets():
    text = pd.Series([
        "2013-01-01 22:00:00.295000+00:00",     # truefx
        "2013-01-01T22:00:00.295Z",
        "2013-01-01T23:00:00.295+01:00",        # same instant, other offset
        "2013-01-01T17:00:00.295-05:00",
        "2013-01-01T22:00:00.295",              # no offset: UTC
        "2013-01-01 22:00:00.295000123+00:00",  # ns digits
    ])
    ns, ok = iso_to_ns(text)
    assert ok.all()
    want = 1357077600295000000
    assert ns.tolist() == [want] * 5 + [want + 123]


def test_iso_bad_values():
    ns, ok = iso_to_ns(pd.Series(["2013-13-01 00:00:00", "not a time", None, "1582329602",
                                  "1969-12-31T23:59:59Z", "2013-01-01"]))
    assert ok.tolist() == [False, False, False, False, False, True]
    assert ns[-1] == 1356998400 * 10**9


def test_time_unit_names():
    assert check_time_unit(None) == "auto"
    assert check_time_unit("Micros") == "us"
    assert check_time_unit("iso8601") == "iso"
    with pytest.raises(InvalidArgumentError, match="unknown time unit 'fortnights'"):
        check_time_unit("fortnights")


_times = st.datetimes(min_value=dt.datetime(1974, 1, 1), max_value=dt.datetime(2200, 1, 1))
_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60)


@given(_times, _offsets)
@example(dt.datetime(2020, 2, 22, 0, 0, 2, 111000), 0)
@example(dt.datetime(2013, 1, 1, 22, 0, 0, 295000), 330)
def test_iso_matches_datetime(naive, offset_min):
    tz = dt.timezone(dt.timedelta(minutes=offset_min))
    t = naive.replace(tzinfo=tz)
    for text in (t.isoformat(), t.isoformat(sep=" "), t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")):
        ns, ok = iso_to_ns(pd.Series([text]))
        assert ok[0], text
        assert int(ns[0]) == ref_ns(t.astimezone(UTC)), text


@given(_times)
def test_epoch_units_match_datetime(naive):
    t = naive.replace(tzinfo=UTC)
    want = ref_ns(t)
    us = want // 1000
    for unit, value in (("us", us), ("ms", us // 1000), ("s", us // 10**6), ("ns", want)):
        assert epoch_unit_of(value) == unit
        ns, ok = epoch_to_ns(np.array([value], dtype=np.int64), unit)
        mult = {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9}[unit]
        assert ok[0] and int(ns[0]) == value * mult
