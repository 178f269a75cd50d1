"""Reading recorded files into tick arrays: the real files, compression, and every bad input."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from mdstream import QUOTE, TRADE, TICK_DTYPE
from mdstream.feeds.csv.errors import BadFileError, BadRowError
from mdstream.feeds.csv.reader import CSVFileReader, ReadStats
from mdstream.feeds.symbol_index import SymbolIndex

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
TRADES = REAL / "tardis_trades.csv"
QUOTES = REAL / "tardis_quotes.csv"
TRUEFX = REAL / "truefx-usdjpy-ticks.csv"

HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def row(ts=1582329602111000, price="9682", amount="0.132", side="buy", symbol="BTCUSDT", extra=""):
    return f"binance-futures,{symbol},{ts},{ts},42377944,{side},{price},{amount}{extra}\n"


def read(path, symbols=None, **kw):
    index = SymbolIndex(symbols)
    reader = CSVFileReader(path, index, **kw)
    stats = ReadStats()
    chunks = list(reader.chunks(stats))
    ticks = np.concatenate(chunks) if chunks else np.zeros(0, TICK_DTYPE)
    return ticks, stats, index


def write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def python_rows(path):
    """The file read by the csv module: an independent reference."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- the real files -------------------------------------------------------------

def test_tardis_trades_match_the_file():
    ticks, stats, index = read(TRADES)
    ref = python_rows(TRADES)
    assert len(ticks) == len(ref) == 9999 and stats.rows == 9999 and stats.bad_rows == 0
    assert index.names == ["BTCUSDT"]
    assert (ticks["kind"] == TRADE).all()
    assert ticks["ts_ns"].tolist() == [int(r["timestamp"]) * 1000 for r in ref]
    assert ticks["price"].tolist() == [float(r["price"]) for r in ref]
    assert ticks["size"].tolist() == [float(r["amount"]) for r in ref]
    assert (ticks[0]["ts_ns"], ticks[0]["price"], ticks[0]["size"]) == (1582329602111000000, 9682.0, 0.132)
    assert (ticks[-1]["ts_ns"], ticks[-1]["price"], ticks[-1]["size"]) == (1582337147728000000, 9666.84, 0.07)
    # in order already: pacing times are the timestamps
    assert (ticks["recv_ns"] == ticks["ts_ns"]).all() and stats.late_rows == 0


def test_tardis_quotes_take_bid_and_ask_by_name():
    ticks, stats, _ = read(QUOTES)
    ref = python_rows(QUOTES)
    assert len(ticks) == 9999 and (ticks["kind"] == QUOTE).all()
    assert ticks["bid"].tolist() == [float(r["bid_price"]) for r in ref]
    assert ticks["ask"].tolist() == [float(r["ask_price"]) for r in ref]
    assert ticks["bid_size"].tolist() == [float(r["bid_amount"]) for r in ref]
    assert ticks["ask_size"].tolist() == [float(r["ask_amount"]) for r in ref]
    first = ticks[0]
    assert (first["bid"], first["ask"], first["bid_size"], first["ask_size"]) == (9681.92, 9682.0, 0.67, 0.84)
    assert (ticks["ask"] >= ticks["bid"]).all()


def test_truefx_iso_timestamps_and_a_fixed_symbol():
    ticks, _, index = read(TRUEFX, symbol="USDJPY")
    assert len(ticks) == 1000 and index.names == ["USDJPY"]
    assert ticks[0]["ts_ns"] == 1357077600295000000          # 2013-01-01 22:00:00.295 UTC
    assert ticks[-1]["ts_ns"] == 1357079713494000000         # 2013-01-01 22:35:13.494 UTC
    assert (ticks[0]["bid"], ticks[0]["ask"]) == (86.655, 86.728)
    assert (ticks[-1]["bid"], ticks[-1]["ask"]) == (86.836, 86.854)
    assert (ticks["bid_size"] == 0).all()


def test_gzip_reads_the_same_as_plain(tmp_path):
    gz = tmp_path / "trades.csv.gz"
    with open(TRADES, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain, _, _ = read(TRADES)
    packed, _, _ = read(gz)
    assert np.array_equal(plain, packed)


@pytest.mark.parametrize("module", ["bz2", "lzma"])
def test_other_compressions(tmp_path, module):
    mod = __import__(module)
    p = tmp_path / "trades.csv.z"
    p.write_bytes(mod.compress(TRUEFX.read_bytes()))
    ticks, _, _ = read(p, symbol="USDJPY")
    assert len(ticks) == 1000


def test_chunk_boundaries_do_not_change_the_ticks():
    whole, _, _ = read(QUOTES)
    small, _, _ = read(QUOTES, chunk_rows=7)
    assert np.array_equal(whole, small)


# -- formats --------------------------------------------------------------------

def test_epoch_units_are_detected(tmp_path):
    base = 1582329602111000123
    for unit, div in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)):
        p = write(tmp_path, f"ts,sym,px,qty\n{base // div},A,1.5,2\n{base // div + 1},A,1.5,2\n")
        ticks, _, _ = read(p)
        assert ticks["ts_ns"].tolist() == [base // div * div, (base // div + 1) * div], unit


def test_fractional_epoch_seconds(tmp_path):
    p = write(tmp_path, "time,ticker,price,size\n1582329602.111,A,1,1\n1582329602.5,A,1,1\n")
    ticks, _, _ = read(p)
    assert ticks["ts_ns"].tolist() == [1582329602111000000, 1582329602500000000]


def test_integer_then_fractional_timestamps(tmp_path):
    # the first row sniffs integers; the fractions later make the reader re-read that chunk as text
    p = write(tmp_path, "ts,sym,px,qty\n1582329602,A,1,1\n1582329603.25,A,1,1\n1582329604,A,1,1\n")
    ticks, _, _ = read(p, time_unit="s")
    assert ticks["ts_ns"].tolist() == [1582329602 * 10**9, 1582329603250000000, 1582329604 * 10**9]


def test_symbols_that_look_like_numbers_keep_their_text(tmp_path):
    p = write(tmp_path, "ts,ticker,px,qty\n1582329602,0700,300,1\n1582329603,9988,80,1\n1582329604,0700,301,2\n")
    ticks, _, index = read(p)
    assert index.names == ["0700", "9988"]
    assert ticks["symbol_id"].tolist() == [0, 1, 0]


def test_semicolon_delimiter_and_crlf(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_bytes(b"timestamp;symbol;price;size\r\n1582329602000;X;1.5;2\r\n1582329603000;X;1.75;3\r\n")
    ticks, _, _ = read(p)
    assert ticks["price"].tolist() == [1.5, 1.75]
    assert ticks["ts_ns"].tolist() == [1582329602 * 10**9, 1582329603 * 10**9]


def test_a_bom_before_the_header(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbftimestamp,bid,ask\n2013-01-01T22:00:00Z,1,2\n")
    ticks, _, _ = read(p, symbol="X")
    assert len(ticks) == 1


# -- bad input: each names the file, the line and the problem ---------------------

def bad(path, cls=BadRowError, **kw):
    with pytest.raises(cls) as info:
        read(path, **kw)
    err = info.value
    assert err.path == str(path)
    assert str(err).startswith(f"{path}:{err.line}: " if err.line else f"{path}: ")
    return err


def test_missing_column(tmp_path):
    p = write(tmp_path, "exchange,symbol,timestamp,local_timestamp,id,side,price\n" + row().rsplit(",", 1)[0] + "\n")
    err = bad(p, BadFileError, preset="tardis-trades")
    assert err.line == 1
    assert "missing column 'amount' (the size) for preset tardis-trades" in err.problem


def test_bad_number(tmp_path):
    p = write(tmp_path, HEADER + row() + row() + row(price="96x2") + row())
    err = bad(p)
    assert (err.line, err.problem) == (4, "bad number '96x2' for the price (column 'price')")


def test_missing_value(tmp_path):
    p = write(tmp_path, HEADER + row() + row(amount=""))
    err = bad(p)
    assert (err.line, err.problem) == (3, "missing size (column 'amount')")


def test_too_few_fields(tmp_path):
    p = write(tmp_path, HEADER + row() + row().rsplit(",", 2)[0] + "\n")
    err = bad(p)
    assert (err.line, err.problem) == (3, "missing price (column 'price')")


def test_negative_size_and_non_finite_numbers(tmp_path):
    err = bad(write(tmp_path, HEADER + row(amount="-1")))
    assert (err.line, err.problem) == (
        2, "the size must be a finite number >= 0, got -1.0 (column 'amount')")
    err = bad(write(tmp_path, HEADER + row() + row(price="inf")))
    assert (err.line, err.problem) == (
        3, "the price must be a finite number, got inf (column 'price')")


def test_zero_and_negative_prices_are_read(tmp_path):
    ticks, _, _ = read(write(tmp_path, HEADER + row(price="0") + row(price="-37.63")))
    assert ticks["price"].tolist() == [0.0, -37.63]


def test_any_side_is_read(tmp_path):
    ticks, _, _ = read(write(tmp_path, HEADER + row() + row() + row(side="hold")))
    assert len(ticks) == 3


def test_bad_timestamp_text(tmp_path):
    err = bad(write(tmp_path, HEADER + row() + row(ts="2020-02-22T00:00:02")))
    assert err.line == 3
    assert err.problem.startswith("bad timestamp '2020-02-22T00:00:02' in column 'timestamp': "
                                  "expected a number of us since the Unix epoch")


def test_bad_timestamp_magnitude(tmp_path):
    p = write(tmp_path, "ts,sym,px,qty\n1582329602111,A,1,1\n1582329603,A,1,1\n")
    err = bad(p)
    assert err.line == 3
    assert "its magnitude is that of s, but this file's timestamps are in ms (from line 2)" in err.problem


def test_bad_iso_timestamp(tmp_path):
    p = write(tmp_path, "timestamp,bid,ask\n2013-01-01 22:00:00.295000+00:00,1,2\n2013-02-30 22:00:00,1,2\n")
    err = bad(p, symbol="X")
    assert err.line == 3 and err.problem.startswith("bad timestamp '2013-02-30 22:00:00'")


def test_too_many_fields(tmp_path):
    err = bad(write(tmp_path, HEADER + row() + row(extra=",x")))
    assert (err.line, err.problem) == (3, "too many fields: the header has 8")
    # more than one extra field is caught by the tokenizer, with its line
    err = bad(write(tmp_path, HEADER + row() + row() + row(extra=",x,y,z")))
    assert (err.line, err.problem) == (4, "too many fields: 11, the header has 8")


def test_unknown_and_missing_symbols(tmp_path):
    err = bad(write(tmp_path, HEADER + row() + row(symbol="ETHUSDT")), symbols=["BTCUSDT"])
    assert err.line == 3 and err.problem.startswith("unknown symbol 'ETHUSDT' in column 'symbol'")
    err = bad(write(tmp_path, HEADER + row(symbol="")))
    assert (err.line, err.problem) == (2, "missing symbol (column 'symbol')")


def test_blank_lines_count_in_line_numbers_and_are_ignored(tmp_path):
    p = write(tmp_path, HEADER + row() + "\n\n" + row() + row(price="x"))
    err = bad(p)
    assert err.line == 6
    ticks, _, _ = read(write(tmp_path, HEADER + row() + "\n" + row() + "\n"))
    assert len(ticks) == 2


def test_the_first_bad_row_of_a_later_chunk(tmp_path):
    text = HEADER + "".join(row(ts=1582329602111000 + i) for i in range(25)) + row(price="x")
    index = SymbolIndex()
    reader = CSVFileReader(write(tmp_path, text), index, chunk_rows=10)
    got = []
    with pytest.raises(BadRowError) as info:
        for chunk in reader.chunks():
            got.append(len(chunk))
    assert info.value.line == 27
    assert got == [10, 10]        # the chunk holding the bad row gives nothing


def test_empty_file(tmp_path):
    err = bad(write(tmp_path, ""), BadFileError)
    assert err.line is None and err.problem.startswith("the file is empty")


def test_header_only(tmp_path):
    ticks, stats, _ = read(write(tmp_path, HEADER))
    assert len(ticks) == 0 and stats.rows == 0 and stats.bad_rows == 0


def test_truncated_gzip(tmp_path):
    data = gzip.compress(TRADES.read_bytes())
    p = tmp_path / "trades.csv.gz"
    p.write_bytes(data[: len(data) * 2 // 3])
    err = bad(p, BadFileError)
    assert err.line is None
    assert err.problem.startswith("the gzip data ends early: the file is truncated")


def test_damaged_gzip(tmp_path):
    data = bytearray(gzip.compress(TRADES.read_bytes()))
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    p = tmp_path / "trades.csv.gz"
    p.write_bytes(bytes(data))
    err = bad(p, BadFileError)
    assert "gzip data" in err.problem


def test_no_such_file(tmp_path):
    err = bad(tmp_path / "nope.csv", BadFileError)
    assert err.problem.startswith("cannot open the file: No such file")


def test_not_text(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(HEADER.encode() + row().encode() + b"binance,BTC\xff\xfe,1,1,1,buy,1,1\n")
    err = bad(p)
    assert (err.line, err.problem) == (3, "not utf-8 text: byte 0xff at character 12 (invalid start byte)")
    ticks, stats, _ = read(p, on_bad_row="skip")
    assert len(ticks) == 1 and stats.bad_rows == 1


# -- skipping bad rows --------------------------------------------------------------

def test_skip_counts_bad_rows_and_keeps_the_rest(tmp_path):
    lines = [row(ts=1582329602111000 + i, price=str(100 + i)) for i in range(12)]
    lines[1] = row(price="abc")                       # line 3
    lines[4] = row(extra=",1,2,3")                    # line 6: the tokenizer rejects it
    lines[7] = row(ts="")                             # line 9
    lines[9] = row(amount="-5")                       # line 11
    p = write(tmp_path, HEADER + "".join(lines))
    ticks, stats, _ = read(p, on_bad_row="skip", chunk_rows=4)
    assert stats.bad_rows == 4
    assert [e.line for e in stats.examples] == [3, 6, 9, 11]
    assert [e.problem.split(" ")[0] for e in stats.examples] == ["bad", "too", "missing", "the"]
    assert ticks["price"].tolist() == [100, 102, 103, 105, 106, 108, 110, 111]


@pytest.mark.filterwarnings("ignore:Length of header or names")  # pandas, on a first row too long
def test_skip_with_only_tokenizer_errors(tmp_path):
    lines = [row(ts=1582329602111000 + i) for i in range(6)]
    lines[0] = row(extra=",a,b")
    lines[5] = row(extra=",a,b")
    ticks, stats, _ = read(write(tmp_path, HEADER + "".join(lines)), on_bad_row="skip")
    assert len(ticks) == 4 and stats.bad_rows == 2
    assert [e.line for e in stats.examples] == [2, 7]


# -- out-of-order timestamps ----------------------------------------------------------

def _ooo(tmp_path):
    ts = [10, 20, 15, 30, 5, 40]
    text = "ts,sym,px,qty\n" + "".join(f"{1582329602000 + t},A,{i + 1},1\n" for i, t in enumerate(ts))
    return write(tmp_path, text)


def test_out_of_order_rows_are_kept_in_place_and_paced_at_the_latest_time(tmp_path):
    ticks, stats, _ = read(_ooo(tmp_path), chunk_rows=2)
    base = 1582329602000 * 10**6
    assert ((ticks["ts_ns"] - base) // 10**6).tolist() == [10, 20, 15, 30, 5, 40]
    assert ((ticks["recv_ns"] - base) // 10**6).tolist() == [10, 20, 20, 30, 30, 40]
    assert ticks["price"].tolist() == [1, 2, 3, 4, 5, 6]
    assert stats.late_rows == 2


def test_out_of_order_rows_can_be_rejected(tmp_path):
    err = bad(_ooo(tmp_path), out_of_order="reject")
    assert err.line == 4 and "is earlier than an earlier row's" in err.problem
    ticks, stats, _ = read(_ooo(tmp_path), out_of_order="reject", on_bad_row="skip", chunk_rows=4)
    assert ticks["price"].tolist() == [1, 2, 4, 6]
    assert stats.bad_rows == 2 and [e.line for e in stats.examples] == [4, 6]


def test_restarts_inside_a_gzip_file(tmp_path):
    # skipping a row the tokenizer rejects, and re-reading a chunk as text, both
    # reopen the stream at a line: check that inside compressed data too
    lines = [f"{1582329602 + i},A,{i + 1},1\n" for i in range(40)]
    lines[15] = "1582329617,A,16,1,x,y,z\n"          # line 17: too many fields
    lines[30] = "1582329632.5,A,31,1\n"               # line 32: a fraction, in int timestamps
    p = tmp_path / "rows.csv.gz"
    p.write_bytes(gzip.compress(("ts,sym,px,qty\n" + "".join(lines)).encode()))
    ticks, stats, _ = read(p, on_bad_row="skip", chunk_rows=8)
    assert stats.bad_rows == 1 and stats.examples[0].line == 17
    assert ticks["price"].tolist() == [i + 1 for i in range(40) if i != 15]
    assert ticks["ts_ns"][29] == 1582329632500000000
