"""TickSink: the one way a feed reaches the engine.

A feed is given a sink in ``Feed.bind(sink)``, never the engine itself, so
a feed depends on these few operations only and the engine is free to
change behind them. The engine implements the sink (``mdstream.engine.sink``);
tests may pass any object with these methods.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = ["TickSink"]


@runtime_checkable
class TickSink(Protocol):
    """Where a feed delivers its ticks.

    - ``symbol_ids(names)``: the engine's id of each name, declaring names it
      does not know yet (ids never change);
    - ``ingest(ticks, checked=False)``: publish an array of ``TICK_DTYPE``
      whose ``symbol_id`` column holds those ids; returns the number taken.
      It goes through the same path as ``Engine.publish_*``: the tick rules
      (mdstream.tick_rules: InvalidArgumentError for a bad tick, nothing of
      the array taken; ``checked=True`` for ticks the feed already checked),
      EngineStateError unless the engine is running, and it waits while the
      engine is saturated (backpressure). The engine fills in ``seq`` and
      ``recv_ns``;
    - ``close()``: end of data: open bars close and, once every result is
      delivered, subscriptions end (a finite feed calls it when it is done);
    - ``simulate(...)``: for the feed implemented in the core
      (SimulatedFeed): configure the core's random-walk generator, which runs
      from the engine's start; call it from ``bind``.
    """

    def symbol_ids(self, names: Sequence[str]) -> list[int]: ...

    def ingest(self, ticks: np.ndarray, *, checked: bool = False) -> int: ...

    def close(self) -> None: ...

    def simulate(self, symbol_ids: Sequence[int], *, seed: int, rate: float, count: int,
                 quote_ratio: float, volatility: float, spread_bps: float) -> None: ...
