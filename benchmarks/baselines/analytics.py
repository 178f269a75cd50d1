"""Per-symbol analytics in plain Python: the same numbers as mdstream's core.

A trade adds to the symbol's session volume, notional (for the VWAP), trade
count, high and low, updates an exponential moving average of the price and
a running (Welford) variance of the log returns between consecutive trades.
A quote replaces the symbol's current bid and ask. Every tick yields one
Result with the tick and its symbol's analytics right after it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

TRADE = 0
QUOTE = 1


class Tick(NamedTuple):
    seq: int
    ts_ns: int          # event time, ns since the epoch
    symbol_id: int
    kind: int           # TRADE or QUOTE
    price: float
    size: float
    bid: float
    ask: float
    bid_size: float
    ask_size: float


class Result(NamedTuple):
    seq: int
    ts_ns: int
    symbol_id: int
    kind: int
    price: float        # trades: the trade price; quotes: the mid
    size: float
    value: float        # price x size
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    volume: float
    vwap: float
    high: float
    low: float
    ema: float
    volatility: float
    mid: float
    spread: float
    trade_count: int


class SymbolAnalytics:
    """The running state of one symbol."""

    __slots__ = ("volume", "notional", "trade_count", "high", "low", "ema", "last_price",
                 "ret_count", "ret_mean", "ret_m2", "bid", "ask", "bid_size", "ask_size")

    def __init__(self):
        self.volume = 0.0
        self.notional = 0.0
        self.trade_count = 0
        self.high = -math.inf
        self.low = math.inf
        self.ema = math.nan
        self.last_price = math.nan
        self.ret_count = 0
        self.ret_mean = 0.0
        self.ret_m2 = 0.0
        self.bid = self.ask = self.bid_size = self.ask_size = math.nan

    def update(self, t: Tick, ema_alpha: float) -> Result:
        if t.kind == TRADE:
            price = t.price
            self.volume += t.size
            self.notional += price * t.size
            self.trade_count += 1
            if price > self.high:
                self.high = price
            if price < self.low:
                self.low = price
            if self.trade_count == 1:
                self.ema = price
            else:
                self.ema += ema_alpha * (price - self.ema)
            if self.last_price > 0 and price > 0:
                ret = math.log(price / self.last_price)
                self.ret_count += 1
                delta = ret - self.ret_mean
                self.ret_mean += delta / self.ret_count
                self.ret_m2 += delta * (ret - self.ret_mean)
            self.last_price = price
            size = t.size
            value = price * size
        else:
            self.bid, self.ask = t.bid, t.ask
            self.bid_size, self.ask_size = t.bid_size, t.ask_size
            price = (t.bid + t.ask) * 0.5
            size = value = 0.0
        traded = self.trade_count > 0
        return Result(
            t.seq, t.ts_ns, t.symbol_id, t.kind, price, size, value,
            self.bid, self.ask, self.bid_size, self.ask_size,
            self.volume,
            self.notional / self.volume if self.volume > 0 else math.nan,
            self.high if traded else math.nan,
            self.low if traded else math.nan,
            self.ema,
            math.sqrt(self.ret_m2 / (self.ret_count - 1)) if self.ret_count > 1 else 0.0,
            (self.bid + self.ask) * 0.5,
            self.ask - self.bid,
            self.trade_count,
        )


class Analytics:
    """Analytics of every symbol: ``update(tick) -> Result``."""

    def __init__(self, ema_alpha: float = 2.0 / 21.0):
        self.ema_alpha = ema_alpha
        self.symbols: dict[int, SymbolAnalytics] = {}

    def update(self, tick: Tick) -> Result:
        state = self.symbols.get(tick.symbol_id)
        if state is None:
            state = self.symbols[tick.symbol_id] = SymbolAnalytics()
        return state.update(tick, self.ema_alpha)
