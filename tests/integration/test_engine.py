"""The in-process engine end to end: feeds and publish() in, subscriptions out.

Results are checked against mdstream.reference run over the same ticks in
sequence order. Anything that could hang runs with join timeouts, and the
things that would take the whole test process down with them if they went
wrong (a swallowed signal, a deadlock that holds the GIL) run in a child
interpreter.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import mdstream
from mdstream import Engine, Quote, SimulatedFeed, StreamEnded, Trade
from mdstream._core import TICK_DTYPE
from mdstream._testing import simulate_ticks
from mdstream.reference import ANALYTICS_FIELDS, QUOTE, TRADE, reference_results

SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]
ALPHA = 2.0 / 21.0            # ema_span=20, the default


# --- helpers -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def close_subscriptions(monkeypatch):
    """Close every subscription a test opened when it ends.

    Tidy in any case, and it keeps a subscription from being freed later by
    the cycle collector (threads' exception tracebacks make such cycles),
    which test_unclosed_subscription_collected_in_a_cycle checks separately.
    """
    opened = []
    subscribe = Engine.subscribe

    def tracking_subscribe(self, *args, **kwargs):
        sub = subscribe(self, *args, **kwargs)
        opened.append(sub)
        return sub

    monkeypatch.setattr(Engine, "subscribe", tracking_subscribe)
    yield
    for sub in opened:
        sub.close()


def drain(sub, timeout: float = 60.0, **kw) -> list:
    """Every batch until the stream ends (fails if it has not ended after timeout s)."""
    batches = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            batch = sub.next_batch(timeout=0.5, **kw)
        except StreamEnded:
            return batches
        if batch is not None:
            batches.append(batch)
        elif time.monotonic() > deadline:
            raise AssertionError(f"{sub!r} did not end within {timeout} s")


def rows(batches) -> np.ndarray:
    if not batches:
        return np.zeros(0, dtype=mdstream.RESULT_DTYPE)
    return np.concatenate([b.rows for b in batches])


def assert_same_rows(a: np.ndarray, b: np.ndarray):
    """The same results, byte for byte (NaN included)."""
    assert a.dtype == b.dtype and len(a) == len(b)
    assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), "the results differ"


def assert_matches_reference(results: np.ndarray, ticks: np.ndarray):
    """results (in seq order) are what the reference computes over ticks."""
    want = reference_results(ticks, ALPHA)
    assert len(results) == len(want)
    for name in ANALYTICS_FIELDS:
        a, b = results[name], want[name]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True,
                                       err_msg=f"field {name!r}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"field {name!r}")


def random_ticks(n: int, n_symbols: int, seed: int) -> np.ndarray:
    """Trades and quotes of n_symbols symbols (ids 0..n_symbols-1), seq = position."""
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, dtype=TICK_DTYPE)
    ticks["seq"] = np.arange(n)
    ticks["ts_ns"] = 1_700_000_000_000_000_000 + rng.integers(0, 10**9, n)
    sid = rng.integers(0, n_symbols, n).astype(np.int32)
    ticks["symbol_id"] = sid
    kind = np.where(rng.random(n) < 0.3, QUOTE, TRADE).astype(np.int32)
    ticks["kind"] = kind
    level = np.round(np.exp(rng.normal(0, 0.001, n).cumsum()) * 100.0, 2)
    trade, quote = kind == TRADE, kind == QUOTE
    ticks["price"] = np.where(trade, level, 0.0)
    ticks["size"] = np.where(trade, rng.integers(1, 500, n), 0)
    half = rng.integers(1, 5, n) / 100.0
    ticks["bid"] = np.where(quote, level - half, 0.0)
    ticks["ask"] = np.where(quote, level + half, 0.0)
    ticks["bid_size"] = np.where(quote, 100 * rng.integers(1, 10, n), 0)
    ticks["ask_size"] = np.where(quote, 100 * rng.integers(1, 10, n), 0)
    return ticks


def publish_in_order(engine: Engine, ticks: np.ndarray, names) -> int:
    """Publish ticks in their order: each run of trades or quotes in one call."""
    names = np.asarray(names)
    kinds = ticks["kind"]
    starts = np.flatnonzero(np.r_[True, kinds[1:] != kinds[:-1]])
    ends = np.r_[starts[1:], len(ticks)]
    taken = 0
    for a, b in zip(starts, ends):
        t = ticks[a:b]
        sym = names[t["symbol_id"]]
        if kinds[a] == TRADE:
            taken += engine.publish_trades(sym, t["price"], t["size"], ts_ns=t["ts_ns"])
        else:
            taken += engine.publish_quotes(sym, t["bid"], t["ask"], t["bid_size"],
                                           t["ask_size"], ts_ns=t["ts_ns"])
    return taken


class Collector(threading.Thread):
    """Reads a subscription on its own thread until the stream ends."""

    def __init__(self, sub, **kw):
        super().__init__(daemon=True)
        self.sub, self.kw = sub, kw
        self.batches, self.error = [], None

    def run(self):
        try:
            self.batches = drain(self.sub, **self.kw)
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.error = exc

    def finish(self, timeout=60.0) -> np.ndarray:
        self.join(timeout)
        assert not self.is_alive(), f"{self.sub!r} never ended"
        if self.error is not None:
            raise self.error
        return rows(self.batches)


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def run_in_thread(fn, *args):
    box = {}

    def body():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, box


# --- every tick exactly once, in order, with the right analytics ----------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_simulated_feed_every_tick_once_with_reference_analytics(workers):
    n, seed, symbols = 20_000, 11 + workers, SYMBOLS[:4]
    feed = SimulatedFeed(symbols=symbols, rate=0, seed=seed, count=n)
    engine = Engine(feed=feed, workers=workers, symbols=["TSLA"])
    every = engine.subscribe(policy="block", max_ticks_per_frame=1000)
    one = engine.subscribe(symbols=["MSFT"], policy="block")
    two = engine.subscribe(symbols=["AAPL", "TSLA", "GOOG"], policy="block")
    subs = [Collector(s) for s in (every, one, two)]
    # Subscribed before start(), so every result from seq 0 is delivered.
    with engine:
        for c in subs:
            c.start()
        got_all, got_one, got_two = (c.finish() for c in subs)
        assert engine.wait(30)
        stats = engine.stats()

    np.testing.assert_array_equal(got_all["seq"], np.arange(n))     # once, gap-free, in order
    ticks = simulate_ticks(n, seed, len(symbols))                     # what the feed generated
    np.testing.assert_array_equal(got_all["symbol_id"], ticks["symbol_id"])
    assert_matches_reference(got_all, ticks)

    assert (got_one["symbol_id"] == symbols.index("MSFT")).all()
    assert_same_rows(got_one, got_all[got_all["symbol_id"] == 1])
    assert set(np.unique(got_two["symbol_id"])) <= {0, 2}     # TSLA is not in the feed
    assert_same_rows(got_two, got_all[np.isin(got_all["symbol_id"], [0, 2])])

    assert stats.finished
    assert stats.ticks_in == stats.processed == stats.results == n
    per_worker = np.bincount(ticks["symbol_id"] % workers, minlength=workers)
    assert stats.processed_per_worker == per_worker.tolist()
    assert stats.dropped == 0 and stats.disconnected == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_published_ticks_every_tick_once_with_reference_analytics(workers):
    n = 6_000
    ticks = random_ticks(n, len(SYMBOLS), seed=workers)
    engine = Engine(workers=workers, symbols=SYMBOLS)
    every = engine.subscribe()
    filtered = engine.subscribe(symbols=["GOOG", "AAPL"], max_ticks_per_frame=7)
    with engine:
        collectors = [Collector(every), Collector(filtered)]
        for c in collectors:
            c.start()
        assert publish_in_order(engine, ticks, SYMBOLS) == n
        engine.close_ingest()          # no more ticks: the subscriptions end after the last
        got, got_filtered = (c.finish() for c in collectors)

    np.testing.assert_array_equal(got["seq"], np.arange(n))
    np.testing.assert_array_equal(got["ts_ns"], ticks["ts_ns"])
    assert_matches_reference(got, ticks)
    assert (got["recv_ns"] > 0).all() and (got["done_ns"] > 0).all()
    keep = np.isin(got["symbol_id"], [0, 2])
    assert_same_rows(got_filtered, got[keep])
    # Per symbol, results come in the order their ticks were published.
    for sid in range(len(SYMBOLS)):
        mine = got[got["symbol_id"] == sid]
        assert (np.diff(mine["seq"]) > 0).all()
        assert (np.diff(mine["trade_count"]) >= 0).all()


@pytest.mark.timeout(60)
def test_publish_accepts_trade_quote_and_tuple_rows():
    engine = Engine(symbols=["AAPL", "MSFT"], workers=2)
    sub = engine.subscribe()
    with engine:
        n = engine.publish([
            Trade("AAPL", 100.0, 10, ts_ns=5),
            Quote("MSFT", 50.0, 50.2, 300, 400, ts_ns=6),
            ("AAPL", 101.0, 30),
            Quote("AAPL", 100.5, 100.7),
            ("MSFT", 50.1, 2, 7),
        ])
        assert n == 5
        engine.close_ingest()
        got = rows(drain(sub))
    np.testing.assert_array_equal(got["seq"], np.arange(5))
    assert got["kind"].tolist() == [TRADE, QUOTE, TRADE, QUOTE, TRADE]
    assert got["symbol_id"].tolist() == [0, 1, 0, 0, 1]
    assert got["ts_ns"][[0, 1, 4]].tolist() == [5, 6, 7]
    np.testing.assert_allclose(got["value"], [1000.0, 0.0, 3030.0, 0.0, 100.2])
    np.testing.assert_allclose(got["vwap"][2], (1000.0 + 3030.0) / 40)
    np.testing.assert_allclose(got["price"][3], 100.6)        # a quote's price is its mid
    np.testing.assert_allclose(got["bid"][4], 50.0)           # a trade carries the quote
    assert np.isnan(got["bid"][0])                            # ... NaN before the first one


@pytest.mark.timeout(60)
def test_batches_are_columnar_and_named():
    feed = SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=3, count=500)
    engine = Engine(feed=feed)
    sub = engine.subscribe()
    with engine:
        batches = drain(sub)
    assert sum(len(b) for b in batches) == 500
    b = max(batches, key=len)
    assert len(b) == len(b.price) == len(b.seq) == len(b.vwap)
    assert b.symbols[0] == "AAPL" and b.symbols[1] == "MSFT"
    recs = b.records()
    assert len(recs) == len(b)
    assert recs[0].seq == b.seq[0] and recs[0].symbol in ("AAPL", "MSFT")
    assert recs[0].kind in ("trade", "quote")


# --- skip: gap notices with exact counts ------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_skip_reports_the_exact_number_missed(workers):
    ring = 64
    names = ["AAPL", "MSFT", "GOOG"]
    first, second = random_ticks(1_000, 3, seed=5), random_ticks(40, 3, seed=6)
    engine = Engine(workers=workers, symbols=names, ring_size=ring)
    only_msft = engine.subscribe(symbols=["MSFT"], policy="skip")
    everything = engine.subscribe(policy="skip")
    with engine:
        # Nobody reads while 1000 results go through a ring of 64.
        publish_in_order(engine, first, names)
        wait_until(lambda: everything.counters()["lag"] == len(first))
        for sub, match in ((only_msft, first["symbol_id"] == 1),
                           (everything, np.ones(len(first), bool))):
            batch = sub.next_batch(timeout=10)
            assert batch is not None and batch.gap is not None
            assert len(batch) == 0            # the gap comes first, alone
            assert (batch.gap.from_seq, batch.gap.to_seq) == (0, len(first))
            assert batch.gap.missed == int(match.sum())
        # Then it follows live: the next results arrive with no gap.
        publish_in_order(engine, second, names)
        engine.close_ingest()
        got_msft, got_all = rows(drain(only_msft)), rows(drain(everything))
        stats = engine.stats()

    np.testing.assert_array_equal(got_all["seq"], len(first) + np.arange(len(second)))
    assert_same_rows(got_msft, got_all[got_all["symbol_id"] == 1])
    # Delivered + missed == every result that matched.
    n_msft = int((first["symbol_id"] == 1).sum())
    assert len(got_msft) + n_msft == int((first["symbol_id"] == 1).sum()
                                         + (second["symbol_id"] == 1).sum())
    by_id = {s.id: s for s in stats.subscriptions}
    assert by_id[only_msft.id].missed == n_msft and by_id[only_msft.id].gaps == 1
    assert by_id[everything.id].missed == len(first)
    assert stats.dropped == n_msft + len(first)
    # The results after the gap are computed over every tick, skipped or not.
    want = reference_results(np.concatenate([first, second]), ALPHA)[len(first):]
    np.testing.assert_allclose(got_all["vwap"], want["vwap"], rtol=1e-9)
    np.testing.assert_array_equal(got_all["trade_count"], want["trade_count"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("filtered", [False, True])
def test_skip_accounting_with_a_slow_concurrent_reader(filtered):
    """A reader that keeps falling behind while ticks stream in: every matching
    result is either delivered (once, in order) or counted in exactly one gap."""
    names = ["AAPL", "MSFT", "GOOG"]
    ticks = random_ticks(8_000, 3, seed=9)
    match = (ticks["symbol_id"] != 2) if filtered else np.ones(len(ticks), bool)
    engine = Engine(workers=1, symbols=names, ring_size=64)
    sub = engine.subscribe(symbols=["AAPL", "MSFT"] if filtered else None, policy="skip",
                           max_ticks_per_frame=16)
    batches = []

    def slow_reader():
        try:
            while True:
                batches.append(sub.next_batch(timeout=30))
                time.sleep(0.001)
        except StreamEnded:
            pass

    with engine:
        reader = threading.Thread(target=slow_reader, daemon=True)
        reader.start()
        for i in range(0, len(ticks), 500):
            publish_in_order(engine, ticks[i:i + 500], names)
        engine.close_ingest()
        reader.join(60)
        assert not reader.is_alive()

    assert all(b is not None for b in batches)
    seen = np.zeros(len(ticks), dtype=int)       # 1: delivered, 2: missed in a gap
    missed_total = 0
    last = -1
    for b in batches:
        if b.gap is not None:
            g = b.gap
            assert last < g.from_seq < g.to_seq <= len(ticks)
            # Nothing matching was passed over between the last delivery and the gap.
            assert not match[last + 1:g.from_seq].any()
            assert g.missed == int(match[g.from_seq:g.to_seq].sum())
            seen[g.from_seq:g.to_seq][match[g.from_seq:g.to_seq]] += 2
            missed_total += g.missed
            last = g.to_seq - 1
        for s in b.seq:
            assert s > last and match[s]
            assert not match[last + 1:s].any()    # nothing matching silently skipped
            seen[s] += 1
            last = s
    assert (seen[match] > 0).all() and (seen[match] <= 2).all() and not seen[~match].any()
    assert missed_total + int((seen == 1).sum()) == int(match.sum())
    assert missed_total > 0, "the reader never fell behind: the test did not test skip"


# --- disconnect: only the slow subscription is closed ------------------------------------


@pytest.mark.timeout(120)
def test_disconnect_closes_only_the_slow_subscription():
    names = ["AAPL", "MSFT"]
    ticks = random_ticks(2_000, 2, seed=2)
    engine = Engine(workers=2, symbols=names, ring_size=64)
    slow = engine.subscribe(policy="disconnect")
    slow_filtered = engine.subscribe(symbols=["MSFT"], policy="disconnect")
    fast = engine.subscribe(policy="block")
    with engine:
        collector = Collector(fast)
        collector.start()
        publish_in_order(engine, ticks, names)
        engine.close_ingest()
        got = collector.finish()
        for sub in (slow, slow_filtered):
            with pytest.raises(mdstream.SlowConsumerError, match="disconnect"):
                sub.next_batch(timeout=10)
            with pytest.raises(mdstream.SlowConsumerError):     # and it stays closed
                sub.next_batch(timeout=1)
        stats = engine.stats()
    np.testing.assert_array_equal(got["seq"], np.arange(len(ticks)))
    assert_matches_reference(got, ticks)
    assert stats.disconnected == 2
    assert {s.id for s in stats.subscriptions if s.disconnected} == {slow.id, slow_filtered.id}


@pytest.mark.timeout(60)
def test_disconnect_subscription_that_keeps_up_is_not_dropped():
    feed = SimulatedFeed(symbols=SYMBOLS, rate=0, seed=4, count=5_000)
    engine = Engine(feed=feed, workers=2)            # a ring far bigger than the stream
    sub = engine.subscribe(policy="disconnect")
    with engine:
        got = rows(drain(sub))
    np.testing.assert_array_equal(got["seq"], np.arange(5_000))


# --- stopping always works ----------------------------------------------------------------


@pytest.mark.timeout(120)
def test_stop_returns_with_a_stalled_block_subscriber_and_blocked_threads():
    """A block subscriber that never reads stalls the workers, which fill the
    channels, which block the feed (holding the ingest lock) and a publisher.
    stop() must still return, and release everyone."""
    feed = SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=1)          # endless
    engine = Engine(feed=feed, workers=2, symbols=["GOOG"], ring_size=64,
                    channel_capacity=256, drain_timeout=0.2)
    stalled = engine.subscribe(policy="block")
    waiting = engine.subscribe(symbols=["GOOG"], policy="block")            # never gets any
    engine.start()
    wait_until(lambda: stalled.counters()["lag"] >= 64)
    time.sleep(0.2)                       # the channels fill up behind the stall
    reader, reader_box = run_in_thread(waiting.next_batch)                 # blocked, no timeout
    publisher, pub_box = run_in_thread(engine.publish_trades, "GOOG", [1.0] * 5000, 1.0)
    time.sleep(0.2)
    stopper, stop_box = run_in_thread(engine.stop)
    for t in (stopper, reader, publisher):
        t.join(30)
    assert not stopper.is_alive(), "stop() did not return"
    assert "error" not in stop_box
    assert not reader.is_alive() and isinstance(reader_box.get("error"), StreamEnded)
    assert not publisher.is_alive()
    assert isinstance(pub_box.get("error"), mdstream.EngineStateError), pub_box
    # The stalled subscription can still read what the ring held, then ends.
    got = rows(drain(stalled, timeout=10))
    assert 64 <= len(got) and (np.diff(got["seq"]) == 1).all() and got["seq"][0] == 0
    engine.stop()                          # a second stop is harmless


@pytest.mark.timeout(60)
def test_stop_ends_iteration_of_a_running_engine():
    feed = SimulatedFeed(symbols=SYMBOLS, rate=20_000, seed=8)               # endless
    engine = Engine(feed=feed, workers=2)
    sub = engine.subscribe()
    engine.start()
    collector = Collector(sub)
    collector.start()
    time.sleep(0.2)
    engine.stop()
    got = collector.finish(30)
    assert len(got) > 0
    np.testing.assert_array_equal(got["seq"], np.arange(len(got)))


@pytest.mark.timeout(60)
def test_close_from_another_thread_wakes_a_blocked_next_batch():
    with Engine(symbols=["AAPL"]) as engine:
        sub = engine.subscribe()
        t, box = run_in_thread(sub.next_batch)       # nothing will come: waits for ever
        time.sleep(0.2)
        assert t.is_alive()
        sub.close()
        t.join(10)
        assert not t.is_alive(), "close() did not wake the reader"
        assert isinstance(box.get("error"), mdstream.SubscriptionClosedError), box
        with pytest.raises(mdstream.SubscriptionClosedError):
            sub.next_batch(timeout=0)
        sub.close()                                   # twice is fine
        assert sub.closed


@pytest.mark.timeout(60)
def test_tiny_ring_and_tiny_channels_do_not_deadlock_ingest():
    """Ingest sequences a chunk of ticks and pushes each worker's share in
    turn; with a ring smaller than that chunk and channels smaller than a
    share, a worker must not wait in the ring for results of ticks that
    ingest has not handed out yet."""
    engine = Engine(symbols=["AAPL", "MSFT"], workers=2, ring_size=64, channel_capacity=16)
    sub = engine.subscribe()
    engine.start()
    try:
        collector = Collector(sub)
        collector.start()
        publisher, box = run_in_thread(
            engine.publish_trades, ["AAPL", "MSFT"] * 1024, [1.0] * 2048, 1.0)
        publisher.join(10)
        stuck = publisher.is_alive()
    finally:
        engine.stop()                 # releases a stuck publisher either way
    assert not stuck, "publish() deadlocked between ingest and the workers"
    assert box.get("value") == 2048, box
    got = collector.finish(30)
    np.testing.assert_array_equal(got["seq"], np.arange(2048))


STATS_WHILE_STALLED = """
import time, mdstream
feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=1)
engine = mdstream.Engine(feed=feed, workers=2, ring_size=64, channel_capacity=256)
sub = engine.subscribe(policy="block")        # never read: the feed ends up blocked
engine.start()
time.sleep(0.5)
print(engine.stats().ticks_in > 0, flush=True)
engine.stop()
print("stopped", flush=True)
"""


@pytest.mark.timeout(60)
def test_stats_answers_while_backpressure_blocks_the_feed(run_snippet):
    """stats() is what one calls to see why an engine is stuck: it must not wait
    for the feed, which may be blocked (holding its lock) behind a slow
    subscriber. Run in a child: the hang holds the GIL."""
    proc = run_snippet(STATS_WHILE_STALLED, timeout=20)
    assert proc is not None, "engine.stats() hung while the feed was blocked by backpressure"
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "stopped"]


UNCLOSED_SUBSCRIPTION_IN_A_CYCLE = """
import gc, mdstream
for i in range(5):
    engine = mdstream.Engine(symbols=["AAPL"]).start()
    sub = engine.subscribe()
    engine.stop()
    cycle = [sub]
    cycle.append(cycle)       # the subscription is also held by another reference cycle
    del sub, cycle, engine
    gc.collect()
print("ok")
"""


@pytest.mark.timeout(60)
def test_unclosed_subscription_collected_in_a_cycle(run_snippet):
    """A subscription nobody closed, freed by the cycle collector (as happens
    when an exception's traceback holds it), must free cleanly."""
    proc = run_snippet(UNCLOSED_SUBSCRIPTION_IN_A_CYCLE, timeout=10)
    assert proc is not None, "freeing the subscription hung"
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


# --- Ctrl-C ---------------------------------------------------------------------------------

SIGINT_IN_NEXT_BATCH = """
import os, signal, threading, time, mdstream
engine = mdstream.Engine(symbols=["AAPL"]).start()
sub = engine.subscribe()
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
t0 = time.monotonic()
try:
    sub.next_batch()            # no timeout, nothing published: only Ctrl-C ends it
except KeyboardInterrupt:
    print("interrupted", flush=True)
engine.stop()
print("stopped", flush=True)
"""

SIGINT_IN_PUBLISH = """
import os, signal, threading, mdstream
engine = mdstream.Engine(symbols=["AAPL"], workers=1, ring_size=64, channel_capacity=64).start()
sub = engine.subscribe(policy="block")       # never read: publish() ends up waiting
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    engine.publish_trades("AAPL", [1.0] * 100_000, 1.0)
except KeyboardInterrupt:
    print("interrupted", flush=True)
engine.stop()
print("stopped", flush=True)
"""


@pytest.mark.timeout(60)
def test_sigint_interrupts_next_batch_on_the_main_thread(run_snippet):
    proc = run_snippet(SIGINT_IN_NEXT_BATCH, timeout=8)
    assert proc is not None, "next_batch() ignored Ctrl-C"
    assert proc.stdout.split() == ["interrupted", "stopped"], proc.stderr


@pytest.mark.timeout(60)
def test_sigint_interrupts_a_publish_blocked_by_backpressure(run_snippet):
    proc = run_snippet(SIGINT_IN_PUBLISH, timeout=8)
    assert proc is not None, "publish() blocked by backpressure ignored Ctrl-C"
    assert proc.stdout.split() == ["interrupted", "stopped"], proc.stderr


# --- the GIL ---------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_python_threads_run_while_the_engine_works():
    """Not a speed test: while the workers run flat out, a Python thread must
    make progress at all (it could not if they held the GIL)."""
    n = 2_000_000
    feed = SimulatedFeed(symbols=SYMBOLS, rate=0, seed=5, count=n)
    engine = Engine(feed=feed, workers=2)
    probe = engine.subscribe(policy="skip")       # never read; its lag is the log's head
    samples = []                                  # (results written so far, counter)
    done = threading.Event()

    def spin():
        counter = 0
        while not done.is_set():
            counter += 1
            if counter % 2_000 == 0:
                samples.append((probe.counters()["lag"], counter))

    spinner = threading.Thread(target=spin, daemon=True)
    with engine:
        spinner.start()
        assert engine.wait(90)
        done.set()
        spinner.join(10)
    mid_run = [c for head, c in samples if 0 < head < n]
    assert len(set(mid_run)) >= 2, (
        f"the Python thread made no progress while the engine ran ({len(samples)} samples)")


# --- errors ------------------------------------------------------------------------------------


def test_unknown_symbols_are_named():
    engine = Engine(symbols=["AAPL", "MSFT"])
    with pytest.raises(mdstream.UnknownSymbolError, match="NOPE") as exc:
        engine.subscribe(symbols=["AAPL", "NOPE"])
    assert "AAPL" not in str(exc.value).split("knows")[0]
    assert isinstance(exc.value, KeyError)
    with engine:
        with pytest.raises(mdstream.UnknownSymbolError, match="ZZZZ"):
            engine.publish_trades("ZZZZ", [1.0], [1.0])
        with pytest.raises(mdstream.UnknownSymbolError):
            engine.publish_trades(7, [1.0], [1.0])
        with pytest.raises(mdstream.UnknownSymbolError, match="QQQ"):
            engine.publish_quotes(["AAPL", "QQQ"], [1.0, 1.0], [1.1, 1.1])


@pytest.mark.timeout(60)
def test_publish_rows_with_an_unknown_symbol_are_refused():
    with Engine(symbols=["AAPL"]) as engine:
        with pytest.raises(mdstream.UnknownSymbolError, match="QQQ"):
            engine.publish([("AAPL", 1.0, 1), ("QQQ", 1.0, 1)])
        with pytest.raises(mdstream.UnknownSymbolError, match="QQQ"):
            engine.publish([Quote("QQQ", 1.0, 1.1)])
        assert engine.stats().ticks_in == 0          # nothing half published


def test_invalid_policy_and_arguments():
    engine = Engine(symbols=["AAPL"])
    with pytest.raises(mdstream.InvalidArgumentError, match="block.*skip.*disconnect"):
        engine.subscribe(policy="drop-oldest")
    with pytest.raises(mdstream.InvalidArgumentError):
        engine.subscribe(symbols=[])
    with pytest.raises(mdstream.InvalidArgumentError, match="max_ticks_per_frame"):
        engine.subscribe(max_ticks_per_frame=0)
    with pytest.raises(mdstream.InvalidArgumentError, match="ring_size"):
        Engine(ring_size=100)
    with pytest.raises(mdstream.InvalidArgumentError, match="workers"):
        Engine(workers=0)
    with engine:
        with pytest.raises(mdstream.InvalidArgumentError, match="price"):
            engine.publish_trades("AAPL", [float("nan")], [1.0])
        with pytest.raises(mdstream.InvalidArgumentError, match="size"):
            engine.publish_trades("AAPL", [1.0], [-1.0])


def test_lifecycle_errors():
    engine = Engine(symbols=["AAPL"])
    with pytest.raises(mdstream.EngineStateError, match="start"):
        engine.publish_trades("AAPL", [1.0], [1.0])
    engine.start()
    with pytest.raises(mdstream.EngineStateError):
        engine.start()
    engine.close_ingest()
    with pytest.raises(mdstream.EngineStateError):
        engine.publish_trades("AAPL", [1.0], [1.0])
    engine.stop()
    with pytest.raises(mdstream.EngineStateError):
        engine.start()
    with pytest.raises(mdstream.EngineStateError, match="stopped"):
        engine.subscribe()
    with pytest.raises(mdstream.EngineStateError):
        engine.publish_trades("AAPL", [1.0], [1.0])
    engine.stop()


def test_a_finished_engine_ends_iteration():
    feed = SimulatedFeed(symbols=["AAPL"], rate=0, seed=2, count=1000)
    engine = Engine(feed=feed)
    sub = engine.subscribe()
    with engine:
        total = sum(len(b) for b in sub)          # plain iteration ends by itself
        assert total == 1000
        assert engine.wait(10) and engine.finished
        with pytest.raises(StreamEnded):
            sub.next_batch(timeout=1)
