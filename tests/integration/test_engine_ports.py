"""The engine's narrow ports: feeds see a TickSink (never the Engine), a
Subscription is a BatchStream, and the engine's counters are public."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mdstream
from mdstream import CSVFeed, Engine, EngineStateError, Feed, SimulatedFeed, StreamEnded
from mdstream._core import TICK_DTYPE
from mdstream.feeds import TickSink
from mdstream.stream import BatchStream

SYMBOLS = ["AAPL", "MSFT", "GOOG"]
TRADES = Path(__file__).resolve().parents[1] / "data" / "real" / "tardis_trades.csv"


def drain(sub, timeout: float = 30.0) -> list:
    batches = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            batch = sub.next_batch(timeout=0.2)
        except StreamEnded:
            return batches
        if batch is not None:
            batches.append(batch)
        assert time.monotonic() < deadline, f"{sub!r} did not end within {timeout} s"


def trades(ids, n: int) -> np.ndarray:
    ticks = np.zeros(n, dtype=TICK_DTYPE)
    ticks["symbol_id"] = np.resize(np.asarray(ids, dtype=np.int32), n)
    ticks["kind"] = mdstream.TRADE
    ticks["price"] = 100.0 + np.arange(n)
    ticks["size"] = 1.0
    ticks["ts_ns"] = time.time_ns()
    return ticks


class ThreadFeed(Feed):
    """A Python feed: publishes n trades from its own thread through its sink."""

    def __init__(self, symbols, n: int, fail: BaseException | None = None, bad: int = 0):
        self.symbols = list(symbols)
        self.n = n
        self.sink = None
        self._fail = fail
        self._error = None
        self._bad = bad
        self._thread = None

    def bind(self, sink: TickSink) -> None:
        self.sink = sink

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._fail is not None:
                raise self._fail
            ids = self.sink.symbol_ids(self.symbols)
            self.sink.ingest(trades(ids, self.n))
        except BaseException as e:  # noqa: BLE001 - the engine raises it
            self._error = e
        finally:
            self.sink.close()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(5)

    @property
    def error(self):
        return self._error

    @property
    def bad_rows(self) -> int:
        return self._bad


class RecordingSink:
    """A TickSink without an engine: what a feed delivers, kept."""

    def __init__(self):
        self.names: list[str] = []
        self.ticks: list[np.ndarray] = []
        self.closed = 0
        self.simulated = None

    def symbol_ids(self, names):
        for name in names:
            if name not in self.names:
                self.names.append(name)
        return [self.names.index(name) for name in names]

    def ingest(self, ticks, *, checked=False):
        self.ticks.append(ticks.copy())
        return len(ticks)

    def close(self):
        self.closed += 1

    def simulate(self, symbol_ids, **params):
        self.simulated = (list(symbol_ids), params)


# --- the TickSink --------------------------------------------------------------------


def test_a_python_feed_publishes_through_its_sink_and_never_sees_the_engine():
    feed = ThreadFeed(SYMBOLS, 50)
    engine = Engine(feed=feed, workers=2)
    assert isinstance(feed.sink, TickSink) and not isinstance(feed.sink, Engine)
    sub = engine.subscribe()
    with engine:
        assert engine.wait(10)
        rows = np.concatenate([b.rows for b in drain(sub)])
    assert len(rows) == 50 and (np.diff(rows["seq"]) == 1).all()
    assert rows["price"].tolist() == (100.0 + np.arange(50)).tolist()
    assert list(engine.symbols) == SYMBOLS


def test_the_sink_takes_ticks_only_while_the_engine_runs_like_publish():
    feed = ThreadFeed(SYMBOLS, 1)
    engine = Engine(feed=feed)
    with pytest.raises(EngineStateError, match="call start"):
        feed.sink.ingest(trades([0], 3))
    with pytest.raises(EngineStateError, match="call start"):
        engine.publish_trades("AAPL", 1.0, 1.0)
    engine.start()
    engine.stop()
    with pytest.raises(EngineStateError, match="stopped"):
        feed.sink.ingest(trades([0], 3))


def test_sink_symbol_ids_declares_new_names_and_keeps_known_ids():
    feed = ThreadFeed(SYMBOLS, 1)
    engine = Engine(feed=feed, symbols=["IBM"])
    assert feed.sink.symbol_ids(["MSFT", "IBM"]) == [1, 3]
    assert feed.sink.symbol_ids(["NEW"]) == [4]
    assert list(engine.symbols) == SYMBOLS + ["IBM", "NEW"]


def test_a_feed_error_is_raised_by_wait_and_stop_and_bad_rows_reach_the_stats():
    feed = ThreadFeed(SYMBOLS, 1, fail=ValueError("bad input"), bad=3)
    engine = Engine(feed=feed)
    engine.start()
    with pytest.raises(ValueError, match="bad input"):
        engine.wait(10)
    assert engine.stats().bad_rows == 3
    with pytest.raises(ValueError, match="bad input"):
        engine.stop()


def test_the_feed_contract_defaults():
    class Quiet(Feed):
        def bind(self, sink):
            pass

    assert Quiet().error is None and Quiet().bad_rows == 0
    engine = Engine(feed=Quiet(), symbols=SYMBOLS)
    engine.start()
    assert engine.stats().bad_rows == 0
    engine.stop()               # no error to raise
    with pytest.raises(NotImplementedError):
        Feed().bind(RecordingSink())


def test_simulated_feed_configures_the_core_through_the_sink():
    sink = RecordingSink()
    SimulatedFeed(symbols=["X", "Y"], rate=0, seed=3, count=10, quote_ratio=0.5).bind(sink)
    ids, params = sink.simulated
    assert ids == [0, 1]
    assert params == dict(seed=3, rate=0.0, count=10, quote_ratio=0.5, volatility=0.0005,
                          spread_bps=2.0)


def test_csv_feed_runs_against_any_sink():
    feed = CSVFeed(TRADES, speed=0)
    sink = RecordingSink()
    feed.bind(sink)
    feed.start()
    assert feed.wait(30)
    ticks = np.concatenate(sink.ticks)
    assert len(ticks) == feed.rows == feed.published
    assert sink.closed == 1 and sink.names == feed.symbols
    with pytest.raises(EngineStateError, match="another engine"):
        feed.bind(RecordingSink())


# --- Subscription as a BatchStream ---------------------------------------------------


def test_a_subscription_is_a_batch_stream():
    engine = Engine(symbols=SYMBOLS)
    sub = engine.subscribe(["MSFT"])
    assert isinstance(sub, BatchStream)
    assert sub.last_seq == -1
    assert sub.read_snapshot() is None and sub.snapshot is None
    assert sub.stats()["received"] == 0
    with engine:
        engine.publish_trades(["AAPL", "MSFT", "GOOG", "MSFT", "AAPL"], 10.0, 1.0)
        engine.close_ingest()
        got = drain(sub)
    assert sum(len(b) for b in got) == 2
    # Filtered-out results count as accounted for: the stream saw seqs 0..4.
    assert sub.last_seq == 4
    st = sub.stats()
    assert st["received"] == 2 and st["missed"] == 0
    assert {k: v for k, v in st.items() if k != "received"} == sub.counters()
    sub.close()
    sub.close()                 # twice is fine
    assert sub.closed


def test_a_snapshot_subscription_reads_its_snapshot_and_continues_after_it():
    engine = Engine(symbols=SYMBOLS)
    with engine:
        engine.publish_trades(["AAPL", "MSFT", "GOOG"], [1.0, 2.0, 3.0], 1.0)
        deadline = time.monotonic() + 10
        while engine.stats().results < 3:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        sub = engine.subscribe(snapshot=True)
        snap = sub.read_snapshot()
        assert snap is sub.snapshot and snap.as_of_seq == 2 and len(snap.results) == 3
        assert sub.last_seq == snap.as_of_seq
        engine.publish_trades("AAPL", 4.0, 1.0)
        engine.close_ingest()
        got = drain(sub)
    assert [int(s) for b in got for s in b.rows["seq"]] == [3]
    assert sub.last_seq == 3 and sub.stats()["received"] == 1
    sub.close()


# --- public counters -----------------------------------------------------------------


def test_symbol_result_counts_follow_the_symbols():
    engine = Engine(symbols=SYMBOLS)
    assert engine.symbol_result_counts() == [0, 0, 0]
    with engine:
        engine.publish_trades(["AAPL", "GOOG", "GOOG"], 1.0, 1.0)
        engine.close_ingest()
        assert engine.wait(10)
        engine.add_symbols(["LATE"])
        assert engine.symbol_result_counts() == [1, 0, 2, 0]


def test_the_sink_applies_the_tick_rules_of_publish():
    """A third-party feed's ticks meet the same rules as Engine.publish_*:
    non-finite values and unknown kinds are refused with nothing taken, an
    absent quote side becomes NaN / 0."""

    class BindOnly(Feed):
        symbols = SYMBOLS

        def bind(self, sink):
            self.sink = sink

    feed = BindOnly()
    engine = Engine(feed=feed)
    sub = engine.subscribe()
    with engine:
        bad = trades([0], 3)
        bad["price"][1] = np.inf
        with pytest.raises(mdstream.InvalidArgumentError, match=r"tick 1: the price must be a finite"):
            feed.sink.ingest(bad)
        bad = trades([0], 2)
        bad["kind"][0] = 7
        with pytest.raises(mdstream.InvalidArgumentError, match=r"tick 0: kind must be trade"):
            feed.sink.ingest(bad)
        bar = np.zeros(2, dtype=mdstream.TICK_DTYPE)   # input bars: low above the open
        bar["kind"], bar["interval_ns"] = mdstream.batch.OHLCV, 60_000_000_000
        for fld, value in (("bid", 10.0), ("ask", 11.0), ("bid_size", 9.0), ("price", 10.5)):
            bar[fld] = value
        bar["bid_size"][1] = 10.5
        with pytest.raises(mdstream.InvalidArgumentError, match=r"tick 1: the low 10.5 is above the open 10.0"):
            feed.sink.ingest(bar)
        assert engine.stats().ticks_in == 0          # nothing of any array was taken
        quote = np.zeros(1, dtype=mdstream.TICK_DTYPE)
        quote["kind"] = mdstream.QUOTE
        quote["bid"], quote["bid_size"] = 0.0, 0.0     # no bid
        quote["ask"], quote["ask_size"] = 10.5, 3.0
        quote["ts_ns"] = time.time_ns()
        assert feed.sink.ingest(quote) == 1
        batch = sub.next_batch(timeout=10)
    assert np.isnan(batch.bid[0]) and batch.bid_size[0] == 0 and batch.ask[0] == 10.5
    assert np.isnan(batch.mid[0]) and np.isnan(batch.spread[0])
