"""A plain-Python reference of mdstream's per-symbol analytics.

This module restates, in the simplest Python we could write, what the compiled
core computes for every tick (``src/mdstream/core/analytics.pxi``). It exists
for two reasons:

* the property tests run the same generated ticks through the core and through
  this reference and require the same numbers (to floating-point tolerance);
* the benchmarks use it as the pure-Python baseline the core is measured
  against.

It is written from the specification, not translated from the Cython code:

Trades
    ``value = price * size``; cumulative ``volume`` and ``trade_count``;
    session ``vwap = notional / volume`` (NaN while the volume is 0); session
    ``high`` / ``low`` of trade prices (NaN before the first trade); ``ema`` of
    trade prices (the first trade's price, then ``ema += alpha * (price - ema)``);
    ``volatility``: the sample standard deviation (n - 1) of the log returns
    between consecutive trades, kept with Welford's online algorithm (0 while
    fewer than two returns are known). Prices may be negative or 0
    (``mdstream.tick_rules``): a log return is defined only between two prices
    > 0, so a return across a sign change, from or to 0, or between two
    negative prices is skipped (not folded into the estimate); the volatility
    is never NaN. A trade's result carries the symbol's current quote (bid,
    ask and their sizes; NaN before the first quote).
Quotes
    The quote replaces the symbol's current quote; the result's ``price`` is
    the mid, its ``size`` and ``value`` are 0. An absent side (no bid or no
    ask) has price NaN and size 0, so the mid and spread are NaN.
Every result
    carries ``mid`` and ``spread`` of the symbol's current quote (NaN before the
    first quote, or while a side is absent) and the symbol's running volume,
    vwap, high, low, ema, volatility and trade count after the tick.

Input bars (kind 3, OHLCV: ``Engine.publish_bars``)
    become a bar result (kind 2) with the bar's open, high, low, close (as
    ``price``) and volume (as ``size`` and ``volume``), ``value`` and ``vwap``
    NaN and ``trade_count`` 0; they change no state, and carry the symbol's
    current quote, ``mid``, ``spread``, ``ema`` and ``volatility``.

The bars the engine makes itself from trades (kind 2 at ingest) are not
modelled here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TRADE", "QUOTE", "BAR", "OHLCV", "SymbolReference", "ReferenceAnalytics", "reference_results",
           "ANALYTICS_FIELDS"]

TRADE = 0
QUOTE = 1
BAR = 2
OHLCV = 3
NAN = float("nan")

#: Result fields the analytics decide (everything but the timestamps and seq).
ANALYTICS_FIELDS = (
    "symbol_id", "kind", "price", "size", "bid", "ask", "bid_size", "ask_size",
    "value", "volume", "vwap", "high", "low", "ema", "volatility", "mid", "spread",
    "trade_count",
)


@dataclass
class SymbolReference:
    """The running state of one symbol."""

    volume: float = 0.0
    notional: float = 0.0
    trade_count: int = 0
    high: float = NAN
    low: float = NAN
    ema: float = NAN
    last_price: float = NAN
    # Welford's running mean and sum of squared deviations of the log returns.
    n_returns: int = 0
    mean_return: float = 0.0
    m2_returns: float = 0.0
    bid: float = NAN
    ask: float = NAN
    bid_size: float = NAN
    ask_size: float = NAN
    returns: list[float] = field(default_factory=list, repr=False)

    @property
    def vwap(self) -> float:
        return self.notional / self.volume if self.volume > 0 else NAN

    @property
    def volatility(self) -> float:
        if self.n_returns < 2:
            return 0.0
        return math.sqrt(self.m2_returns / (self.n_returns - 1))

    def add_trade(self, price: float, size: float, alpha: float, keep_returns: bool = False) -> None:
        self.volume += size
        self.notional += price * size
        self.trade_count += 1
        if self.trade_count == 1:
            self.high = self.low = self.ema = price
        else:
            self.high = max(self.high, price)
            self.low = min(self.low, price)
            self.ema = self.ema + alpha * (price - self.ema)
        if self.last_price > 0 and price > 0:      # else the return is undefined: skipped
            r = math.log(price) - math.log(self.last_price)   # no overflow of the ratio
            self.n_returns += 1
            delta = r - self.mean_return
            self.mean_return += delta / self.n_returns
            self.m2_returns += delta * (r - self.mean_return)
            if keep_returns:
                self.returns.append(r)
        self.last_price = price

    def set_quote(self, bid: float, ask: float, bid_size: float, ask_size: float) -> None:
        self.bid, self.ask, self.bid_size, self.ask_size = bid, ask, bid_size, ask_size


class ReferenceAnalytics:
    """The per-symbol analytics of the core, one tick at a time, in Python.

    Parameters
    ----------
    ema_alpha:
        Weight of a new price in the EMA, in (0, 1].
    keep_returns:
        Also keep every log return per symbol (``state(sid).returns``), so a
        test can check the running volatility against a two-pass formula.
    """

    def __init__(self, ema_alpha: float, keep_returns: bool = False):
        if not 0.0 < ema_alpha <= 1.0:
            raise ValueError(f"ema_alpha must be in (0, 1], got {ema_alpha}")
        self.ema_alpha = float(ema_alpha)
        self.keep_returns = keep_returns
        self._symbols: dict[int, SymbolReference] = {}

    def state(self, symbol_id: int) -> SymbolReference:
        """The running state of a symbol (created empty on first use)."""
        s = self._symbols.get(symbol_id)
        if s is None:
            s = self._symbols[symbol_id] = SymbolReference()
        return s

    def update(self, symbol_id: int, kind: int, price: float = NAN, size: float = 0.0,
               bid: float = NAN, ask: float = NAN, bid_size: float = NAN,
               ask_size: float = NAN) -> dict[str, Any]:
        """Fold one tick into its symbol's state; returns the tick's result fields.
        An input bar (OHLCV) passes its close as ``price``, volume as ``size``,
        and open, high, low as ``bid``, ``ask``, ``bid_size``."""
        s = self.state(symbol_id)
        if kind == OHLCV:
            return {**self._session(symbol_id, BAR, price, size, NAN), "volume": size,
                    "vwap": NAN, "high": ask, "low": bid_size, "trade_count": 0}
        if kind == TRADE:
            s.add_trade(price, size, self.ema_alpha, self.keep_returns)
            value = price * size
            out_price, out_size = price, size
        elif kind == QUOTE:
            s.set_quote(bid, ask, bid_size, ask_size)
            value = 0.0
            out_price, out_size = (bid + ask) / 2.0, 0.0
        else:
            raise ValueError(f"kind must be {TRADE} (trade), {QUOTE} (quote) or {OHLCV} (input "
                             f"bar), got {kind}")
        return self._session(symbol_id, kind, out_price, out_size, value)

    def _session(self, symbol_id: int, kind: int, price: float, size: float,
                 value: float) -> dict[str, Any]:
        """A result's fields: the given ones and the symbol's state."""
        s = self.state(symbol_id)
        return {
            "symbol_id": symbol_id,
            "kind": kind,
            "price": price,
            "size": size,
            "bid": s.bid,
            "ask": s.ask,
            "bid_size": s.bid_size,
            "ask_size": s.ask_size,
            "value": value,
            "volume": s.volume,
            "vwap": s.vwap,
            "high": s.high,
            "low": s.low,
            "ema": s.ema,
            "volatility": s.volatility,
            "mid": (s.bid + s.ask) / 2.0,
            "spread": s.ask - s.bid,
            "trade_count": s.trade_count,
        }


def _result_dtype() -> np.dtype:
    # The compiled core's layout when it is there (so arrays compare field by
    # field); the reference itself needs nothing from the core.
    try:
        from mdstream._core import RESULT_DTYPE
        return RESULT_DTYPE
    except ImportError:  # pragma: no cover - the core is always built in practice
        return np.dtype([(f, "<i8" if f in ("seq", "ts_ns", "recv_ns", "trade_count", "done_ns")
                          else "<i4" if f in ("symbol_id", "kind") else "<f8")
                         for f in ("seq", "ts_ns", "recv_ns") + ANALYTICS_FIELDS + ("done_ns",)])


def reference_results(ticks: np.ndarray, ema_alpha: float,
                      analytics: ReferenceAnalytics | None = None) -> np.ndarray:
    """Run the reference over ticks (an array with the TICK_DTYPE fields) in order.

    Returns an array of the results with the RESULT_DTYPE fields: seq, ts_ns
    and recv_ns are copied from the ticks, done_ns is 0; open and interval_ns
    are an input bar's (NaN and 0 for trades and quotes). Pass ``analytics``
    to continue from (and keep) a given state.
    """
    ra = analytics if analytics is not None else ReferenceAnalytics(ema_alpha)
    dtype = _result_dtype()
    n = len(ticks)
    out = np.zeros(n, dtype=dtype)
    inputs = ("symbol_id", "kind", "price", "size", "bid", "ask", "bid_size", "ask_size")
    columns: dict[str, list[Any]] = {name: [] for name in ANALYTICS_FIELDS}
    for tick in zip(*(ticks[name].tolist() for name in inputs)):
        for name, value in ra.update(*tick).items():
            columns[name].append(value)
    for name in ("seq", "ts_ns", "recv_ns"):
        out[name] = ticks[name]
    for name, values in columns.items():
        out[name] = values
    if "open" in (dtype.names or ()):
        bars = ticks["kind"] == OHLCV
        out["open"] = np.where(bars, ticks["bid"], NAN)
        out["interval_ns"] = np.where(bars, ticks["interval_ns"], 0)
    return out
