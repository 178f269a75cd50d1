"""Resuming subscriptions from a sequence number, snapshots, and restarts."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import mdstream
from mdstream.journal import JournalConfig, list_segments

from helpers import SYMBOLS, assert_same_analytics, collect, publish_ticks, reference_results, tick_stream

STREAM = tick_stream(60_000, seed=5)
REFERENCE = reference_results(STREAM)


@pytest.mark.timeout(60)
def test_resume_across_file_rolls_then_live(tmp_path):
    engine = mdstream.Engine(symbols=SYMBOLS, ring_size=1024,
                             journal=JournalConfig(tmp_path, segment_bytes=1 << 16))
    first = engine.subscribe()
    engine.start()
    try:
        publish_ticks(engine, STREAM[:20_000])
        collect(first, 20_000)
        assert len(list_segments(tmp_path)) > 5
        # 123 is long gone from the ring of 1024: it comes from the journal,
        # through several segment files, then the stream goes live.
        sub = engine.subscribe(from_seq=123)
        publish_ticks(engine, STREAM[20_000:21_000])
        got = collect(sub, 21_000 - 123)
        assert np.array_equal(got["seq"], np.arange(123, 21_000))
        assert_same_analytics(got, REFERENCE[123:21_000])
    finally:
        engine.stop()


@pytest.mark.timeout(60)
def test_resume_while_live_traffic_runs_at_full_rate(tmp_path):
    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, seed=9, count=400_000)
    engine = mdstream.Engine(feed=feed, ring_size=4096,
                             journal=JournalConfig(tmp_path, segment_bytes=1 << 20))
    everything = engine.subscribe(policy="block")
    engine.start()
    try:
        while engine.stats().results < 50_000:
            batch = everything.next_batch(timeout=5)
            assert batch is not None
        everything.close()      # a block subscriber that stops reading would hold the feed
        # The feed keeps going flat out while this one replays and catches up.
        resumed = engine.subscribe(from_seq=1000, symbols=["BBB"])
        rows = np.concatenate([b.rows for b in resumed])      # ends with the feed
    finally:
        engine.stop()
    seqs = rows["seq"]
    assert seqs[0] >= 1000 and np.all(np.diff(seqs) > 0), "duplicate or out of order"
    assert np.all(rows["symbol_id"] == SYMBOLS.index("BBB"))
    # Compare with the journal read back from 1000 after the fact: identical.
    again = mdstream.Engine(symbols=SYMBOLS, journal=tmp_path)
    try:
        n = again.recovery.next_seq
        full = collect(again.subscribe(from_seq=1000), n - 1000)
    finally:
        again.stop()
    expected = full[full["symbol_id"] == SYMBOLS.index("BBB")]
    assert rows.tobytes() == expected.tobytes()


@pytest.mark.timeout(60)
def test_expired_from_seq_is_out_of_range_with_the_oldest_kept(tmp_path):
    config = JournalConfig(tmp_path, segment_bytes=1 << 16, retain_bytes=200_000)
    # Small state files (sized for 64 symbols), so the size limit keeps a few
    # segments: the oldest kept is far from the ring's 64 newest results.
    engine = mdstream.Engine(symbols=SYMBOLS, ring_size=64, max_symbols=64, journal=config)
    sub = engine.subscribe()
    engine.start()
    try:
        publish_ticks(engine, STREAM[:20_000])
        collect(sub, 20_000)
        deadline = time.monotonic() + 10
        while list_segments(tmp_path)[0][0] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)         # retention runs once a second
        # Until retention is done trimming (two passes agree), or the oldest
        # read here may be removed before the subscription below.
        oldest = -1
        while oldest != list_segments(tmp_path)[0][0] and time.monotonic() < deadline + 10:
            oldest = list_segments(tmp_path)[0][0]
            time.sleep(1.5)
        assert oldest > 0
        with pytest.raises(mdstream.OutOfRangeError) as err:
            engine.subscribe(from_seq=oldest - 1)
        assert err.value.oldest == oldest
        assert str(oldest) in str(err.value)
        # The oldest kept is still served.
        got = collect(engine.subscribe(from_seq=oldest), 20_000 - oldest)
        assert_same_analytics(got, REFERENCE[oldest:20_000])
    finally:
        engine.stop()
    # And a restart after retention still rebuilds the analytics exactly.
    again = mdstream.Engine(symbols=SYMBOLS, max_symbols=64, journal=config)
    sub = again.subscribe()
    again.start()
    try:
        publish_ticks(again, STREAM[20_000:21_000])
        got = collect(sub, 1000)
        assert_same_analytics(got, REFERENCE[20_000:21_000])
    finally:
        again.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("journal", [False, True])
def test_snapshot_fence_with_concurrent_writers(tmp_path, journal):
    engine = mdstream.Engine(symbols=SYMBOLS, journal=tmp_path if journal else None)
    everything = engine.subscribe()
    engine.start()
    stop = threading.Event()

    def writer(part):
        for i in range(0, len(part), 50):
            if stop.is_set():
                return
            publish_ticks(engine, part[i:i + 50])

    threads = [threading.Thread(target=writer, args=(STREAM[k * 20_000:(k + 1) * 20_000],))
               for k in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.05)
        sub = engine.subscribe(snapshot=True)
        snap = sub.snapshot
        first_batch = sub.next_batch(timeout=5)
        stop.set()
        for t in threads:
            t.join()
        sub.close()
        engine.close_ingest()       # everything published is then delivered, and the stream ends
        seen = np.concatenate([b.rows for b in everything])
    finally:
        engine.stop()
    s = snap.as_of_seq
    assert s >= 0
    assert first_batch.seq[0] == s + 1, "the stream must start right after the snapshot"
    upto = seen[seen["seq"] <= s]
    for row in snap.results.rows:
        mine = upto[upto["symbol_id"] == row["symbol_id"]]
        assert row.tobytes() == mine[-1].tobytes()
    assert len(snap.results) == len(np.unique(upto["symbol_id"]))


@pytest.mark.timeout(60)
def test_restart_mid_bar_gives_the_bars_of_an_uninterrupted_run(tmp_path):
    def bars_of(rows):
        return rows[rows["kind"] == mdstream.BAR]

    half = 30_000
    straight = mdstream.Engine(symbols=SYMBOLS, bars=("1s", "250ms"))
    sub = straight.subscribe()
    straight.start()
    publish_ticks(straight, STREAM)
    straight.close_ingest()
    want = np.concatenate([b.rows for b in sub])
    straight.stop()

    first = mdstream.Engine(symbols=SYMBOLS, bars=("1s", "250ms"), journal=tmp_path)
    sub = first.subscribe()
    first.start()
    publish_ticks(first, STREAM[:half])
    first.stop()                        # a stop is not the end of the data: bars stay open
    part1 = np.concatenate([b.rows for b in sub])   # the ticks and the bars they closed
    second = mdstream.Engine(symbols=SYMBOLS, bars=("1s", "250ms"), journal=tmp_path)
    sub = second.subscribe()
    second.start()
    publish_ticks(second, STREAM[half:])
    second.close_ingest()
    part2 = np.concatenate([b.rows for b in sub])
    second.stop()
    got = np.concatenate([part1, part2])
    assert np.array_equal(got["seq"], np.arange(len(got)))
    assert len(got) == len(want)
    assert_same_analytics(got, want)


@pytest.mark.timeout(60)
def test_retention_by_size_counts_the_state_files_too(tmp_path):
    """retain_bytes bounds the whole directory (segments and state files):
    what stays is at most the limit, plus the segment being written and its
    state file, which retention never removes."""
    limit = 3_000_000        # about two state files (sized for max_symbols: 1.6 MB each)
    config = JournalConfig(tmp_path, segment_bytes=1 << 16, retain_bytes=limit)
    engine = mdstream.Engine(symbols=SYMBOLS, journal=config)
    sub = engine.subscribe()
    engine.start()
    try:
        publish_ticks(engine, STREAM[:20_000])
        collect(sub, 20_000)

        def size() -> int:      # files retention removes meanwhile count as 0
            total = 0
            for p in tmp_path.iterdir():
                if p.suffix in (".mdj", ".mds"):
                    try:
                        total += p.stat().st_size
                    except FileNotFoundError:
                        pass
            return total

        def bound() -> int:     # the limit, the active segment and its state file
            newest_state = sorted(tmp_path.glob("state-*.mds"))[-1]
            return limit + 2 * (1 << 16) + newest_state.stat().st_size

        deadline = time.monotonic() + 30
        while size() > bound() and time.monotonic() < deadline:
            time.sleep(0.1)         # retention runs once a second
        assert size() <= bound(), size()
        states = sorted(tmp_path.glob("state-*.mds"))
        assert list_segments(tmp_path)[0][0] > 0
        # No state file is older than the oldest segment.
        oldest = list_segments(tmp_path)[0][0]
        assert all(int(p.stem[6:]) >= oldest for p in states)
    finally:
        engine.stop()
