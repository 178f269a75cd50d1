"""Replays of Databento DBN files (made from the recorded real data by
databento-dbn's own encoder: tests/data/dbn/make_dbn.py) through a real
Engine and `mdstream serve`, checked against pandas."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS  # the shape Metadata reads a symbol mapping from

import databento_dbn as db
import numpy as np
import pandas as pd
import pytest

from mdstream import BAR, QUOTE, TRADE
from mdstream.feeds.csv.errors import BadFileError, BadRowError
from mdstream.feeds.dbn import DBNFeed, DBNRecordError
from mdstream.feeds.dbn.reader import DBNReader, prices_to_float
from mdstream.feeds.symbol_index import SymbolIndex

from file_replay import replay, resampled_bars  # tests/integration/file_replay.py

pytestmark = pytest.mark.timeout(90)

DATA = Path(__file__).resolve().parents[1] / "data"
TRADES_DBN = DATA / "dbn" / "tardis_trades.trades.dbn.zst"
TBBO_DBN = DATA / "dbn" / "tardis_btcusdt.tbbo.dbn"
OHLCV_DBN = DATA / "dbn" / "tardis_btcusdt.ohlcv-1s.dbn.zst"
TRADES_CSV = DATA / "real" / "tardis_trades.csv"
QUOTES_CSV = DATA / "real" / "tardis_quotes.csv"
DAY = dt.date(2020, 2, 22)


@pytest.fixture(scope="module")
def trades_ref():
    return pd.read_csv(TRADES_CSV)


def write_dbn(path, schema, records, mappings=(("BTCUSDT", 1001),)):
    md = db.Metadata(dataset="TEST", start=0, stype_in=db.SType.RAW_SYMBOL,
                     stype_out=db.SType.INSTRUMENT_ID, schema=schema,
                     symbols=[m[0] for m in mappings],
                     mappings=[NS(raw_symbol=name, intervals=[NS(
                         start_date=DAY, end_date=DAY + dt.timedelta(days=1), symbol=str(iid))])
                               for name, iid in mappings])
    path.write_bytes(md.encode() + b"".join(bytes(r) for r in records))
    return path


def trade(iid, ts_ns, price, size=1):
    return db.TradeMsg(1, iid, ts_ns, price, size, db.Action.TRADE, db.Side.BID, 0, ts_ns)


T0 = 1582329602111000000      # 2020-02-22 00:00:02.111 UTC


def test_trades_replay_matches_the_data_and_pandas(trades_ref):
    feed = DBNFeed(TRADES_DBN, speed=0)
    assert feed.symbols == ["BTCUSDT"] and feed.schemas == ["trades"]
    rows, symbols = replay(feed)
    ref = trades_ref
    size = (ref.amount * 1000).round()                 # DBN sizes: units of 0.001 BTC
    assert len(rows) == len(ref) == 9999 and (rows["kind"] == TRADE).all()
    # fixed-point prices convert to exactly the doubles of the decimal text
    np.testing.assert_array_equal(rows["price"], ref.price.to_numpy())
    np.testing.assert_array_equal(rows["size"], size.to_numpy())
    np.testing.assert_array_equal(rows["ts_ns"], ref.timestamp.to_numpy() * 1000)
    assert (rows["ts_ns"][0], rows["price"][0]) == (T0, 9682.0)
    assert rows["price"][-1] == ref.price.iloc[-1]
    notional, volume = (ref.price * size).cumsum(), size.cumsum()
    np.testing.assert_allclose(rows["vwap"], (notional / volume).to_numpy(), rtol=1e-12)
    assert rows["volume"][-1] == volume.iloc[-1]


def test_tbbo_gives_the_quote_before_each_trade():
    t = pd.read_csv(TRADES_CSV)
    q = pd.read_csv(QUOTES_CSV)
    t = t[(t.timestamp > q.timestamp.iloc[0]) & (t.timestamp <= q.timestamp.iloc[-1])]
    before = q.iloc[q.timestamp.searchsorted(t.timestamp, side="left") - 1]
    rows, _ = replay(DBNFeed(TBBO_DBN, speed=0))
    quotes, trades = rows[rows["kind"] == QUOTE], rows[rows["kind"] == TRADE]
    assert len(quotes) == len(trades) == len(t) == 502
    assert (rows["kind"][0::2] == QUOTE).all() and (rows["kind"][1::2] == TRADE).all()
    np.testing.assert_array_equal(trades["price"], t.price.to_numpy())
    np.testing.assert_array_equal(quotes["bid"], before.bid_price.to_numpy())
    np.testing.assert_array_equal(quotes["ask"], before.ask_price.to_numpy())
    np.testing.assert_array_equal(quotes["bid_size"], (before.bid_amount * 1000).round().to_numpy())
    # a trade carries the quote just before it
    np.testing.assert_array_equal(trades["bid"], quotes["bid"])


@pytest.mark.parametrize("interval, rule", [("1s", "1s"), ("1m", "1min")])
def test_bars_match_pandas_resample(trades_ref, interval, rule):
    rows, _ = replay(DBNFeed(TRADES_DBN, speed=0), bars=(interval,))
    bars = rows[rows["kind"] == BAR]
    df = trades_ref.assign(time=pd.to_datetime(trades_ref.timestamp, unit="us"),
                           size=(trades_ref.amount * 1000).round()).set_index("time")
    want = resampled_bars(df, rule, "size")
    assert len(bars) == len(want) > 1
    np.testing.assert_array_equal(bars["ts_ns"], want.index.as_unit("ns").asi8)
    np.testing.assert_array_equal(bars["open"], want.open)
    np.testing.assert_array_equal(bars["high"], want.high)
    np.testing.assert_array_equal(bars["low"], want.low)
    np.testing.assert_array_equal(bars["price"], want.close)
    np.testing.assert_allclose(bars["volume"], want.volume, rtol=1e-12)
    np.testing.assert_allclose(bars["vwap"], want.notional / want.volume, rtol=1e-9)
    np.testing.assert_array_equal(bars["trade_count"], want["count"])


def test_prices_convert_exactly():
    texts = ["9681.92", "0.000000001", "-37.63", "123456789.123456789", "9223372036.854775806",
             "-9000000000.5", "0"]
    fixed = np.array([int(Decimal(x) * 10**9) for x in texts], dtype=np.int64)
    got = prices_to_float(np.append(fixed, db.UNDEF_PRICE), db.UNDEF_PRICE)
    assert got[:-1].tolist() == [float(x) for x in texts] and np.isnan(got[-1])


def test_instrument_ids_are_named_by_the_mappings_and_an_unmapped_one_is_a_bad_record(tmp_path):
    path = write_dbn(tmp_path / "two.dbn", db.Schema.TRADES,
                     [trade(1001, T0, 9682 * 10**9), trade(2002, T0 + 1, 260 * 10**9),
                      trade(1001, T0 + 2, 9683 * 10**9), trade(3003, T0 + 3, 1 * 10**9)],
                     mappings=(("BTCUSDT", 1001), ("ETHUSDT", 2002)))
    with pytest.raises(DBNRecordError) as info:
        DBNFeed(path, speed=0)
    err = info.value
    assert isinstance(err, BadRowError) and err.record == 4
    assert str(err).startswith(f"{path}: record 4: instrument_id 3003 has no symbol at "
                               "2020-02-22T00:00:02.111000003Z"), str(err)
    feed = DBNFeed(path, speed=0, on_bad_row="skip")
    assert feed.symbols == ["BTCUSDT", "ETHUSDT"] and feed.bad_rows == 1
    rows, symbols = replay(feed)
    assert [symbols[i] for i in rows["symbol_id"]] == ["BTCUSDT", "ETHUSDT", "BTCUSDT"]
    # one symbol for the whole file instead of its mappings
    rows, symbols = replay(DBNFeed(path, speed=0, symbol="X"))
    assert symbols == ["X"] and len(rows) == 4


def test_an_undefined_trade_price_is_a_bad_record(tmp_path):
    path = write_dbn(tmp_path / "undef.dbn", db.Schema.TRADES,
                     [trade(1001, T0, 9682 * 10**9), trade(1001, T0 + 1, db.UNDEF_PRICE)])
    with pytest.raises(DBNRecordError, match=re.escape(f"{path}: record 2: ") + ".*price"):
        DBNFeed(path, speed=0)


def test_ohlcv_bars_replay_as_the_bars_the_engine_makes_of_the_same_trades(trades_ref):
    """The ohlcv-1s file holds the trades file's 1 s bars (pandas' resample):
    replayed, they are bar results equal to pandas' and to the engine's own
    bars of the trades, but with no trade count, VWAP or notional."""
    feed = DBNFeed(OHLCV_DBN, speed=0)
    assert feed.schemas == ["ohlcv-1s"] and feed.symbols == ["BTCUSDT"]
    rows, _ = replay(feed)
    df = trades_ref.assign(time=pd.to_datetime(trades_ref.timestamp, unit="us"),
                           size=(trades_ref.amount * 1000).round()).set_index("time")
    want = resampled_bars(df, "1s", "size")
    assert len(rows) == len(want) == 2959 and (rows["kind"] == BAR).all()
    np.testing.assert_array_equal(rows["ts_ns"], want.index.as_unit("ns").asi8)
    assert (rows["interval_ns"] == 1_000_000_000).all()
    for got, col in (("open", "open"), ("high", "high"), ("low", "low"), ("price", "close"),
                     ("volume", "volume"), ("size", "volume")):
        np.testing.assert_array_equal(rows[got], want[col].to_numpy(), err_msg=got)
    assert (rows["trade_count"] == 0).all() and np.isnan(rows["vwap"]).all()
    made, _ = replay(DBNFeed(TRADES_DBN, speed=0), bars=("1s",))
    made = made[made["kind"] == BAR]
    for name in ("ts_ns", "interval_ns", "open", "high", "low", "price", "volume"):
        np.testing.assert_array_equal(rows[name], made[name], err_msg=name)


def test_ohlcv_bars_are_paced_at_their_end_and_checked(tmp_path):
    bars = [db.OHLCVMsg(db.RType.OHLCV_1M.value, 1, 1001, T0 + k * 60 * 10**9, 10 * 10**9,
                        12 * 10**9, 9 * 10**9, 11 * 10**9, 5) for k in range(3)]
    path = write_dbn(tmp_path / "bars.dbn", db.Schema.OHLCV_1M, bars)
    ticks = np.concatenate(list(DBNReader(path, SymbolIndex(None)).chunks()))
    assert (ticks["recv_ns"] - ticks["ts_ns"] == 60 * 10**9).all()      # known at its end
    bad = db.OHLCVMsg(db.RType.OHLCV_1M.value, 1, 1001, T0 + 3 * 60 * 10**9, 10 * 10**9,
                      9 * 10**9, 8 * 10**9, 11 * 10**9, 5)                # close above high
    undef = db.OHLCVMsg(db.RType.OHLCV_1M.value, 1, 1001, T0 + 4 * 60 * 10**9, db.UNDEF_PRICE,
                        12 * 10**9, 9 * 10**9, 11 * 10**9, 5)
    path = write_dbn(tmp_path / "bad.dbn", db.Schema.OHLCV_1M, [*bars, bad, undef])
    with pytest.raises(DBNRecordError, match=re.escape(f"{path}: record 4: the open 10.0 is above "
                                                       "the high 9.0 (a bar needs low <= open, "
                                                       "close <= high)") + "$"):
        DBNFeed(path, speed=0)
    feed = DBNFeed(path, speed=0, on_bad_row="skip")
    assert (feed.rows, feed.bad_rows) == (3, 2)
    assert "record 5: missing open" in str(feed.bad_row_examples[1])


def test_ohlcv_eod_is_refused_with_the_reason(tmp_path):
    bar = db.OHLCVMsg(db.RType.OHLCV_EOD.value, 1, 1001, T0, 1, 2, 1, 2, 10)
    path = write_dbn(tmp_path / "bars.dbn", db.Schema.OHLCV_EOD, [bar])
    with pytest.raises(BadFileError, match=r"schema ohlcv-eod is not replayed: its bars span a "
                                           r"venue's trading session"):
        DBNFeed(path)


def test_damaged_files_are_named(tmp_path):
    raw = TBBO_DBN.read_bytes()
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(raw[:-30])
    with pytest.raises(BadFileError, match=re.escape(str(cut)) + ": the file ends inside a record"):
        DBNFeed(cut)
    text = tmp_path / "text.dbn"
    text.write_text("timestamp,price\n")
    with pytest.raises(BadFileError, match=re.escape(str(text)) + ": not a DBN file"):
        DBNFeed(text)
    with pytest.raises(BadFileError, match="cannot open the file"):
        DBNFeed(tmp_path / "missing.dbn")


def test_serve_replays_dbn_and_a_client_gets_every_trade(helpers, trades_ref):
    from mdstream.grpc.client import Client
    import signal

    cmd = helpers.mdstream_command("serve", "--port", "0", "--feed", f"dbn:{TRADES_DBN}",
                                   "--speed", "0")
    with helpers.popen(cmd) as proc:
        line = helpers.read_line_matching(proc.stdout, "listening on")
        port = int(re.search(r":(\d+)$", line.strip()).group(1))
        info = helpers.read_line_matching(proc.stdout, "Ctrl-C")
        assert "replaying 9,999 DBN ticks of 1 symbol (BTCUSDT) from " \
               "tardis_trades.trades.dbn.zst (trades)" in info, info
        helpers.read_line_matching(proc.stdout, "the data ended")
        with Client(f"127.0.0.1:{port}") as client:
            stream = client.stream_batches(from_seq=0)
            got = []
            for batch in stream:
                got.append(batch.rows.copy())
                if sum(map(len, got)) >= 9999:
                    break
            stream.cancel()
        rows = np.concatenate(got)
        np.testing.assert_array_equal(rows["price"], trades_ref.price.to_numpy())
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
        assert proc.returncode == 0, proc.stderr.read()

    done = subprocess.run(helpers.mdstream_command("serve", "--port", "0", "--feed",
                                                   f"dbn:{TRADES_DBN}", "--preset", "truefx"),
                          capture_output=True, text=True, timeout=60, env=helpers.subprocess_env())
    assert done.returncode == 1 and "--preset: not an option of --feed dbn" in done.stderr


def test_the_raw_record_layouts_are_databento_dbns():
    """The fast path views the file's bytes as NumPy records: its layouts have
    databento-dbn's sizes, and give the values its decoder gives."""
    from mdstream.feeds.dbn import records
    from mdstream.feeds.dbn.reader import _columns_of_array, _columns_of_records

    assert records.TRADE_RECORD.itemsize == db.TradeMsg.size_hint
    assert records.MBP1_RECORD.itemsize == db.MBP1Msg.size_hint
    for path, layout in ((TBBO_DBN, records.MBP1_RECORD),):
        raw = path.read_bytes()
        start = records.metadata_length(raw[:8])
        arr = np.frombuffer(raw[start:], dtype=layout)
        objs = db.DBNDecoder().write_and_decode(raw)[1:]
        a, b = _columns_of_array(arr), _columns_of_records(objs, db)
        assert len(arr) == len(objs) == 502
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_a_file_of_mixed_records_is_decoded_record_by_record(tmp_path):
    """Live data: trades with a symbol mapping record among them (no single
    layout), read through databento-dbn's decoder from where it changes."""
    md = db.Metadata(dataset="TEST", start=0, stype_in=db.SType.RAW_SYMBOL,
                     stype_out=db.SType.INSTRUMENT_ID, schema=db.Schema.TRADES,
                     symbols=["BTCUSDT"], mappings=[])
    records = [trade(7, T0 + k, (9000 + k) * 10**9) for k in range(3)]
    mapping = db.SymbolMappingMsg(1, 7, T0, db.SType.RAW_SYMBOL, "BTCUSDT",
                                  db.SType.INSTRUMENT_ID, "7", T0, db.UNDEF_TIMESTAMP)
    path = tmp_path / "live.dbn"
    path.write_bytes(md.encode() + bytes(mapping) + b"".join(bytes(r) for r in records))
    rows, symbols = replay(DBNFeed(path, speed=0))
    assert symbols == ["BTCUSDT"] and rows["price"].tolist() == [9000.0, 9001.0, 9002.0]


def test_a_bad_tbbo_record_gives_neither_its_quote_nor_its_trade(tmp_path):
    def tbbo(k, price, iid=1001):
        level = db.BidAskPair(bid_px=9681 * 10**9, ask_px=9682 * 10**9, bid_sz=1, ask_sz=2,
                              bid_ct=1, ask_ct=1)
        return db.MBP1Msg(1, iid, T0 + k, price, 1, db.Action.TRADE, db.Side.ASK, 0, T0 + k,
                          levels=level)
    records = [tbbo(0, 9682 * 10**9), tbbo(1, db.UNDEF_PRICE), tbbo(2, 9683 * 10**9, iid=5),
               tbbo(3, 9684 * 10**9)]
    path = write_dbn(tmp_path / "tbbo.dbn", db.Schema.TBBO, records)
    with pytest.raises(DBNRecordError) as info:
        DBNFeed(path, speed=0)
    assert info.value.record == 2 and "price" in str(info.value)      # the first bad record
    feed = DBNFeed(path, speed=0, on_bad_row="skip")
    assert feed.bad_rows == 2 and feed.rows == 4
    assert [e.record for e in feed.bad_row_examples] == [2, 3]
    rows, _ = replay(feed)
    assert rows["kind"].tolist() == [QUOTE, TRADE, QUOTE, TRADE]
    assert rows[rows["kind"] == TRADE]["price"].tolist() == [9682.0, 9684.0]


def test_a_zstd_file_of_several_frames_is_read_whole(tmp_path):
    """Concatenated Zstandard frames (as when compressed files are appended) are one file."""
    import zstandard

    raw = TBBO_DBN.read_bytes()
    from mdstream.feeds.dbn.records import MBP1_RECORD, metadata_length
    cut = metadata_length(raw[:8]) + 200 * MBP1_RECORD.itemsize
    path = tmp_path / "frames.tbbo.dbn.zst"
    c = zstandard.ZstdCompressor()
    path.write_bytes(c.compress(raw[:cut]) + c.compress(raw[cut:]))
    a, _ = replay(DBNFeed(path, speed=0))
    b, _ = replay(DBNFeed(TBBO_DBN, speed=0))
    assert len(a) == len(b) == 1004
    np.testing.assert_array_equal(a["price"], b["price"])
