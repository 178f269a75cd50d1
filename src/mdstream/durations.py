"""Parsing of durations such as "500ms", "1s", "1m", "1h" (bar intervals, options)."""

from __future__ import annotations

import re

from mdstream.errors import InvalidArgumentError

__all__ = ["parse_duration_ns", "format_duration_ns"]

_UNITS_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "min": 60_000_000_000, "h": 3_600_000_000_000}
MAX_DURATION_NS = 366 * 86_400 * 1_000_000_000
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|m|h)\s*$")


def parse_duration_ns(value: str | int | float) -> int:
    """A duration in ns from "250ms", "1s", "5m", "1h" or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ns = int(round(value * 1e9))
    else:
        m = _PATTERN.match(str(value))
        if not m:
            raise InvalidArgumentError(
                f"cannot read {value!r} as a duration: use a number and a unit, e.g. 500ms, 1s, 1m, 1h")
        ns = int(round(float(m.group(1)) * _UNITS_NS[m.group(2)]))
    if ns <= 0:
        raise InvalidArgumentError(f"a duration must be > 0, got {value!r}")
    if ns > MAX_DURATION_NS:
        raise InvalidArgumentError(f"a duration must be at most 366 days, got {value!r}")
    return ns


def format_duration_ns(ns: int) -> str:
    """The shortest exact form: 60_000_000_000 -> "1m"."""
    for unit in ("h", "m", "s", "ms", "us"):
        if ns % _UNITS_NS[unit] == 0:
            return f"{ns // _UNITS_NS[unit]}{unit}"
    return f"{ns}ns"
