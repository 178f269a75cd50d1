"""From a chunk's columns to checked tick arrays: the rules every recorded-data reader shares.

A reader (CSV, Parquet, ...) turns one chunk of its input into columns:
event times in ns, local symbol ids, price and size values with masks of the
missing ones, and its own checks (a timestamp it could not read, an unknown
symbol...). ``checked_ticks`` then applies mdstream.tick_rules, the
out-of-order rule and the bad-row policy, and builds the TICK_DTYPE array, so
each format reports and handles a bad row the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mdstream._core import TICK_DTYPE
from mdstream.batch import OHLCV, OHLCV_TICK_FIELDS, QUOTE, TRADE
from mdstream.feeds.timestamps import fmt_ns
from mdstream.tick_rules import bar_problems, quote_problems, trade_problems

__all__ = ["ReadStats", "BAD_ROW_POLICIES", "OUT_OF_ORDER_RULES", "MAX_EXAMPLES", "checked_ticks",
           "late_problem", "Check"]

BAD_ROW_POLICIES = ("raise", "skip")
OUT_OF_ORDER_RULES = ("keep", "reject")
MAX_EXAMPLES = 10

#: (mask of bad rows, problem(i)): one check of a chunk, in the order a row's
#: problem is reported.
Check = tuple[np.ndarray, Callable[[int], str]]


@dataclass
class ReadStats:
    """What one pass over the files found."""

    rows: int = 0              # ticks produced
    bad_rows: int = 0          # rows skipped as bad (on_bad_row="skip")
    late_rows: int = 0         # rows older than an earlier row of their file
    first_ts: int | None = None    # earliest pacing time (ns)
    last_ts: int | None = None     # latest pacing time (ns)
    examples: list = field(default_factory=list)   # the first BadRowErrors skipped

    def note_bad(self, err, count: int = 1) -> None:
        self.bad_rows += count
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(err)


def late_problem(ts: int, latest: int) -> str:
    return (f"timestamp {fmt_ns(ts)} is earlier than an earlier row's {fmt_ns(latest)} "
            "(out of order, and out_of_order='reject')")


def _rule_problem(describe: Callable[[int], str], column: str | None, missing: np.ndarray,
                  field: str) -> Callable[[int], str]:
    """problem(i) of a tick rule in the input's words: "missing" for an empty
    cell in ``missing``, else the rule's own description; both name the
    column, if the input has one for it."""
    where = f" (column '{column}')" if column else ""

    def problem(i: int) -> str:
        if missing[i]:
            return f"missing {field}{where}"
        return f"{describe(i)}{where}"
    return problem


def checked_ticks(*, trades: bool, ts_ns: np.ndarray, symbol_ids: np.ndarray,
                  values: dict[str, np.ndarray], missing: dict[str, np.ndarray],
                  columns: dict[str, str], checks: list[Check], ignore: np.ndarray | None,
                  state: dict, stats: ReadStats, on_bad_row: str, out_of_order: str,
                  bad_row: Callable[[int, str], Exception],
                  kept: list | None = None, bar_interval_ns: int = 0) -> np.ndarray:
    """The good rows of a chunk as a TICK_DTYPE array, in chunk order.

    ``ts_ns`` (int64 ns since the epoch) and ``symbol_ids`` (int32, ids of
    the reader's SymbolIndex) have one entry per row; ``values`` holds
    float64 price and size columns (trades: price, size; quotes: bid, ask,
    bid_size, ask_size; NaN where missing) with the masks of missing cells in
    ``missing``; ``columns`` maps those fields to the input's column names
    (for messages). ``checks`` are the reader's own; the tick rules are
    added here. ``ignore`` marks rows that are neither ticks nor bad (blank
    lines). ``state`` carries the latest timestamp of the file between
    chunks (the out-of-order rule; see CSVFeed). ``bad_row(i, problem)``
    makes the error naming row i of the chunk; with on_bad_row="raise" the
    first bad row's is raised (nothing of the chunk is returned), with
    "skip" bad rows are dropped and counted in ``stats``. ``kept``, if
    given, receives the chunk positions of the ticks returned (int64).
    ``bar_interval_ns`` > 0: the rows are input bars of that interval
    (values open, high, low, close, volume; ``ts_ns`` their starts), paced
    by their end, when a bar is known.

    Returns a TICK_DTYPE array; ``recv_ns`` of a tick holds its pacing
    time: the latest timestamp of its file so far.
    """
    n = len(ts_ns)
    checks = list(checks)
    bars = bar_interval_ns > 0
    if bars:
        rules = bar_problems(values["open"], values["high"], values["low"], values["close"],
                             values["volume"])
    elif trades:
        rules = trade_problems(values["price"], values["size"])
    else:
        rules = quote_problems(values["bid"], values["ask"], values["bid_size"], values["ask_size"])
    for p in rules:     # an empty size (any bar) cell is "missing"; the rest in the rules' words
        col = columns.get(p.field) if bars else columns.get(p.field, p.field)
        miss = missing[p.field] if (bars and p.field in missing) or p.field.endswith("size") \
            else np.zeros(n, dtype=bool)
        checks.append((p.mask, _rule_problem(p.describe, col, miss, p.field)))
    known = ts_ns + bar_interval_ns if bars else ts_ns      # when a row is known: a bar at its end

    bad = np.zeros(n, dtype=bool)
    for mask, _ in checks:
        bad |= mask
    if ignore is not None:
        bad &= ~ignore
        keep_idx = np.flatnonzero(~bad & ~ignore)
    else:
        keep_idx = np.flatnonzero(~bad)

    # The out-of-order rule: each row is paced at the latest timestamp of
    # its file so far (its own, unless an earlier row's is later).
    ts_keep = known[keep_idx]
    carry = state.get("carry")
    pace = np.maximum.accumulate(ts_keep) if len(ts_keep) else ts_keep
    if carry is not None and len(pace):
        pace = np.maximum(pace, carry)
    latest_before = np.empty_like(pace)
    if len(pace):
        latest_before[0] = carry if carry is not None else ts_keep[0]
        latest_before[1:] = pace[:-1]
    late = ts_keep < latest_before
    if out_of_order == "reject" and late.any():
        late_mask = np.zeros(n, dtype=bool)
        late_mask[keep_idx[late]] = True
        before_row = np.zeros(n, dtype=np.int64)
        before_row[keep_idx] = latest_before
        checks.append((late_mask, lambda i: late_problem(known[i], before_row[i])))
        bad |= late_mask
        # A rejected row is older than the running maximum, so dropping it
        # leaves the pacing times of the others unchanged.
        keep_idx, ts_keep, pace = keep_idx[~late], ts_keep[~late], pace[~late]
        late = np.zeros(len(keep_idx), dtype=bool)

    if bad.any():
        rows = np.flatnonzero(bad)
        if on_bad_row == "raise":
            i = int(rows[0])
            problem = next(p for m, p in checks if m[i])
            raise bad_row(i, problem(i))
        for i in rows[:max(0, MAX_EXAMPLES - len(stats.examples))]:
            problem = next(p for m, p in checks if m[i])
            stats.examples.append(bad_row(int(i), problem(int(i))))
        stats.bad_rows += len(rows)
    stats.late_rows += int(late.sum())

    if kept is not None:
        kept.append(keep_idx)
    m = len(keep_idx)
    ticks = np.zeros(m, dtype=TICK_DTYPE)
    if m == 0:
        return ticks
    ticks["ts_ns"] = ts_ns[keep_idx]
    ticks["recv_ns"] = pace
    ticks["symbol_id"] = symbol_ids[keep_idx]
    if bars:
        ticks["kind"] = OHLCV
        for fld, src in OHLCV_TICK_FIELDS.items():
            ticks[fld] = values[src][keep_idx]
        ticks["interval_ns"] = bar_interval_ns
    elif trades:
        ticks["kind"] = TRADE
        ticks["price"] = values["price"][keep_idx]
        ticks["size"] = values["size"][keep_idx]
    else:
        ticks["kind"] = QUOTE
        for fld in ("bid", "ask", "bid_size", "ask_size"):
            ticks[fld] = values[fld][keep_idx]
    state["carry"] = int(pace[-1])
    stats.rows += m
    stats.first_ts = int(pace[0]) if stats.first_ts is None else min(stats.first_ts, int(pace[0]))
    stats.last_ts = int(pace[-1]) if stats.last_ts is None else max(stats.last_ts, int(pace[-1]))
    return ticks
