"""Replays of the recorded real data as Parquet files, datasets and mdstream
recordings, through a real Engine (and `mdstream serve` with a client),
checked against pandas."""

from __future__ import annotations

import decimal
import re
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mdstream
from mdstream import BAR, QUOTE, TRADE, Engine
from mdstream.feeds.csv.errors import BadFileError, BadRowError
from mdstream.feeds.csv.feed import CSVFeed
from mdstream.feeds.parquet import ParquetFeed, ParquetRowError
from mdstream.grpc.client import Client

from file_replay import first_results, replay, resampled_bars  # tests/integration/file_replay.py

pytestmark = pytest.mark.timeout(90)

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
TRADES_CSV = REAL / "tardis_trades.csv"
QUOTES_CSV = REAL / "tardis_quotes.csv"


@pytest.fixture(scope="module")
def trades_ref():
    return pd.read_csv(TRADES_CSV)


@pytest.fixture
def trades_parquet(tmp_path, trades_ref):
    """The real trades as Parquet, in row groups of 1,000 rows."""
    path = tmp_path / "trades.parquet"
    pq.write_table(pa.Table.from_pandas(trades_ref, preserve_index=False), path,
                   row_group_size=1000)
    return path


def test_trades_replay_matches_the_data_and_pandas(trades_parquet, trades_ref):
    feed = ParquetFeed(trades_parquet, speed=0, batch_rows=700)
    assert feed.symbols == ["BTCUSDT"] and feed.formats[0].name == "tardis-trades"
    rows, symbols = replay(feed)
    ref = trades_ref
    assert len(rows) == len(ref) == 9999 == feed.rows and (rows["kind"] == TRADE).all()
    for i in (0, -1):
        assert rows["ts_ns"][i] == ref["timestamp"].iloc[i] * 1000
        assert rows["price"][i] == ref["price"].iloc[i] and rows["size"][i] == ref["amount"].iloc[i]
    notional, volume = (ref.price * ref.amount).cumsum(), ref.amount.cumsum()
    np.testing.assert_allclose(rows["volume"], volume.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(rows["vwap"], (notional / volume).to_numpy(), rtol=1e-12)
    assert rows["high"][-1] == ref.price.max() and rows["low"][-1] == ref.price.min()


def test_parquet_and_csv_replays_give_the_same_results(trades_parquet):
    a, _ = replay(ParquetFeed(trades_parquet, speed=0))
    b, _ = replay(CSVFeed(TRADES_CSV, speed=0))
    for col in ("ts_ns", "price", "size", "vwap", "volume", "high", "low", "trade_count"):
        np.testing.assert_array_equal(a[col], b[col])


def test_quotes_and_arrow_types(tmp_path):
    """Timestamps as Arrow timestamp[us, UTC], symbols as a dictionary, prices
    as decimals: read in their own types, to the same values."""
    ref = pd.read_csv(QUOTES_CSV, dtype={"bid_price": str, "ask_price": str})
    table = pa.table({
        "ts_event": pa.array(pd.to_datetime(ref.timestamp, unit="us", utc=True)),
        "ticker": pa.array(ref.symbol).dictionary_encode(),
        "bid": pa.array([decimal.Decimal(x) for x in ref.bid_price], pa.decimal128(12, 2)),
        "ask": pa.array([decimal.Decimal(x) for x in ref.ask_price], pa.decimal128(12, 2)),
        "bid_size": ref.bid_amount, "ask_size": ref.ask_amount})
    path = tmp_path / "quotes.parquet"
    pq.write_table(table, path, row_group_size=3000)
    rows, symbols = replay(ParquetFeed(path, speed=0))
    assert symbols == ["BTCUSDT"] and len(rows) == 9999 and (rows["kind"] == QUOTE).all()
    np.testing.assert_array_equal(rows["ts_ns"], ref.timestamp.to_numpy() * 1000)
    np.testing.assert_array_equal(rows["bid"], ref.bid_price.astype(float).to_numpy())
    np.testing.assert_array_equal(rows["ask"], ref.ask_price.astype(float).to_numpy())
    np.testing.assert_array_equal(rows["bid_size"], ref.bid_amount.to_numpy())
    assert (rows["spread"] > 0).all()


def test_a_dataset_directory_replays_its_files_in_order_merged_with_a_file(tmp_path, trades_ref):
    """Trades split over Hive partitions (hour=...), merged with a quotes file."""
    ref = trades_ref
    hour = (ref.timestamp // 3_600_000_000 % 24)
    for h, part in ref.groupby(hour):
        folder = tmp_path / "trades" / f"hour={h:02d}"
        folder.mkdir(parents=True)
        half = len(part) // 2
        for k, chunk in enumerate((part.iloc[:half], part.iloc[half:])):
            pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False),
                           folder / f"part-{k}.parquet")
    (tmp_path / "trades" / "_SUCCESS").write_text("")       # skipped, as by every reader
    quotes = tmp_path / "quotes.parquet"
    pq.write_table(pa.Table.from_pandas(pd.read_csv(QUOTES_CSV)), quotes)
    feed = ParquetFeed([tmp_path / "trades", quotes], speed=0)
    rows, _ = replay(feed)
    assert len(rows) == 9999 * 2 and (np.diff(rows["ts_ns"]) >= 0).all()
    trades = rows[rows["kind"] == TRADE]
    np.testing.assert_array_equal(trades["price"], ref.price.to_numpy())
    np.testing.assert_array_equal(trades["ts_ns"], ref.timestamp.to_numpy() * 1000)


@pytest.mark.parametrize("interval, rule", [("1s", "1s"), ("1m", "1min")])
def test_bars_match_pandas_resample(trades_parquet, trades_ref, interval, rule):
    rows, _ = replay(ParquetFeed(trades_parquet, speed=0), bars=(interval,))
    bars = rows[rows["kind"] == BAR]
    df = trades_ref.assign(time=pd.to_datetime(trades_ref.timestamp, unit="us")).set_index("time")
    want = resampled_bars(df, rule, "amount")
    assert len(bars) == len(want) > 1
    np.testing.assert_array_equal(bars["ts_ns"], want.index.as_unit("ns").asi8)
    np.testing.assert_allclose(bars["open"], want.open)
    np.testing.assert_allclose(bars["high"], want.high)
    np.testing.assert_allclose(bars["low"], want.low)
    np.testing.assert_allclose(bars["price"], want.close)
    np.testing.assert_allclose(bars["volume"], want.volume, rtol=1e-9)
    np.testing.assert_allclose(bars["vwap"], want.notional / want.volume, rtol=1e-9)
    np.testing.assert_array_equal(bars["trade_count"], want["count"])


def test_a_recording_replays_as_it_was_recorded(tmp_path):
    """`mdstream record --parquet`'s files (ParquetRecorder), partitioned by
    kind and by symbol, replay the recorded trades and quotes; bars are not
    replayed (the replaying engine makes them again)."""
    from mdstream.record import ParquetRecorder

    original, _ = replay(CSVFeed([TRADES_CSV, QUOTES_CSV], speed=0), bars=("1m",))
    for partition_by in ("kind", "symbol"):
        directory = tmp_path / partition_by
        engine = Engine(feed=CSVFeed([TRADES_CSV, QUOTES_CSV], speed=0), bars=("1m",))
        sub = engine.subscribe()
        with engine, ParquetRecorder(directory, partition_by=partition_by,
                                     flush_rows=4000) as rec:
            for batch in sub.batches(timeout=30):
                rec.write(batch)
        feed = ParquetFeed(directory, speed=0)
        assert sorted(f.name for f in feed.formats) == ["mdstream-recording"] * 2
        rows, symbols = replay(feed, bars=("1m",))
        assert symbols == ["BTCUSDT"]
        for kind in (TRADE, QUOTE, BAR):
            a, b = rows[rows["kind"] == kind], original[original["kind"] == kind]
            assert len(a) == len(b) > 0, (partition_by, kind)
            for col in ("ts_ns", "price", "size", "bid", "ask", "vwap", "volume"):
                np.testing.assert_array_equal(a[col], b[col], err_msg=f"{partition_by} {col}")


def test_a_bad_row_names_the_file_and_the_row(tmp_path, trades_ref):
    bad = trades_ref.head(50).copy()
    bad.loc[17, "price"] = float("nan")
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), path, row_group_size=10)
    with pytest.raises(ParquetRowError) as info:
        ParquetFeed(path, speed=0)
    err = info.value
    assert isinstance(err, BadRowError) and err.path == str(path) and err.row == 18
    assert str(err).startswith(f"{path}: row 18 (index 17): ") and "price" in str(err)

    feed = ParquetFeed(path, speed=0, on_bad_row="skip")
    assert feed.rows == 49 and feed.bad_rows == 1 and feed.bad_row_examples[0].row == 18
    rows, _ = replay(feed)
    assert len(rows) == 49 and not np.isnan(rows["price"]).any()


def test_unusable_inputs_are_named(tmp_path, trades_ref):
    with pytest.raises(BadFileError, match=re.escape(f"{tmp_path / 'missing.parquet'}: no such")):
        ParquetFeed(tmp_path / "missing.parquet")
    text = tmp_path / "text.parquet"
    text.write_text("timestamp,price\n1,2\n")
    with pytest.raises(BadFileError, match=re.escape(str(text)) + ": cannot read it as Parquet"):
        ParquetFeed(text)
    no_size = tmp_path / "no_size.parquet"
    pq.write_table(pa.Table.from_pandas(trades_ref[["timestamp", "symbol", "price"]].head(5)),
                   no_size)
    with pytest.raises(BadFileError, match="no column for the size"):
        ParquetFeed(no_size)
    wrong = tmp_path / "wrong_type.parquet"
    pq.write_table(pa.table({"timestamp": [1, 2], "symbol": ["A", "B"], "price": [True, False],
                             "size": [1.0, 2.0]}), wrong)
    with pytest.raises(BadFileError, match=r"column 'price' \(the price\) has type bool"):
        ParquetFeed(wrong)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadFileError, match="holds no Parquet files"):
        ParquetFeed(empty)


def test_serve_streams_a_parquet_replay_to_a_client(helpers, trades_parquet, trades_ref):
    cmd = helpers.mdstream_command("serve", "--port", "0", "--feed", f"parquet:{trades_parquet}",
                                   "--speed", "0", "--bars", "1m")
    with helpers.popen(cmd) as proc:
        line = helpers.read_line_matching(proc.stdout, "listening on")
        port = int(re.search(r":(\d+)$", line.strip()).group(1))
        info = helpers.read_line_matching(proc.stdout, "Ctrl-C")
        assert "replaying 9,999 Parquet rows of 1 symbol (BTCUSDT) from trades.parquet" in info
        helpers.read_line_matching(proc.stdout, "the data ended")
        with Client(f"127.0.0.1:{port}") as client:
            stream = client.stream_batches(from_seq=0)
            got = []
            for batch in stream:
                got.append(batch.rows.copy())
                if sum(map(len, got)) >= 9999 + 126:
                    break
            stream.cancel()
        rows = np.concatenate(got)
        trades = rows[rows["kind"] == TRADE]
        assert len(trades) == 9999 and (rows["kind"] == BAR).sum() == 126
        np.testing.assert_array_equal(trades["price"], trades_ref.price.to_numpy())
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
        assert proc.returncode == 0, proc.stderr.read()


def test_serve_names_a_bad_parquet_row_in_one_line(helpers, tmp_path, trades_ref):
    bad = trades_ref.head(20).copy()
    bad.loc[3, "amount"] = -1.0
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), path)
    import subprocess
    done = subprocess.run(helpers.mdstream_command("serve", "--port", "0", "--feed",
                                                   f"parquet:{path}"),
                          capture_output=True, text=True, timeout=60, env=helpers.subprocess_env())
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"mdstream: error: {path}: row 4 (index 3): "), done.stderr
    assert done.stderr.count("\n") == 1


def test_loop_repeats_a_dataset_with_later_timestamps(tmp_path, trades_ref, no_thread_leak):
    ref = trades_ref.head(1000)
    (tmp_path / "d").mkdir()
    for k in range(2):
        pq.write_table(pa.Table.from_pandas(ref.iloc[k * 500:(k + 1) * 500], preserve_index=False),
                       tmp_path / "d" / f"part-{k}.parquet")
    feed = ParquetFeed(tmp_path / "d", speed=0, loop=True)
    rows = first_results(feed, 2600)
    first = rows[:1000]
    span = int(first["ts_ns"][-1] - first["ts_ns"][0])
    period = span + span // 999
    np.testing.assert_array_equal(rows["ts_ns"][1000:2000], first["ts_ns"] + period)
    np.testing.assert_array_equal(rows["ts_ns"][2000:2600], first["ts_ns"][:600] + 2 * period)
    np.testing.assert_array_equal(rows["price"][1000:2000], first["price"])
