"""Input bars (Engine.publish_bars, DBN ohlcv-* replay): a vendor's finished
OHLCV bars become bar results as given, and change neither the session
analytics nor the bars the engine makes from trades, also across a restart
on the journal."""

from __future__ import annotations

import numpy as np
import pytest

import mdstream
from mdstream.errors import InvalidArgumentError

S = 1_000_000_000
SYMBOLS = ["AAPL", "MSFT"]


def _trades(engine, part):
    for sym, price, size, ts in part:
        engine.publish_trades(sym, price, size, ts_ns=ts)


TRADES = [("AAPL", 10.0, 1, 0), ("MSFT", 20.0, 2, S // 10), ("AAPL", 12.0, 3, S // 2),
          ("AAPL", 11.0, 1, S + S // 5), ("MSFT", 21.0, 1, 2 * S + 1)]


def _with_bars(engine, part, bars):
    """Trades with an input bar before each (both 1 s: the engine's own interval)."""
    for (sym, price, size, ts), bar in zip(part, bars):
        engine.publish_bars(*bar, ts_ns=0, interval_ns=S)
        engine.publish_trades(sym, price, size, ts_ns=ts)


BARS = [("AAPL", 5.0, 9.0, 4.0, 8.0, 1000)] * len(TRADES)


def _run(publish, journal=None):
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2, bars=("1s",), journal=journal)
    sub = engine.subscribe(policy="block")
    with engine:
        publish(engine)
        engine.close_ingest()
        return np.concatenate([b.rows for b in sub])


def _engine_made(rows):
    """Every result but the input bars' (trade_count 0), without seq (shifted by them)."""
    keep = rows[~((rows["kind"] == mdstream.BAR) & (rows["trade_count"] == 0))]
    return {name: keep[name].tobytes() for name in rows.dtype.names      # NaN == NaN here
            if name not in ("seq", "recv_ns", "done_ns")}


def test_an_input_bar_is_a_bar_result_as_given():
    rows = _run(lambda e: e.publish_bars("MSFT", [5.0, 6.0], [6.5, 7.0], [4.5, 5.5],
                                         [6.0, 5.75], [100, 0], ts_ns=[60 * S, 120 * S],
                                         interval_ns=60 * S))
    assert rows["kind"].tolist() == [mdstream.BAR] * 2
    assert rows["symbol_id"].tolist() == [1, 1]
    assert rows["open"].tolist() == [5.0, 6.0] and rows["high"].tolist() == [6.5, 7.0]
    assert rows["low"].tolist() == [4.5, 5.5] and rows["price"].tolist() == [6.0, 5.75]
    assert rows["size"].tolist() == [100, 0] and rows["volume"].tolist() == [100, 0]
    assert rows["ts_ns"].tolist() == [60 * S, 120 * S]
    assert rows["interval_ns"].tolist() == [60 * S] * 2
    assert rows["trade_count"].tolist() == [0, 0]
    assert np.isnan(rows["value"]).all() and np.isnan(rows["vwap"]).all()


def test_input_bars_change_no_analytics_and_no_engine_bar():
    plain = _run(lambda e: _trades(e, TRADES))
    mixed = _run(lambda e: _with_bars(e, TRADES, BARS))
    assert _engine_made(mixed) == _engine_made(plain)
    assert (plain["kind"] == mdstream.BAR).sum() == 4     # the engine's own 1 s bars
    assert ((mixed["kind"] == mdstream.BAR) & (mixed["trade_count"] == 0)).sum() == len(BARS)


@pytest.mark.timeout(60)
def test_a_restart_on_the_journal_replays_input_bars_without_touching_the_engines(tmp_path):
    """An input bar of the engine's own interval, journaled while that bar is
    open, must not close or reset it when the state is rebuilt."""
    want = _run(lambda e: _with_bars(e, TRADES, BARS))
    first = mdstream.Engine(symbols=SYMBOLS, workers=2, bars=("1s",), journal=tmp_path)
    sub = first.subscribe(policy="block")
    first.start()
    _with_bars(first, TRADES[:3], BARS[:3])               # the [0, 1 s) bars are open
    part1 = [sub.next_batch(5.0) for _ in range(1)]
    while sum(len(b) for b in part1) < 6:
        part1.append(sub.next_batch(5.0))
    first.stop()                                          # a stop leaves bars open
    second = mdstream.Engine(symbols=SYMBOLS, workers=2, bars=("1s",), journal=tmp_path)
    sub = second.subscribe(policy="block")
    with second:
        _with_bars(second, TRADES[3:], BARS[3:])
        second.close_ingest()
        part2 = [b.rows for b in sub]
    got = np.concatenate([b.rows for b in part1] + part2)
    assert got["seq"].tolist() == list(range(len(got)))
    assert _engine_made(got) == _engine_made(want)


def test_bad_bars_are_refused_by_name():
    engine = mdstream.Engine(symbols=SYMBOLS)
    with engine:
        with pytest.raises(InvalidArgumentError, match="bar 1: the open 5.0 is above the high "
                                                       "4.0"):
            engine.publish_bars("AAPL", [5, 5], [6, 4], [4, 4], [5, 5], [1, 1], ts_ns=0,
                                interval_ns=S)
        with pytest.raises(InvalidArgumentError, match="bar 0: the volume must be"):
            engine.publish_bars("AAPL", 5, 6, 4, 5, -1, ts_ns=0, interval_ns=S)
        with pytest.raises(InvalidArgumentError, match="interval_ns must be > 0"):
            engine.publish_bars("AAPL", 5, 6, 4, 5, 1, ts_ns=0, interval_ns=0)
        with pytest.raises(InvalidArgumentError, match="bars need ts_ns"):
            engine.publish_bars("AAPL", 5, 6, 4, 5, 1, ts_ns=None, interval_ns=S)
        with pytest.raises(InvalidArgumentError, match="interval_ns must be whole numbers of ns"):
            engine.publish_bars("AAPL", 5, 6, 4, 5, 1, ts_ns=0, interval_ns="1m")
        with pytest.raises(InvalidArgumentError, match="interval_ns must be whole numbers of ns"):
            engine.publish_bars("AAPL", 5, 6, 4, 5, 1, ts_ns=0, interval_ns=1.5)
        with pytest.raises(InvalidArgumentError, match="open has 2 entries but there are 3 bars"):
            engine.publish_bars("AAPL", [5, 5], 6, 4, 5, 1, ts_ns=[0, 1, 2], interval_ns=S)
        assert engine.stats().ticks_in == 0
