"""Checks of a chunk's columns (the checked read mode): numbers, sides,
late rows, and the messages that name what is wrong with a value."""

from __future__ import annotations

import datetime
import re

import numpy as np

__all__ = ["SIDES", "text_to_numbers", "late_problem", "numbers", "sides", "tokenizer_problem",
           "sniff_delimiter", "fmt_ns"]

#: Side values a trades file may hold (compared case-insensitively).
SIDES = frozenset({"buy", "sell", "b", "s", "unknown"})
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")


def text_to_numbers(col, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from a text column (the checked mode only), and a mask of the
    readable ones. Integers stay exact int64 unless the chunk also holds fractions."""
    n = len(col)
    ints = np.zeros(n, dtype=np.int64)
    floats = np.full(n, np.nan)
    is_int = np.zeros(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    for i, value in enumerate(col.to_numpy(dtype=object)):
        if missing[i]:
            continue
        text = str(value).strip()
        if _INT_RE.match(text):
            v = int(text)
            if -(1 << 63) <= v < (1 << 63):
                ints[i] = v
                is_int[i] = ok[i] = True
            continue
        try:
            f = float(text)
        except ValueError:
            continue
        if np.isfinite(f):
            floats[i] = f
            ok[i] = True
    if (ok & ~is_int).any():
        return np.where(is_int, ints.astype(np.float64), floats), ok
    return ints, ok


def late_problem(ts: int, latest: int) -> str:
    return (f"timestamp {fmt_ns(ts)} is earlier than an earlier row's {fmt_ns(latest)} "
            "(out of order, and out_of_order='reject')")


def numbers(col, fld: str, name: str, positive: bool):
    """float64 values, bad mask and problem(i) for a price or size column."""
    import pandas as pd

    missing = col.isna().to_numpy()
    if col.dtype.kind in "iuf":
        vals = col.to_numpy(dtype=np.float64)
        unreadable = np.zeros(len(col), dtype=bool)
    else:
        vals = pd.to_numeric(col.astype(object).where(~missing, None), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
        unreadable = ~missing & np.isnan(vals)
    with np.errstate(invalid="ignore"):
        if positive:
            out_of_range = ~missing & ~unreadable & ~(vals > 0)
        else:
            out_of_range = ~missing & ~unreadable & ~(vals >= 0)
        out_of_range |= ~missing & ~unreadable & ~np.isfinite(vals)
    bad = missing | unreadable | out_of_range

    def problem(i: int) -> str:
        if missing[i]:
            return f"missing {fld} (column '{name}')"
        if unreadable[i]:
            return f"bad number {str(col.iloc[i])!r} for the {fld} (column '{name}')"
        v = vals[i]
        if not np.isfinite(v):
            return f"the {fld} must be a finite number, got {str(col.iloc[i])!r} (column '{name}')"
        return (f"{'non-positive' if positive else 'negative'} {fld} {v:g} (column '{name}'): "
                f"{'prices must be > 0' if positive else 'sizes must be >= 0'}")

    return vals, bad, problem


def sides(col, name: str):
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [str(c).strip().lower() for c in col.cat.categories]
        ok_cat = np.append(np.array([c in SIDES for c in cats], dtype=bool), True)
        bad = ~ok_cat[col.cat.codes.to_numpy()]
    else:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        ok_u = np.append(np.array([str(u).strip().lower() in SIDES for u in uniques], dtype=bool), True)
        bad = ~ok_u[codes]

    def problem(i: int) -> str:
        return f"bad side {str(col.iloc[i])!r} (column '{name}'): expected buy or sell"

    return bad, problem


def tokenizer_problem(e: Exception, n_header: int) -> str:
    msg = str(e)
    m = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", msg)
    if m:
        return f"too many fields: {m.group(2)}, the header has {n_header}"
    m = re.search(r"C error: (.*)", msg)
    return f"cannot parse the row: {(m.group(1) if m else msg).strip()}"


def sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def fmt_ns(ns: int) -> str:
    secs, rem = divmod(int(ns), 1_000_000_000)
    t = datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{rem:09d}Z"
