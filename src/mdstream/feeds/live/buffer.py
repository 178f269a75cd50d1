"""TickBuffer: decoded trades and quotes gathered into one TICK_DTYPE array per batch.

A decoder appends one tuple per tick (no NumPy call per tick); ``take()``
turns everything gathered so far into one array, applies the tick rules
(mdstream.tick_rules) column-wise and removes the ticks they refuse, so one
bad number drops that tick only, never the batch it came in.
"""

from __future__ import annotations

import numpy as np

from mdstream import tick_rules
from mdstream._core import TICK_DTYPE
from mdstream.batch import QUOTE, TRADE
from mdstream.feeds.live.stats import FeedCounters

__all__ = ["TickBuffer"]

#: The columns a decoder fills, in the order of its tuples.
_ROW_DTYPE = np.dtype([("kind", "<i4"), ("symbol_id", "<i4"), ("ts_ns", "<i8"),
                       ("price", "<f8"), ("size", "<f8"), ("bid", "<f8"), ("ask", "<f8"),
                       ("bid_size", "<f8"), ("ask_size", "<f8")])
_NAN = float("nan")


class TickBuffer:
    """Ticks decoded since the last ``take()``.

    ``trade(symbol_id, ts_ns, price, size)`` and ``quote(symbol_id, ts_ns,
    bid, ask, bid_size, ask_size)`` append one tick (prices in the venue's
    quote currency, sizes in the base asset, ``ts_ns`` the venue's event time
    in ns since the epoch); ``len(buffer)`` is the count held.
    """

    __slots__ = ("_rows", "_counters")

    def __init__(self, counters: FeedCounters):
        self._rows: list[tuple] = []
        self._counters = counters

    def __len__(self) -> int:
        return len(self._rows)

    def trade(self, symbol_id: int, ts_ns: int, price: float, size: float) -> None:
        self._rows.append((TRADE, symbol_id, ts_ns, price, size, _NAN, _NAN, 0.0, 0.0))

    def quote(self, symbol_id: int, ts_ns: int, bid: float, ask: float, bid_size: float,
              ask_size: float) -> None:
        self._rows.append((QUOTE, symbol_id, ts_ns, _NAN, 0.0, bid, ask, bid_size, ask_size))

    def take(self) -> np.ndarray:
        """The ticks held as one TICK_DTYPE array (emptying the buffer), those
        the tick rules refuse left out and counted as malformed."""
        rows, self._rows = self._rows, []
        if not rows:
            return np.zeros(0, dtype=TICK_DTYPE)
        cols = np.array(rows, dtype=_ROW_DTYPE)
        ticks = np.zeros(len(cols), dtype=TICK_DTYPE)
        for name in _ROW_DTYPE.names:
            ticks[name] = cols[name]
        problems = tick_rules.check_ticks(ticks, TRADE, QUOTE)
        if problems:
            bad = np.zeros(len(ticks), dtype=bool)
            for p in problems:
                first = int(np.flatnonzero(p.mask)[0])
                self._counters.bad_message(f"bad {p.field}", p.describe(first),
                                           count=int((p.mask & ~bad).sum()))
                bad |= p.mask
            ticks = ticks[~bad]
        kinds = ticks["kind"]
        trades = int(np.count_nonzero(kinds == TRADE))
        self._counters.trades += trades
        self._counters.quotes += len(ticks) - trades
        return ticks
