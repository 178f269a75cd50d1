"""Publishing: Trade and Quote, and the checked tick arrays Engine.publish_* ingest."""

from __future__ import annotations

import time
from typing import Iterable, NamedTuple

import numpy as np

from mdstream import _core, tick_rules
from mdstream.batch import OHLCV, OHLCV_TICK_FIELDS, QUOTE, TRADE
from mdstream.engine.symbols import SymbolTable
from mdstream.errors import InvalidArgumentError

__all__ = ["Trade", "Quote", "trade_ticks", "quote_ticks", "bar_ticks", "tuple_ticks"]


class Trade(NamedTuple):
    """A trade to publish: ``Trade("AAPL", 150.0, 10)``. ts_ns defaults to now."""

    symbol: str | int
    price: float
    size: float
    ts_ns: int | None = None


class Quote(NamedTuple):
    """A best bid/offer update to publish. ts_ns defaults to now."""

    symbol: str | int
    bid: float
    ask: float
    bid_size: float = 0.0
    ask_size: float = 0.0
    ts_ns: int | None = None


def trade_ticks(symbols: SymbolTable, symbol, price, size, ts_ns=None) -> np.ndarray:
    """Trades from arrays (or scalars, broadcast), checked by mdstream.tick_rules:
    finite prices (any sign), finite sizes >= 0."""
    n = _count(symbol, price, size)
    ticks = np.zeros(n, dtype=_core.TICK_DTYPE)
    ticks["symbol_id"] = _symbol_ids(symbols, symbol, n)
    ticks["kind"] = TRADE
    ticks["price"] = _column(price, n, "price")
    ticks["size"] = _column(size, n, "size")
    _check(tick_rules.trade_problems(ticks["price"], ticks["size"]))
    ticks["ts_ns"] = _timestamps(ts_ns, n)
    return ticks


def quote_ticks(symbols: SymbolTable, symbol, bid, ask, bid_size=0.0, ask_size=0.0,
                ts_ns=None) -> np.ndarray:
    """Best bid/offer updates from arrays (or scalars, broadcast), checked by
    mdstream.tick_rules: a side with price NaN or 0 and size 0 is absent
    (stored as NaN / 0); a present side has a finite price and size >= 0."""
    n = _count(symbol, bid, ask, bid_size, ask_size)
    ticks = np.zeros(n, dtype=_core.TICK_DTYPE)
    ticks["symbol_id"] = _symbol_ids(symbols, symbol, n)
    ticks["kind"] = QUOTE
    cols = {f: _column(v, n, f) for f, v in (("bid", bid), ("ask", ask), ("bid_size", bid_size),
                                             ("ask_size", ask_size))}
    _check(tick_rules.quote_problems(cols["bid"], cols["ask"], cols["bid_size"], cols["ask_size"]))
    for f, values in cols.items():
        ticks[f] = values
    ticks["ts_ns"] = _timestamps(ts_ns, n)
    return ticks


def bar_ticks(symbols: SymbolTable, symbol, open_, high, low, close, volume, ts_ns,
              interval_ns) -> np.ndarray:
    """Input bars (kind OHLCV, fields as mdstream.batch.OHLCV_TICK_FIELDS)
    from arrays (or scalars, broadcast), checked by mdstream.tick_rules."""
    if ts_ns is None or interval_ns is None:
        raise InvalidArgumentError("bars need ts_ns (their starts, ns since the epoch) and "
                                   "interval_ns (their length in ns, e.g. 60_000_000_000 for 1 min)")
    n = _count(symbol, open_, high, low, close, volume, ts_ns, interval_ns)
    ticks = np.zeros(n, dtype=_core.TICK_DTYPE)
    ticks["symbol_id"] = _symbol_ids(symbols, symbol, n, "bars")
    ticks["kind"] = OHLCV
    cols = {f: _column(v, n, f, "bars") for f, v in (("open", open_), ("high", high),
                                                     ("low", low), ("close", close),
                                                     ("volume", volume))}
    _check(tick_rules.bar_problems(cols["open"], cols["high"], cols["low"], cols["close"],
                                   cols["volume"]), "bar")
    intervals = _int_column(interval_ns, n, "interval_ns", "bars")
    if (intervals <= 0).any():
        i = int(np.flatnonzero(intervals <= 0)[0])
        raise InvalidArgumentError(f"bar {i}: interval_ns must be > 0, got {int(intervals[i])}")
    for fld, src in OHLCV_TICK_FIELDS.items():
        ticks[fld] = cols[src]
    ticks["interval_ns"] = intervals
    ticks["ts_ns"] = _int_column(ts_ns, n, "ts_ns", "bars")
    return ticks


def tuple_ticks(symbols: SymbolTable, rows: Iterable[Trade | Quote | tuple]) -> np.ndarray:
    """Trade / Quote tuples in order (plain ``(symbol, price, size[, ts_ns])`` are trades)."""
    rows = list(rows)
    n = len(rows)
    arr = np.zeros(n, dtype=_core.TICK_DTYPE)
    now = time.time_ns()
    names = []
    for i, row in enumerate(rows):
        if isinstance(row, Quote):
            names.append(row.symbol)
            r = arr[i]
            r["ts_ns"] = now if row.ts_ns is None else row.ts_ns
            r["kind"] = QUOTE
            r["bid"], r["ask"], r["bid_size"], r["ask_size"] = (
                row.bid, row.ask, row.bid_size, row.ask_size)
        else:
            if not 3 <= len(row) <= 4:
                raise InvalidArgumentError(
                    f"tick {i}: expected (symbol, price, size[, ts_ns]) or a Quote, got {row!r}")
            t = Trade(*row)
            names.append(t.symbol)
            r = arr[i]
            r["ts_ns"] = now if t.ts_ns is None else t.ts_ns
            r["kind"] = TRADE
            r["price"], r["size"] = t.price, t.size
    _check(tick_rules.check_ticks(arr, TRADE, QUOTE))
    if n:
        arr["symbol_id"] = _symbol_ids(symbols, names, n)
    return arr


def _check(problems: list[tick_rules.Problem], what: str = "tick") -> None:
    """InvalidArgumentError naming the first bad tick (or bar) and field, if any."""
    first = tick_rules.first_problem(problems)
    if first is not None:
        raise InvalidArgumentError(f"{what} {first[0]}: {first[1]}")


def _symbol_ids(symbols: SymbolTable, symbol, n: int, what: str = "ticks") -> np.ndarray:
    if isinstance(symbol, (str, int, np.integer)):
        symbol = [symbol]
    arr = np.asarray(symbol)
    if arr.dtype.kind in "iu":
        ids = arr.astype(np.int32)
        bad = ids[(ids < 0) | (ids >= len(symbols))]
        if len(bad):
            symbols.name(int(bad[0]))   # raises UnknownSymbolError
    else:
        uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
        ids = np.asarray(symbols.ids(uniq.tolist()), dtype=np.int32)[inverse]
    if len(ids) == 1 and n > 1:
        ids = np.repeat(ids, n)
    if len(ids) != n:
        raise InvalidArgumentError(f"symbol has {len(ids)} entries but there are {n} {what}")
    return ids


def _count(symbol, *columns) -> int:
    """The number of ticks: the longest of the given columns (scalars count 1)."""
    lengths = [1 if isinstance(symbol, (str, int, np.integer)) else len(symbol)]
    lengths += [np.size(c) for c in columns]
    return max(lengths)


def _column(values, n: int, name: str, what: str = "ticks") -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)   # a copy: the rules may normalise it
    return _sized(arr, n, name, what)


def _sized(arr: np.ndarray, n: int, name: str, what: str) -> np.ndarray:
    """``arr`` with n entries (one value broadcast), else InvalidArgumentError."""
    if arr.size == 1 and n > 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise InvalidArgumentError(f"{name} has {arr.size} entries but there are {n} {what}")
    return arr


def _timestamps(ts_ns, n: int) -> np.ndarray:
    if ts_ns is None:
        return np.full(n, time.time_ns(), dtype=np.int64)
    return _int_column(ts_ns, n, "ts_ns")


def _int_column(values, n: int, name: str, what: str = "ticks") -> np.ndarray:
    """Whole numbers of ns (ints, datetime64, or floats without a fraction), else
    InvalidArgumentError."""
    raw = np.asarray(values).reshape(-1)
    whole = raw.dtype.kind in "iuM" or (raw.dtype.kind == "f" and bool(
        np.all(np.isfinite(raw) & (raw == np.floor(raw)))))
    if not whole:
        raise InvalidArgumentError(f"{name} must be whole numbers of ns, got {values!r}")
    return _sized(raw.astype(np.int64), n, name, what)
