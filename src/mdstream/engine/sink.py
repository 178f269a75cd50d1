"""EngineSink: the engine's side of the TickSink a feed is bound to."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from mdstream.batch import OHLCV, QUOTE, TRADE
from mdstream.engine.symbols import SymbolTable
from mdstream.errors import InvalidArgumentError
from mdstream.tick_rules import check_ticks, first_problem

__all__ = ["EngineSink"]


class EngineSink:
    """What a feed may do to one engine (see mdstream.feeds.sink.TickSink).

    ``ingest`` is the engine's own publishing path (its state check, then the
    core), the one ``Engine.publish_*`` end in; the feed never sees the
    engine or its core.
    """

    def __init__(self, core, symbol_table: SymbolTable, ingest: Callable[[np.ndarray], int]):
        self._core = core
        self._symbols = symbol_table
        self._ingest = ingest

    def symbol_ids(self, names: Sequence[str]) -> list[int]:
        """The id of each name, declaring the ones the engine does not know yet."""
        return self._symbols.add(names)

    def ingest(self, ticks: np.ndarray, *, checked: bool = False) -> int:
        """Publish TICK_DTYPE ticks; returns the count taken (waits under
        backpressure). Unless ``checked`` (a feed that applied
        mdstream.tick_rules itself, as the CSV reader does), the ticks meet
        the same rules as Engine.publish_* here: absent quote sides become
        NaN / 0 in place, and a bad tick raises InvalidArgumentError
        ("tick i: ...") before any of the array is taken."""
        if not checked:        # (a tick of another kind is refused by the core's ingest)
            problem = first_problem(check_ticks(ticks, TRADE, QUOTE, OHLCV))
            if problem is not None:
                raise InvalidArgumentError(f"tick {problem[0]}: {problem[1]}")
        return self._ingest(ticks)

    def close(self) -> None:
        """End of data: open bars close, and subscriptions end after the last result."""
        self._core.close_ingest()

    def simulate(self, symbol_ids: Sequence[int], *, seed: int, rate: float, count: int,
                 quote_ratio: float, volatility: float, spread_bps: float) -> None:
        """Configure the core's random-walk generator (before the engine starts);
        with a count, it closes the ingest after its last tick."""
        self._core.set_sim_feed(list(symbol_ids), seed, rate, count, quote_ratio, volatility,
                                spread_bps, True)
