"""The one set of rules a tick meets, however it arrives.

``Engine.publish_trades``, ``Engine.publish_quotes``, ``Engine.publish`` and
the CSV reader all check their values here, column-wise with NumPy (no Python
call per tick), and report a bad value with the same words: the calls raise
InvalidArgumentError("tick i: <problem>"), the CSV reader a BadRowError naming
the file, the line and "<problem> (column '...')".

Trades
    ``price``: any finite number. Negative prices are real (WTI crude settled
    at -37.63 on 20 April 2020; spreads, power, rates), and so is 0.
    ``size``: a finite number >= 0.
Quotes
    Each side (bid with bid_size, ask with ask_size) is either present or
    absent. A side is *absent* when its price is NaN (a missing cell) or 0
    and its size is NaN (a missing cell) or 0: e.g. a 0.00 bid with 0 size, as
    deep out-of-the-money options are quoted, or empty bid cells. An absent
    side is stored as price NaN and size 0, so the quote's mid and spread are
    NaN (not ask / 2). A present side has a finite price (any sign; a 0 price
    with a size > 0 is a real price of 0) and a finite size >= 0. So NaN with a
    size > 0 is rejected, and infinity is rejected anywhere. Crossed and locked
    quotes are accepted.
Bars (input OHLCV bars: ``Engine.publish_bars``, DBN ``ohlcv-*`` files)
    ``open``, ``high``, ``low``, ``close``: finite numbers (any sign) with
    ``low <= open, close <= high``; ``volume``: a finite number >= 0.
Trade sides (CSV ``side`` column)
    The engine does not use the aggressor side; ``side_codes`` reads the
    common encodings (``SIDE_CODES``) and keeps any other value as unknown (0).
    A trade is never dropped for its side.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Problem", "trade_problems", "quote_problems", "bar_problems", "check_ticks",
           "first_problem",
           "SIDE_CODES", "BUY", "SELL", "UNKNOWN_SIDE", "side_codes"]

BUY, SELL, UNKNOWN_SIDE = 1, -1, 0

#: Aggressor side encodings (compared after strip() and lower()). "A"/"ask" is
#: a sell aggressor (it hit the bid from the ask side) and "B"/"bid" a buy
#: aggressor, as vendors that use A/B/N (Databento, for one) define them.
SIDE_CODES = {
    "buy": BUY, "b": BUY, "bid": BUY, "1": BUY, "+1": BUY, "1.0": BUY, "buyer": BUY,
    "sell": SELL, "s": SELL, "a": SELL, "ask": SELL, "-1": SELL, "-1.0": SELL, "seller": SELL,
    "n": UNKNOWN_SIDE, "none": UNKNOWN_SIDE, "unknown": UNKNOWN_SIDE, "0": UNKNOWN_SIDE,
}


class Problem(NamedTuple):
    """Bad values of one field: which ticks (``mask``) and why (``describe(i)``)."""

    field: str
    mask: np.ndarray
    describe: Callable[[int], str]


def _fmt(v: float) -> str:
    return repr(float(v))


def _not_finite(name: str, values: np.ndarray) -> list[Problem]:
    """A problem for the values that are not finite numbers (none: [])."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return []
    return [Problem(name, bad, lambda i: f"the {name} must be a finite number, got "
                                         f"{_fmt(values[i])}")]


def _negative(name: str, values: np.ndarray) -> list[Problem]:
    """A problem for the values that are not finite numbers >= 0 (none: [])."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(values) & (values >= 0))
    if not bad.any():
        return []
    return [Problem(name, bad, lambda i: f"the {name} must be a finite number >= 0, got "
                                         f"{_fmt(values[i])}")]


def trade_problems(price: np.ndarray, size: np.ndarray) -> list[Problem]:
    """The problems of trade columns (float64 arrays of equal length), price first."""
    return _not_finite("price", price) + _negative("size", size)


def quote_problems(bid: np.ndarray, ask: np.ndarray, bid_size: np.ndarray,
                   ask_size: np.ndarray) -> list[Problem]:
    """The problems of quote columns, bid side first; absent sides are set to
    price NaN and size 0 in place (the arrays must be writable float64)."""
    out = []
    for px_name, sz_name, px, sz in (("bid", "bid_size", bid, bid_size),
                                     ("ask", "ask_size", ask, ask_size)):
        out += _side(px_name, sz_name, px, sz)
    return out


def bar_problems(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                 volume: np.ndarray) -> list[Problem]:
    """The problems of input bar columns (float64 arrays of equal length)."""
    out = []
    prices = {"open": open_, "high": high, "low": low, "close": close}
    for name, px in prices.items():
        out += _not_finite(name, px)
    with np.errstate(invalid="ignore"):
        bad = ~((low <= open_) & (low <= close) & (open_ <= high) & (close <= high))
    for p in out:
        bad &= ~p.mask                      # a non-finite price is its own problem
    if bad.any():
        def which(i: int) -> str:
            for (a, x), (b, y) in ((("low", low), ("open", open_)), (("low", low), ("close", close)),
                                   (("open", open_), ("high", high)),
                                   (("close", close), ("high", high))):
                if not x[i] <= y[i]:
                    return (f"the {a} {_fmt(x[i])} is above the {b} {_fmt(y[i])} (a bar needs "
                            f"low <= open, close <= high)")
            return "a bar needs low <= open, close <= high"     # not reached
        out.append(Problem("bar", bad, which))
    return out + _negative("volume", volume)


def _side(px_name: str, sz_name: str, px: np.ndarray, sz: np.ndarray) -> list[Problem]:
    out = []
    px_nan = np.isnan(px)
    with np.errstate(invalid="ignore"):
        absent = (px_nan | (px == 0)) & (np.isnan(sz) | (sz == 0))
        if absent.any():
            px[absent] = np.nan
            sz[absent] = 0.0
        bad_px = ~absent & ~np.isfinite(px)
        bad_sz = ~absent & ~bad_px & ~(np.isfinite(sz) & (sz >= 0))
    if bad_px.any():
        def px_problem(i: int) -> str:
            if np.isnan(px[i]):
                return (f"the {px_name} is missing (NaN) but the {sz_name} is {_fmt(sz[i])}: "
                        f"a side with a size needs a finite price")
            return f"the {px_name} must be a finite number, got {_fmt(px[i])}"
        out.append(Problem(px_name, bad_px, px_problem))
    if bad_sz.any():
        out.append(Problem(sz_name, bad_sz, lambda i: f"the {sz_name} must be a finite number "
                                                      f">= 0, got {_fmt(sz[i])}"))
    return out


def check_ticks(ticks: np.ndarray, trade_kind: int, quote_kind: int,
                bar_kind: int | None = None) -> list[Problem]:
    """Apply the rules to a TICK_DTYPE array in place (absent quote sides
    become NaN / 0); the problems' masks index ``ticks``. ``bar_kind``: the
    kind of input bars, checked too when given."""
    n = len(ticks)
    out = []
    rules = [(trade_kind, _trade_rows), (quote_kind, _quote_rows)]
    if bar_kind is not None:
        rules.append((bar_kind, _bar_rows))
    for kind, rule in rules:
        rows = np.flatnonzero(ticks["kind"] == kind)
        if len(rows) == 0:
            continue
        for p in rule(ticks, rows):
            mask = np.zeros(n, dtype=bool)
            mask[rows[p.mask]] = True
            where = np.full(n, -1, dtype=np.int64)
            where[rows] = np.arange(len(rows))
            out.append(Problem(p.field, mask, lambda i, d=p.describe, w=where: d(int(w[i]))))  # type: ignore[misc]
    return out


def _trade_rows(ticks: np.ndarray, rows: np.ndarray) -> list[Problem]:
    return trade_problems(ticks["price"][rows], ticks["size"][rows])


def _bar_rows(ticks: np.ndarray, rows: np.ndarray) -> list[Problem]:
    from mdstream.batch import OHLCV_TICK_FIELDS      # where a bar's fields are in a tick

    cols = {bar: ticks[fld][rows] for fld, bar in OHLCV_TICK_FIELDS.items()}
    return bar_problems(cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"])


def _quote_rows(ticks: np.ndarray, rows: np.ndarray) -> list[Problem]:
    cols = {f: ticks[f][rows] for f in ("bid", "ask", "bid_size", "ask_size")}
    problems = quote_problems(cols["bid"], cols["ask"], cols["bid_size"], cols["ask_size"])
    for f, values in cols.items():
        ticks[f][rows] = values
    return problems


def first_problem(problems: list[Problem]) -> tuple[int, str] | None:
    """The first bad tick and its problem (the first field's, in rule order)."""
    best: tuple[int, str] | None = None
    for p in problems:
        i = int(np.argmax(p.mask))
        if best is None or i < best[0]:
            best = (i, p.describe(i))
    return best


def side_codes(values) -> np.ndarray:
    """int8 codes (BUY 1, SELL -1, UNKNOWN_SIDE 0) of side values (a sequence,
    or a pandas Series: categorical ones are mapped per category)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - only the CSV reader has Series
        pd = None
    if pd is not None and isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
    else:
        uniques, codes = np.unique(np.asarray(values, dtype=object).astype(str),
                                   return_inverse=True)
    lut = np.array([SIDE_CODES.get(str(u).strip().lower(), UNKNOWN_SIDE) for u in uniques]
                   + [UNKNOWN_SIDE], dtype=np.int8)
    return lut[np.asarray(codes).reshape(-1)]   # code -1 (missing) picks the last: unknown
