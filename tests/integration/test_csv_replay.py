"""Replays of the recorded real files through a real Engine, checked against pandas."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdstream import QUOTE, TRADE, Engine
from mdstream.feeds.csv.feed import CSVFeed
from mdstream.feeds.csv.errors import BadFileError, BadRowError

from file_replay import first_results, replay  # tests/integration/file_replay.py

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
TRADES = REAL / "tardis_trades.csv"
QUOTES = REAL / "tardis_quotes.csv"
TRUEFX = REAL / "truefx-usdjpy-ticks.csv"


def names(rows, symbols):
    return np.asarray(symbols, dtype=object)[rows["symbol_id"]]


@pytest.mark.timeout(60)
def test_trades_replay_matches_the_file_and_pandas():
    feed = CSVFeed(TRADES, speed=0)
    assert feed.symbols == ["BTCUSDT"]          # known before the engine binds the feed
    rows, symbols = replay(feed)
    ref = pd.read_csv(TRADES)
    assert len(rows) == len(ref) == 9999 and feed.published == 9999
    assert symbols == ["BTCUSDT"] and set(names(rows, symbols)) == {"BTCUSDT"}
    assert (rows["kind"] == TRADE).all()
    for i in (0, -1):
        assert rows["ts_ns"][i] == ref["timestamp"].iloc[i] * 1000
        assert rows["price"][i] == ref["price"].iloc[i]
        assert rows["size"][i] == ref["amount"].iloc[i]
    # VWAP and volume per symbol, independently
    notional = (ref["price"] * ref["amount"]).groupby(ref["symbol"]).cumsum()
    volume = ref["amount"].groupby(ref["symbol"]).cumsum()
    np.testing.assert_allclose(rows["volume"], volume.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(rows["vwap"], (notional / volume).to_numpy(), rtol=1e-12)
    assert rows["trade_count"][-1] == 9999
    assert rows["high"][-1] == ref["price"].max() and rows["low"][-1] == ref["price"].min()


@pytest.mark.timeout(60)
def test_quotes_replay_gives_mid_and_spread():
    rows, symbols = replay(CSVFeed(QUOTES, speed=0))
    ref = pd.read_csv(QUOTES)       # ask columns come before bid columns in this file
    assert len(rows) == 9999 and (rows["kind"] == QUOTE).all() and symbols == ["BTCUSDT"]
    np.testing.assert_array_equal(rows["bid"], ref["bid_price"].to_numpy())
    np.testing.assert_array_equal(rows["ask"], ref["ask_price"].to_numpy())
    np.testing.assert_array_equal(rows["bid_size"], ref["bid_amount"].to_numpy())
    np.testing.assert_array_equal(rows["ask_size"], ref["ask_amount"].to_numpy())
    np.testing.assert_allclose(rows["mid"], ((ref["bid_price"] + ref["ask_price"]) / 2).to_numpy(), rtol=1e-15)
    np.testing.assert_allclose(rows["spread"], (ref["ask_price"] - ref["bid_price"]).to_numpy(), atol=1e-9)
    assert (rows["spread"] > 0).all()
    first, last = rows[0], rows[-1]
    assert (first["ts_ns"], first["bid"], first["ask"]) == (1582329601096000000, 9681.92, 9682.0)
    assert (last["ts_ns"], last["bid"], last["ask"]) == (1582329827061000000, 9671.19, 9672.09)


@pytest.mark.timeout(60)
def test_truefx_replay():
    rows, symbols = replay(CSVFeed(TRUEFX, symbol="USDJPY", speed=0))
    ref = pd.read_csv(TRUEFX)
    assert len(rows) == 1000 and symbols == ["USDJPY"]
    # the timestamps by Python's own ISO 8601 parser (some have no fraction of a second)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    ts = [(lambda d: (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000)(
        dt.datetime.fromisoformat(s) - epoch) for s in ref["timestamp"]]
    assert rows["ts_ns"].tolist() == ts
    np.testing.assert_allclose(rows["mid"], ((ref["bid"] + ref["ask"]) / 2).to_numpy(), rtol=1e-15)
    np.testing.assert_allclose(rows["spread"], (ref["ask"] - ref["bid"]).to_numpy(), atol=1e-12)


@pytest.mark.timeout(60)
def test_files_merge_in_timestamp_order_with_ties_in_file_order(tmp_path):
    gz = tmp_path / "quotes.csv.gz"
    with open(QUOTES, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    feed = CSVFeed([TRUEFX, TRADES, gz], symbol=["USDJPY", None, None], speed=0)
    assert feed.symbols == ["USDJPY", "BTCUSDT"]
    rows, symbols = replay(feed)
    assert len(rows) == 1000 + 9999 + 9999
    assert (np.diff(rows["ts_ns"]) >= 0).all()
    # 262 timestamps have both a trade and a quote: the trades file comes first
    btc = rows[names(rows, symbols) == "BTCUSDT"]
    ts, kind = btc["ts_ns"], btc["kind"]
    same = np.flatnonzero(ts[1:] == ts[:-1])
    pairs = {(int(kind[i]), int(kind[i + 1])) for i in same}
    assert (QUOTE, TRADE) not in pairs and (TRADE, QUOTE) in pairs
    # each symbol's analytics are those of its own file
    trades = btc[btc["kind"] == TRADE]
    ref = pd.read_csv(TRADES)
    np.testing.assert_allclose(trades["vwap"][-1], (ref.price * ref.amount).sum() / ref.amount.sum(), rtol=1e-12)
    assert trades["volume"][-1] == pytest.approx(ref.amount.sum(), rel=1e-12)
    # a trade carries the latest quote of its symbol, from the other file
    quotes = pd.read_csv(QUOTES)
    t0 = trades[trades["ts_ns"] > quotes.timestamp.iloc[-1] * 1000][0]
    assert (t0["bid"], t0["ask"]) == (quotes.bid_price.iloc[-1], quotes.ask_price.iloc[-1])


@pytest.mark.timeout(60)
def test_skip_mode_counts_bad_rows(tmp_path):
    lines = TRADES.read_text().splitlines(keepends=True)
    lines[10] = lines[10].replace(",buy,", ",buy,x").replace(",sell,", ",sell,x")  # line 11
    lines[20] = "binance-futures,BTCUSDT,12:00,1,2,buy,1,1\n"                       # line 21
    p = tmp_path / "trades.csv"
    p.write_text("".join(lines))
    with pytest.raises(BadRowError, match=r"trades\.csv:11: bad number 'x"):
        CSVFeed(p, speed=0)
    feed = CSVFeed(p, speed=0, on_bad_row="skip")
    assert feed.bad_rows == 2 and [e.line for e in feed.bad_row_examples] == [11, 21]
    rows, _ = replay(feed)
    assert len(rows) == 9997 == feed.rows


@pytest.mark.timeout(60)
def test_an_error_in_the_feed_thread_ends_the_stream_and_is_kept(tmp_path, caplog):
    lines = TRADES.read_text().splitlines(keepends=True)
    lines[250] = lines[250].replace(",buy,", ",buy,x").replace(",sell,", ",sell,x")   # line 251
    p = tmp_path / "trades.csv"
    p.write_text("".join(lines))
    feed = CSVFeed(p, speed=0, prescan=False, symbols=["BTCUSDT"], chunk_rows=100)
    engine = Engine(feed=feed, workers=2)
    sub = engine.subscribe()
    engine.start()
    # The subscription ends instead of waiting forever...
    rows = np.concatenate([b.rows.copy() for b in sub.batches(timeout=30)])
    # ...and stopping the engine raises the feed's error: it is never silent.
    with pytest.raises(BadRowError, match="trades.csv:251"):
        engine.stop()
    assert isinstance(feed.error, BadRowError)
    assert feed.error.line == 251 and "bad number 'x" in feed.error.problem
    # the chunks before the bad one went through, nothing of the bad chunk did
    assert len(rows) == 200 == feed.published
    assert "CSVFeed stopped" in caplog.text
    with pytest.raises(BadRowError):
        feed.wait(1)


@pytest.mark.timeout(60)
def test_bad_files_fail_before_anything_starts(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BadFileError, match=r"empty\.csv: the file is empty"):
        CSVFeed([TRADES, empty])
    cut = tmp_path / "cut.csv.gz"
    data = gzip.compress(QUOTES.read_bytes())
    cut.write_bytes(data[:-100])
    with pytest.raises(BadFileError, match=r"cut\.csv\.gz: the gzip data ends early"):
        CSVFeed(cut)


@pytest.mark.timeout(60)
def test_out_of_order_rows_keep_their_place_and_timestamp(tmp_path):
    p = tmp_path / "ooo.csv"
    p.write_text("ts,sym,px,qty\n1582329602000,A,1,1\n1582329602500,A,2,1\n1582329602100,A,3,1\n"
                 "1582329602600,A,4,1\n")
    feed = CSVFeed(p, speed=0)
    rows, _ = replay(feed)
    assert rows["price"].tolist() == [1, 2, 3, 4]
    assert ((rows["ts_ns"] // 1_000_000) - 1582329602000).tolist() == [0, 500, 100, 600]
    assert feed.late_rows == 1


@pytest.mark.timeout(60)
def test_loop_repeats_with_later_timestamps(no_thread_leak):
    feed = CSVFeed(TRUEFX, symbol="USDJPY", speed=0, loop=True)
    rows = first_results(feed, 2600)
    assert (np.diff(rows["ts_ns"]) > 0).sum() >= 2590 and (np.diff(rows["ts_ns"]) >= 0).all()
    first = rows[:1000]
    span = int(first["ts_ns"][-1] - first["ts_ns"][0])
    period = span + span // 999
    np.testing.assert_array_equal(rows["ts_ns"][1000:2000], first["ts_ns"] + period)
    np.testing.assert_array_equal(rows["ts_ns"][2000:2600], first["ts_ns"][:600] + 2 * period)
    np.testing.assert_array_equal(rows["bid"][1000:2000], first["bid"])
    assert feed.done


@pytest.mark.timeout(30)
def test_stop_is_prompt_during_a_long_recorded_gap(no_thread_leak):
    # truefx: the second tick comes 155 s after the first
    feed = CSVFeed(TRUEFX, symbol="USDJPY", speed=1)
    engine = Engine(feed=feed, workers=2)
    sub = engine.subscribe()
    engine.start()
    first = sub.next_batch(timeout=10)
    assert first is not None and len(first) == 1
    t0 = time.monotonic()
    engine.stop()
    assert time.monotonic() - t0 < 2.0
    assert feed.done and feed.error is None and feed.published == 1


def _quotes_slice(tmp_path, seconds: float) -> tuple[Path, int, int]:
    """The first ``seconds`` of recorded quotes, as a file; its row count and span in ns."""
    lines = QUOTES.read_text().splitlines(keepends=True)
    t0 = int(lines[1].split(",")[2])
    keep = [ln for ln in lines[1:] if int(ln.split(",")[2]) - t0 <= seconds * 1e6]
    p = tmp_path / "slice.csv"
    p.write_text(lines[0] + "".join(keep))
    span_ns = (int(keep[-1].split(",")[2]) - t0) * 1000
    return p, len(keep), span_ns


def _timed_replay(path, speed):
    """Wall time from start to the last result, and (arrival time, event time) per batch."""
    engine = Engine(feed=CSVFeed(path, speed=speed), workers=2)
    sub = engine.subscribe()
    arrivals = []
    t0 = time.monotonic()
    with engine:
        for batch in sub.batches(timeout=30):
            arrivals.append((time.monotonic() - t0, int(batch.ts_ns[0]), int(batch.ts_ns[-1]), len(batch)))
    return time.monotonic() - t0, arrivals


@pytest.mark.timeout(60)
def test_replay_at_a_speed_factor_takes_the_recorded_span_over_the_speed(tmp_path):
    path, n, span_ns = _quotes_slice(tmp_path, 10.0)       # ~360 quotes over ~10 s
    speed = 10.0
    expected = span_ns / 1e9 / speed                        # ~1 s
    # What the machine adds on top of the pacing, measured here: the same
    # replay unpaced, and how late a short sleep wakes up.
    overhead = min(_timed_replay(path, 0)[0] for _ in range(2))
    ev = threading.Event()
    late = 0.0
    for _ in range(20):
        s = time.monotonic()
        ev.wait(0.005)
        late = max(late, time.monotonic() - s - 0.005)
    tolerance = 3 * overhead + 5 * late + 0.05 * expected

    elapsed, arrivals = _timed_replay(path, speed)
    assert sum(a[3] for a in arrivals) == n
    assert expected <= elapsed <= expected + tolerance, (elapsed, expected, tolerance)
    # paced all along, not held back and sent at the end: every batch arrives
    # after its first tick is due, and not much later than its last tick is due
    ev0 = arrivals[0][1]
    for wall, first_ev, last_ev, _ in arrivals:
        assert wall >= (first_ev - ev0) / 1e9 / speed - 1e-3
        assert wall <= (last_ev - ev0) / 1e9 / speed + tolerance


@pytest.mark.timeout(30)
def test_stop_while_a_block_subscriber_holds_the_feed_back(no_thread_leak):
    feed = CSVFeed(TRADES, speed=0, chunk_rows=1000)
    engine = Engine(feed=feed, workers=2, ring_size=1024, channel_capacity=256)
    sub = engine.subscribe(policy="block")       # never read: the engine fills up and waits
    engine.start()
    deadline = time.monotonic() + 10
    last = -1
    while time.monotonic() < deadline:          # wait until publishing has stalled
        time.sleep(0.1)
        if feed.published == last:
            break
        last = feed.published
    assert 0 < feed.published < 9999
    t0 = time.monotonic()
    engine.stop()
    assert time.monotonic() - t0 < 5.0
    assert threading_wait(lambda: feed.done, 5.0)
    assert feed.error is None
    sub.close()


def threading_wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
