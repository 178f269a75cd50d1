"""The paper venue inside a real engine: determinism, journal restarts
(kill -9 included), and order requests kept away from market-data readers."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mdstream
from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.journal import JournalReader
from mdstream.venue import Account, ExecType, PaperVenue, RejectReason

from venue_input import SAME, SYMBOLS, feed, read_all, sequence
from venue_writer import VENUE

HERE = Path(__file__).parent
TOTAL = 3000


def run(items, workers: int, **engine_args) -> tuple[mdstream.Engine, np.ndarray]:
    engine = mdstream.Engine(symbols=SYMBOLS, workers=workers, venue=VENUE, **engine_args)
    engine.start()
    sub = engine.execution_reports()
    feed(engine, items)
    engine.close_ingest()
    reports = read_all(sub)
    engine.stop()
    return engine, reports


def same(a: np.ndarray, b: np.ndarray) -> None:
    assert len(a) == len(b)
    for name in SAME:
        if name == "recv_ns":
            continue        # each run's own ingest clock
        x, y = a[name], b[name]
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert np.array_equal(x, y), name


@pytest.fixture(scope="module")
def uninterrupted():
    return run(sequence(TOTAL), workers=2)[1]


def test_the_input_trades_and_the_reports_are_gap_free(uninterrupted):
    reports = uninterrupted
    assert np.array_equal(reports["seq"], np.arange(len(reports)))
    kinds = set(reports["exec_type"].tolist())
    assert {ExecType.NEW, ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED} <= kinds
    assert np.all(np.diff(reports["cause_seq"]) >= 0)     # in input order


def test_the_same_input_gives_the_same_reports_on_one_worker_or_two(uninterrupted):
    same(run(sequence(TOTAL), workers=1)[1], uninterrupted)


def test_a_restart_on_the_journal_restores_orders_positions_and_reports(tmp_path, uninterrupted):
    items = sequence(TOTAL)
    first = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=VENUE, journal=tmp_path / "j")
    first.start()
    feed(first, items[:TOTAL // 2])
    first.stop()
    orders_before, positions_before = first.orders(), first.positions()
    assert orders_before and positions_before
    second = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=VENUE, journal=tmp_path / "j")
    assert second.recovery.next_seq == TOTAL // 2
    second.start()
    assert repr(second.orders()) == repr(orders_before)         # (NaN prices compare by repr)
    assert repr(second.positions()) == repr(positions_before)
    sub = second.execution_reports(from_seq=0)
    feed(second, items[TOTAL // 2:])
    second.close_ingest()
    same(read_all(sub), uninterrupted)
    second.stop()


def test_kill_9_then_restart_gives_every_report_exactly_once(tmp_path, uninterrupted):
    directory = tmp_path / "j"
    proc = subprocess.Popen([sys.executable, str(HERE / "venue_writer.py"), str(directory),
                             str(TOTAL)], stdout=subprocess.PIPE, text=True, cwd=str(HERE))
    try:
        assert proc.stdout.readline().startswith("ready")
        time.sleep(0.5)         # part of the way through (the whole input takes seconds)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    items = sequence(TOTAL)
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=VENUE, journal=directory)
    start = engine.recovery.next_seq
    assert 0 < start <= TOTAL
    engine.start()
    sub = engine.execution_reports(from_seq=0)
    feed(engine, items[start:])
    engine.close_ingest()
    same(read_all(sub), uninterrupted)
    engine.stop()


def test_market_data_readers_never_see_order_requests(tmp_path):
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=VENUE, journal=tmp_path / "j")
    engine.start()
    market = engine.subscribe()
    one = engine.subscribe("AAA")
    engine.publish_quotes("AAA", 99.0, 101.0, 5, 5)
    engine.submit_order("alice", 1, "AAA", "buy", 1, price=100.0)
    engine.publish_trades("AAA", 100.0, 2)
    engine.submit_order("alice", 2, "AAA", "sell", 1, ord_type="market")
    engine.close_ingest()
    assert [s for b in market for s in b.seq.tolist()] == [0, 2]
    assert [s for b in one for s in b.seq.tolist()] == [0, 2]
    assert engine.snapshot("AAA").results.seq.tolist() == [2]
    stats = engine.stats()
    assert stats.ticks_in == 2
    assert engine.symbol_result_counts() == [2, 0, 0]
    engine.stop()
    read = JournalReader(tmp_path / "j").read()
    assert read.seq.tolist() == [0, 2]
    assert JournalReader(tmp_path / "j").last_seq == 3


def test_requests_are_checked_before_they_enter_the_engine():
    engine = mdstream.Engine(symbols=SYMBOLS, venue=PaperVenue(accounts={"a": Account()}))
    engine.start()
    bad = [
        dict(account="nobody", cl_ord_id=1, symbol="AAA", side="buy", quantity=1, price=1.0),
        dict(account="a", cl_ord_id=0, symbol="AAA", side="buy", quantity=1, price=1.0),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="hold", quantity=1, price=1.0),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="buy", quantity=0, price=1.0),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="buy", quantity=1),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="buy", quantity=1, ord_type="market",
             price=1.0),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="buy", quantity=1, ord_type="stop"),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="buy", quantity=1, price=1.0,
             tif="gtd"),
        dict(account="a", cl_ord_id=1, symbol="AAA", side="buy", quantity=1, price=float("nan")),
    ]
    for kwargs in bad:
        with pytest.raises(InvalidArgumentError):
            engine.submit_order(**kwargs)
    with pytest.raises(mdstream.UnknownSymbolError):
        engine.submit_order("a", 1, "ZZZ", "buy", 1, price=1.0)
    assert engine.stats().results == 0       # nothing was sequenced
    engine.stop()
    with pytest.raises(EngineStateError, match="no paper venue"):
        mdstream.Engine(symbols=SYMBOLS).submit_order("a", 1, "AAA", "buy", 1, price=1.0)


def test_a_refusal_is_a_report_with_its_reason():
    venue = PaperVenue(accounts={"a": Account(max_order_qty=5, max_open_orders=1)})
    engine = mdstream.Engine(symbols=SYMBOLS, venue=venue)
    engine.start()
    sub = engine.execution_reports(account="a")
    engine.submit_order("a", 1, "AAA", "buy", 1, price=100.0)          # no market yet
    engine.publish_quotes("AAA", 99.0, 101.0, 5, 5)
    engine.submit_order("a", 2, "AAA", "buy", 6, price=100.0)          # too big
    engine.submit_order("a", 3, "AAA", "buy", 1, price=100.0)          # rests
    engine.submit_order("a", 4, "AAA", "buy", 1, price=100.0)          # one open already
    engine.submit_order("a", 3, "AAA", "buy", 1, price=100.0)          # duplicate id
    engine.close_ingest()
    reports = [r for batch in sub for r in batch.rows()]
    assert [(r.cl_ord_id, r.exec_type, r.reject_reason) for r in reports] == [
        (1, ExecType.REJECTED, RejectReason.NO_MARKET),
        (2, ExecType.REJECTED, RejectReason.MAX_ORDER_QTY),
        (3, ExecType.NEW, RejectReason.NONE),
        (4, ExecType.REJECTED, RejectReason.MAX_OPEN_ORDERS),
        (3, ExecType.REJECTED, RejectReason.DUPLICATE_CL_ORD_ID),
    ]
    assert reports[1].text.startswith("the quantity is above")
    engine.stop()


def test_stop_returns_when_a_block_report_reader_has_stopped_reading():
    engine = mdstream.Engine(symbols=SYMBOLS, ring_size=64, venue=VENUE, drain_timeout=0.5)
    engine.start()
    stalled = engine.execution_reports()        # 'block', never read
    engine.publish_quotes("AAA", 99.0, 101.0, 1000, 1000)
    for cl in range(1, 200):                    # far more reports than its ring of 64
        engine.submit_order("alice", cl, "AAA", "buy", 1, ord_type="market")
    engine.stop()                               # returns (drain_timeout), never hangs
    seqs = []
    with pytest.raises(EOFError):
        while True:
            seqs += stalled.read(1.0).seq.tolist()
    assert seqs == list(range(len(seqs))) and len(seqs) >= 64    # what its ring held


def test_a_report_reader_past_its_block_deadline_is_dropped_and_trading_goes_on():
    engine = mdstream.Engine(symbols=SYMBOLS, ring_size=64, venue=VENUE)
    engine.start()
    stalled = engine.execution_reports(block_deadline=0.2)
    live = engine.execution_reports(policy="skip")
    engine.publish_quotes("AAA", 99.0, 101.0, 1000, 1000)
    for cl in range(1, 200):
        engine.submit_order("alice", cl, "AAA", "buy", 1, ord_type="market")
    engine.close_ingest()
    assert engine.wait(30)
    assert engine.positions("alice")[0].quantity == 199
    with pytest.raises(mdstream.SlowConsumerError):
        while True:
            stalled.read(1.0)
    live.close()
    engine.stop()


def test_the_venue_is_counted_in_stats_and_in_prometheus():
    from mdstream.observe.metrics import EngineCollector
    engine = mdstream.Engine(symbols=SYMBOLS, venue=VENUE)
    engine.start()
    engine.publish_quotes("AAA", 99.0, 101.0, 5, 5)
    engine.submit_order("alice", 1, "AAA", "buy", 1, price=101.0)     # NEW, FILL
    engine.submit_order("alice", 2, "AAA", "buy", 1, price=90.0)      # NEW, rests
    engine.close_ingest()
    assert engine.wait(30)
    stats = engine.stats()
    assert (stats.ticks_in, stats.order_requests) == (1, 2)
    assert (stats.venue.requests, stats.venue.reports, stats.venue.open_orders) == (2, 3, 1)
    families = {m.name: m.samples[0].value for m in EngineCollector(engine).collect()
                if m.name.startswith("mdstream_venue")}
    assert families == {"mdstream_venue_requests": 2, "mdstream_venue_reports": 3,
                        "mdstream_venue_open_orders": 1}
    engine.stop()
    assert mdstream.Engine(symbols=SYMBOLS).stats().venue is None


def test_reports_older_than_the_ring_are_made_again_from_the_journal(tmp_path, uninterrupted):
    items = sequence(TOTAL)
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=VENUE, ring_size=64,
                             journal=tmp_path / "j")
    engine.start()
    feed(engine, items[:TOTAL // 2])
    while engine.stats().venue.reports < 200:
        time.sleep(0.01)
    late = engine.execution_reports(from_seq=3)        # long gone from a ring of 64
    caught_up = []
    reader = threading.Thread(target=lambda: caught_up.append(read_all(late)))
    reader.start()
    feed(engine, items[TOTAL // 2:])                   # while it catches up, more come
    engine.close_ingest()
    reader.join(60)
    same(caught_up[0], uninterrupted[3:])              # then live: no gap, no duplicate
    engine.stop()
    without = mdstream.Engine(symbols=SYMBOLS, venue=VENUE, ring_size=64)
    without.start()
    without.publish_quotes("AAA", 99.0, 101.0, 1000, 1000)
    for cl in range(1, 100):
        without.submit_order("alice", cl, "AAA", "buy", 1, ord_type="market")
    without.close_ingest()
    assert without.wait(30)
    with pytest.raises(mdstream.OutOfRangeError):
        without.execution_reports(from_seq=0)
    without.stop()


def test_decimal_sizes_leave_no_crumb_open():
    # 0.05 - 0.032 - 0.018 is 3.5e-18 in binary floating point, not 0: the last fill takes it.
    engine = mdstream.Engine(symbols=SYMBOLS, venue=VENUE)
    engine.start()
    sub = engine.execution_reports()
    engine.publish_trades("AAA", 100.0, 1.0)
    engine.submit_order("alice", 1, "AAA", "buy", 0.05, ord_type="market")  # rests: no quote
    engine.publish_trades("AAA", 100.0, 0.032)
    engine.publish_trades("AAA", 100.0, 0.018)
    engine.close_ingest()
    reports = [r for b in sub for r in b.rows()]
    assert [(r.exec_type, r.last_qty) for r in reports] == [
        (ExecType.NEW, 0.0), (ExecType.PARTIAL_FILL, 0.032), (ExecType.FILL, 0.05 - 0.032)]
    assert reports[-1].leaves_qty == 0.0 and engine.orders() == []
    engine.stop()
