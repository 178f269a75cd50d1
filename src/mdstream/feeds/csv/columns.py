"""Reading a chunk's columns: numbers (their rules: mdstream.tick_rules), late
rows, and the messages that name what is wrong with a value."""

from __future__ import annotations

import re

import numpy as np

__all__ = ["text_to_numbers", "parse_numbers", "read_numbers", "tokenizer_problem",
           "sniff_delimiter"]

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


def parse_numbers(col):
    """float64 values (writable; NaN where missing or unreadable), the mask of
    missing cells and the mask of unreadable ones, for a price or size column.
    Whether a value is allowed is for mdstream.tick_rules to say."""
    import pandas as pd

    missing = col.isna().to_numpy()
    if col.dtype.kind in "iuf":
        vals = col.to_numpy(dtype=np.float64)
        unreadable = np.zeros(len(col), dtype=bool)
    else:
        vals = pd.to_numeric(col.astype(object).where(~missing, None), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
        unreadable = ~missing & np.isnan(vals)
        if unreadable.any():      # "nan" text is a missing value, as the C parser reads it
            idx = np.flatnonzero(unreadable)
            nan_text = np.array([str(v).strip().lower() in ("nan", "+nan", "-nan")
                                 for v in col.iloc[idx]], dtype=bool)
            missing = missing.copy()
            missing[idx[nan_text]] = True
            unreadable[idx[nan_text]] = False
    if not vals.flags.writeable:
        vals = vals.copy()
    return vals, missing, unreadable


def read_numbers(frame, cols: dict, trades: bool, checks: list) -> tuple[dict, dict]:
    """A chunk's price and size columns as float64 (NaN: missing or unreadable)
    and their missing masks; unreadable cells, and missing trade values, go to
    ``checks`` as (mask, problem(i)). ``cols`` maps fields to column names."""
    fields = ("price", "size") if trades else ("bid", "ask", "bid_size", "ask_size")
    values: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    n = len(frame)
    for fld in fields:
        col = cols.get(fld)
        if col is None:
            values[fld], missing[fld] = np.zeros(n), np.zeros(n, dtype=bool)
            continue
        vals, miss, unreadable = parse_numbers(frame[col])
        values[fld], missing[fld] = vals, miss
        if unreadable.any():
            checks.append((unreadable, lambda i, c=col, f=fld, s=frame[col]:
                           f"bad number {str(s.iloc[i])!r} for the {f} (column '{c}')"))
        if trades and miss.any():
            checks.append((miss, lambda i, c=col, f=fld: f"missing {f} (column '{c}')"))
    return values, missing


def tokenizer_problem(e: Exception, n_header: int) -> str:
    msg = str(e)
    m = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", msg)
    if m:
        return f"too many fields: {m.group(2)}, the header has {n_header}"
    m = re.search(r"C error: (.*)", msg)
    return f"cannot parse the row: {(m.group(1) if m else msg).strip()}"


def sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else ","
