"""Timestamps of recorded data: epoch numbers in s/ms/us/ns and ISO 8601 text, to ns since the epoch.

Every converter here is vectorised (NumPy, or pandas' C ISO 8601 parser) and
returns the nanoseconds together with a mask of the values it could read, so
the caller can name the rows it could not.
"""

from __future__ import annotations

import datetime

import numpy as np

from mdstream.errors import InvalidArgumentError

__all__ = ["TIME_UNITS", "EPOCH_UNITS", "check_time_unit", "epoch_unit_of", "epoch_unit_band",
           "epoch_to_ns", "iso_to_ns", "fmt_ns"]

#: Nanoseconds per unit of an epoch number.
EPOCH_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}

#: What ``time_unit`` accepts: an epoch unit, "iso" (ISO 8601 text) or "auto".
TIME_UNITS = ("auto", "s", "ms", "us", "ns", "iso")

_ALIASES = {"sec": "s", "secs": "s", "seconds": "s", "millis": "ms", "milliseconds": "ms",
            "micros": "us", "microseconds": "us", "µs": "us", "nanos": "ns", "nanoseconds": "ns",
            "iso8601": "iso", "iso-8601": "iso"}

# Epoch numbers of a given unit for dates from 1973 to 5138 fall in disjoint
# bands of magnitude: seconds below 1e11, ms below 1e14, us below 1e17, ns above.
_BAND_UPPER = {"s": 1e11, "ms": 1e14, "us": 1e17, "ns": float("inf")}
_BAND_LOWER = {"s": 0.0, "ms": 1e11, "us": 1e14, "ns": 1e17}

_INT64_MAX = np.iinfo(np.int64).max


def check_time_unit(unit: str | None) -> str:
    """The canonical name of a time unit ("auto" for None); InvalidArgumentError if unknown."""
    if unit is None:
        return "auto"
    u = str(unit).strip().lower()
    u = _ALIASES.get(u, u)
    if u not in TIME_UNITS:
        raise InvalidArgumentError(
            f"unknown time unit {unit!r}: choose one of {', '.join(TIME_UNITS)} "
            "(s/ms/us/ns: numbers since the Unix epoch; iso: ISO 8601 text; auto: decided per file)")
    return u


def epoch_unit_of(value: float) -> str:
    """The unit an epoch timestamp of this magnitude is in (dates from 1973 to 5138)."""
    v = abs(float(value))
    for unit in ("s", "ms", "us"):
        if v < _BAND_UPPER[unit]:
            return unit
    return "ns"


def epoch_unit_band(values: np.ndarray, unit: str) -> np.ndarray:
    """True where a value's magnitude matches ``unit`` (used when the unit was
    auto-detected, to catch a row written in another unit)."""
    v = np.abs(values.astype(np.float64, copy=False))
    if unit == "s":
        return v < _BAND_UPPER["s"]
    return (v >= _BAND_LOWER[unit]) & (v < _BAND_UPPER[unit])


def epoch_to_ns(values: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers to int64 ns since the epoch, and a mask of the valid ones.

    Integers convert exactly. Fractions (float input) are rounded to the
    microsecond for s, ms and us: a float64 cannot resolve finer at today's
    epoch values, so finer digits would be noise. Missing (NaN), negative
    (before 1970) and out-of-range (after 2262) values are invalid.
    """
    mult = EPOCH_UNITS[unit]
    if values.dtype.kind in "iu":
        v = values.astype(np.int64, copy=False)
        ok = (v >= 0) & (v <= _INT64_MAX // mult)
        ns = np.where(ok, v, 0) * mult
        return ns, ok
    v = values.astype(np.float64, copy=False)
    limit = _INT64_MAX / mult * 0.999999
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v >= 0) & (v <= limit)
    safe = np.where(ok, v, 0.0)
    if unit == "ns":
        ns = np.rint(safe).astype(np.int64)
    else:
        ns = np.rint(safe * (mult // 1000)).astype(np.int64) * 1000
    return ns, ok


def iso_to_ns(text) -> tuple[np.ndarray, np.ndarray]:
    """ISO 8601 strings (a pandas Series or array of str) to int64 ns since the
    epoch, and a mask of the valid ones.

    Accepts a ``T`` or a space between date and time, any fraction of a
    second, and offsets (``Z``, ``+00:00``, ``-05:00``: converted to UTC);
    times without an offset are taken as UTC. Dates before 1970 or after 2262
    are invalid.
    """
    import pandas as pd

    parsed = pd.to_datetime(pd.Series(text, copy=False), format="ISO8601", utc=True,
                            errors="coerce")
    raw = parsed.to_numpy(dtype=f"datetime64[{parsed.dt.unit}]").view(np.int64)
    mult = int(np.timedelta64(1, parsed.dt.unit) // np.timedelta64(1, "ns"))
    ok = (raw != np.iinfo(np.int64).min) & (raw >= 0) & (raw <= _INT64_MAX // mult)
    ns = np.where(ok, raw, 0) * mult
    return ns, ok


def fmt_ns(ns: int) -> str:
    """ns since the epoch as ISO 8601 UTC with nanoseconds (for messages)."""
    secs, rem = divmod(int(ns), 1_000_000_000)
    t = datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{rem:09d}Z"
