"""Real-world input, the same on every ingestion path (publish_trades,
publish_quotes, publish([...]), CSV rows): negative prices, quotes without a
bid or an ask, NaN and infinity, vendor side codes, empty days, late ticks."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

import mdstream
from mdstream import CSVFeed, Engine, Quote, Trade
from mdstream.errors import InvalidArgumentError
from mdstream.feeds.csv.errors import BadFileError, BadRowError

pytestmark = pytest.mark.timeout(60)

NAN, INF = float("nan"), float("inf")
S = 1_000_000_000
T0 = 1_587_340_800 * S          # 2020-04-20T00:00:00Z


def run_publish(calls, symbols=("CL",), **engine_kw) -> tuple[np.ndarray, Engine]:
    """Results of a fresh engine after calls(engine), to the end of the data."""
    engine = Engine(symbols=list(symbols), **engine_kw)
    sub = engine.subscribe()
    with engine:
        calls(engine)
        engine.close_ingest()
        rows = [b.rows.copy() for b in sub]
        stats = engine.stats()
    return (np.concatenate(rows) if rows else np.zeros(0)), stats


def run_csv(paths, bars=(), **kw) -> tuple[np.ndarray, object]:
    feed = CSVFeed(paths, speed=0, **kw)
    engine = Engine(feed=feed, bars=bars)
    sub = engine.subscribe()
    with engine:
        rows = np.concatenate([b.rows.copy() for b in sub])
        stats = engine.stats()
    return rows, stats


def write(tmp_path, name, text, gz=False):
    p = tmp_path / name
    if gz:
        p.write_bytes(gzip.compress(text.encode()))
    else:
        p.write_text(text)
    return p


# --- 1. negative prices ------------------------------------------------------------------

WTI = [18.27, 10.01, 1.0, 0.0, -37.63, -5.0, 10.01]


def test_negative_prices_on_every_path(tmp_path):
    sizes = [1.0, 2.0, 1.0, 1.0, 3.0, 1.0, 2.0]
    ts = [T0 + k * S for k in range(len(WTI))]
    paths = {
        "publish_trades": run_publish(lambda e: e.publish_trades("CL", WTI, sizes, ts_ns=ts))[0],
        "publish": run_publish(lambda e: e.publish(
            [Trade("CL", p, q, t) for p, q, t in zip(WTI, sizes, ts)]))[0],
        "csv": run_csv(write(tmp_path, "cl.csv", "timestamp,symbol,price,size\n" + "".join(
            f"{t},CL,{p},{q}\n" for p, q, t in zip(WTI, sizes, ts))), time_unit="ns")[0],
    }
    for name, rows in paths.items():
        last = rows[-1]
        assert rows["price"].tolist() == WTI, name
        assert last["low"] == -37.63 and last["high"] == 18.27, name
        notional = sum(p * q for p, q in zip(WTI, sizes))
        assert last["vwap"] == pytest.approx(notional / sum(sizes)), name
        ema = WTI[0]
        for p in WTI[1:]:
            ema += 2.0 / 21.0 * (p - ema)
        assert last["ema"] == pytest.approx(ema), name
        # Returns: 18.27 -> 10.01 -> 1.0 only (at 0 and below, no log return).
        rets = [math.log(10.01 / 18.27), math.log(1.0 / 10.01)]
        sd = math.sqrt(sum((r - sum(rets) / 2) ** 2 for r in rets) / 1)
        assert not np.isnan(rows["volatility"]).any(), name
        assert last["volatility"] == pytest.approx(sd), name


# --- 2 and 3. quotes without a bid; NaN and infinity -----------------------------------

def test_a_quote_without_a_bid_is_nan_on_every_path(tmp_path):
    ts = [T0, T0 + 1, T0 + 2]

    def publish_quotes(e):
        e.publish_quotes("OPT", bid=[0.0, NAN, 0.05], ask=[0.05, 0.05, 0.10],
                         bid_size=[0.0, 0.0, 10.0], ask_size=[25.0, 25.0, 5.0], ts_ns=ts)

    def publish(e):
        e.publish([Quote("OPT", 0.0, 0.05, 0.0, 25.0, ts[0]), Quote("OPT", NAN, 0.05, 0, 25.0, ts[1]),
                   Quote("OPT", 0.05, 0.10, 10.0, 5.0, ts[2])])

    csv = write(tmp_path, "q.csv", "timestamp,symbol,bid,ask,bid_size,ask_size\n"
                f"{ts[0]},OPT,0.00,0.05,0,25\n{ts[1]},OPT,,0.05,,25\n{ts[2]},OPT,0.05,0.10,10,5\n")
    results = {"publish_quotes": run_publish(publish_quotes, ["OPT"])[0],
               "publish": run_publish(publish, ["OPT"])[0],
               "csv": run_csv(csv, time_unit="ns")[0]}
    for name, rows in results.items():
        np.testing.assert_array_equal(rows["bid"], [NAN, NAN, 0.05], err_msg=name)
        np.testing.assert_array_equal(rows["bid_size"], [0.0, 0.0, 10.0], err_msg=name)
        np.testing.assert_allclose(rows["mid"], [NAN, NAN, 0.075], err_msg=name)
        np.testing.assert_allclose(rows["price"], [NAN, NAN, 0.075], err_msg=name)
        assert np.isnan(rows["spread"][:2]).all() and rows["spread"][2] == pytest.approx(0.05)


def test_a_zero_bid_with_a_size_is_a_real_price(tmp_path):
    rows, _ = run_publish(lambda e: e.publish_quotes("X", bid=0.0, ask=0.25, bid_size=5.0,
                                                     ask_size=5.0), ["X"])
    assert (rows["bid"][0], rows["mid"][0]) == (0.0, 0.125)


BAD_TRADES = [  # price, size, problem
    (INF, 1.0, "the price must be a finite number, got inf"),
    (-INF, 1.0, "the price must be a finite number, got -inf"),
    (NAN, 1.0, "the price must be a finite number, got nan"),
    (10.0, INF, "the size must be a finite number >= 0, got inf"),
    (10.0, -1.0, "the size must be a finite number >= 0, got -1.0"),
]


@pytest.mark.parametrize("price, size, problem", BAD_TRADES)
def test_bad_trades_are_rejected_alike_on_every_path(tmp_path, price, size, problem):
    engine = Engine(symbols=["CL"])
    sub = engine.subscribe()
    with engine:
        engine.publish_trades("CL", 20.0, 5.0, ts_ns=T0)
        with pytest.raises(InvalidArgumentError) as a:
            engine.publish_trades("CL", [20.0, price], [1.0, size], ts_ns=T0 + 1)
        assert str(a.value) == f"tick 1: {problem}"
        with pytest.raises(InvalidArgumentError) as b:
            engine.publish([Trade("CL", 20.0, 1.0, T0 + 1), Trade("CL", price, size, T0 + 1)])
        assert str(b.value) == f"tick 1: {problem}"
        engine.publish_trades("CL", 30.0, 5.0, ts_ns=T0 + 2)
        engine.close_ingest()
        rows = np.concatenate([x.rows.copy() for x in sub])
    # Nothing of a rejected call went in: the session stays finite.
    assert rows["volume"].tolist() == [5.0, 10.0] and rows["vwap"][-1] == 25.0
    text = "timestamp,symbol,price,size\n" f"{T0},CL,20,1\n{T0 + 1},CL,{price},{size}\n"
    with pytest.raises(BadRowError) as c:
        CSVFeed(write(tmp_path, "t.csv", text), speed=0, time_unit="ns")
    field = problem.split()[1]
    if math.isnan(price):       # "nan" in a file is a missing value, as an empty cell
        problem = "missing price"
    assert (c.value.line, c.value.problem) == (3, f"{problem} (column '{field}')")


BAD_QUOTES = [  # bid, ask, bid_size, ask_size, problem
    (NAN, 1.0, 5.0, 1.0, "the bid is missing (NaN) but the bid_size is 5.0: "
                         "a side with a size needs a finite price"),
    (1.0, INF, 1.0, 1.0, "the ask must be a finite number, got inf"),
    (INF, 2.0, 0.0, 1.0, "the bid must be a finite number, got inf"),
    (1.0, 2.0, 1.0, -3.0, "the ask_size must be a finite number >= 0, got -3.0"),
]


@pytest.mark.parametrize("bid, ask, bid_size, ask_size, problem", BAD_QUOTES)
def test_bad_quotes_are_rejected_alike_on_every_path(tmp_path, bid, ask, bid_size, ask_size, problem):
    with Engine(symbols=["X"]) as engine:
        with pytest.raises(InvalidArgumentError) as a:
            engine.publish_quotes("X", bid, ask, bid_size, ask_size)
        assert str(a.value) == f"tick 0: {problem}"
        with pytest.raises(InvalidArgumentError) as b:
            engine.publish([Trade("X", 1.0, 1.0), Quote("X", bid, ask, bid_size, ask_size)])
        assert str(b.value) == f"tick 1: {problem}"
        assert engine.stats().ticks_in == 0
    field = problem.split()[1]
    text = "timestamp,symbol,bid,ask,bid_size,ask_size\n" f"{T0},X,{bid},{ask},{bid_size},{ask_size}\n"
    with pytest.raises(BadRowError) as c:
        CSVFeed(write(tmp_path, "q.csv", text), speed=0, time_unit="ns")
    assert (c.value.line, c.value.problem) == (2, f"{problem} (column '{field}')")


def test_an_empty_bid_cell_with_a_size_is_reported_as_missing(tmp_path):
    text = "timestamp,symbol,bid,ask,bid_size,ask_size\n" f"{T0},X,,1.0,5,1\n"
    with pytest.raises(BadRowError) as e:
        CSVFeed(write(tmp_path, "q.csv", text), speed=0, time_unit="ns")
    assert e.value.problem.startswith("the bid is missing (NaN) but the bid_size is 5.0")
    text = "timestamp,symbol,bid,ask,bid_size,ask_size\n" f"{T0},X,1.0,2.0,,1\n"
    with pytest.raises(BadRowError) as e:
        CSVFeed(write(tmp_path, "q.csv", text), speed=0, time_unit="ns")
    assert e.value.problem == "missing bid_size (column 'bid_size')"


# --- 4. side codes ---------------------------------------------------------------------

@pytest.mark.parametrize("sides", [["A", "B", "N"], ["buy", "SELL", "x"], ["1", "-1", "0"],
                                   ["bid", "ask", ""], ["b", "s", "?"]])
@pytest.mark.parametrize("on_bad_row", ["raise", "skip"])
def test_no_trade_is_dropped_for_its_side(tmp_path, sides, on_bad_row):
    text = "timestamp,symbol,side,price,size\n" + "".join(
        f"{T0 + k},ES,{s},{4000 + k},1\n" for k, s in enumerate(sides))
    rows, stats = run_csv(write(tmp_path, "es.csv", text), time_unit="ns", on_bad_row=on_bad_row)
    assert rows["price"].tolist() == [4000.0, 4001.0, 4002.0]
    assert stats.bad_rows == 0


# --- 5. an empty day -------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("on_bad_row", ["raise", "skip"])
def test_an_empty_day_contributes_nothing(tmp_path, gz, on_bad_row):
    header = "timestamp,symbol,price,size\n"
    days = [header + f"{T0 + k},ES,{4000 + k},1\n" for k in range(2)]
    paths = [write(tmp_path, "d1.csv" + ".gz" * gz, days[0], gz),
             write(tmp_path, "d2.csv" + ".gz" * gz, header, gz),          # a holiday
             write(tmp_path, "d3.csv" + ".gz" * gz, header + "\n\n", gz),  # and blank lines
             write(tmp_path, "d4.csv" + ".gz" * gz, days[1].replace(str(T0), str(T0 + 2 * S)), gz)]
    rows, stats = run_csv(paths, time_unit="ns", on_bad_row=on_bad_row)
    assert rows["price"].tolist() == [4000.0, 4001.0] and stats.bad_rows == 0


@pytest.mark.parametrize("gz", [False, True])
def test_no_rows_in_any_file_is_an_error(tmp_path, gz):
    paths = [write(tmp_path, f"d{k}.csv" + ".gz" * gz, "timestamp,symbol,price,size\n", gz)
             for k in range(2)]
    with pytest.raises(BadFileError, match="no rows in any file"):
        CSVFeed(paths, speed=0, on_bad_row="skip")


# --- 7. late ticks ---------------------------------------------------------------------

# (offset from T0 in ns, price): bar [T0, T0+1s) gets 10, 11, then 9 out of
# order (high/low/volume, not the close); 12, 13 and 12.5 make [T0+1s, ...);
# 5 is for the closed bar [T0, T0+1s): left out of every bar, counted late.
LATE = [(0, 10.0), (500_000_000, 11.0), (200_000_000, 9.0), (S, 12.0), (S + 1, 13.0),
        (900_000_000, 5.0), (S + 2, 12.5)]


def _bars(rows):
    bars = rows[rows["kind"] == mdstream.BAR]
    return [(int(b["ts_ns"] - T0), b["open"], b["high"], b["low"], b["price"], b["volume"],
             int(b["trade_count"])) for b in bars]


WANT_BARS = [(0, 10.0, 11.0, 9.0, 11.0, 3.0, 3), (S, 12.0, 13.0, 12.0, 12.5, 3.0, 3)]


def test_late_ticks_on_the_publish_paths():
    ts = [T0 + dt for dt, _ in LATE]
    prices = [p for _, p in LATE]
    for calls in (lambda e: e.publish_trades("CL", prices, 1.0, ts_ns=ts),
                  lambda e: e.publish([Trade("CL", p, 1.0, t) for p, t in zip(prices, ts)]),
                  lambda e: [e.publish_trades("CL", p, 1.0, ts_ns=t) for p, t in zip(prices, ts)]):
        rows, stats = run_publish(calls, bars=("1s",))
        assert _bars(rows) == WANT_BARS
        assert stats.late_ticks == 1
        trades = rows[rows["kind"] == mdstream.TRADE]
        # The late trade still counts in the session, and no result carries the mask.
        assert trades["volume"][-1] == 7.0 and trades["low"][-1] == 5.0
        assert (rows["interval_ns"][rows["kind"] != mdstream.BAR] == 0).all()


def test_late_ticks_on_the_csv_path(tmp_path):
    text = "timestamp,symbol,price,size\n" + "".join(f"{T0 + dt},CL,{p},1\n" for dt, p in LATE)
    rows, stats = run_csv(write(tmp_path, "late.csv", text), time_unit="ns", bars=("1s",))
    assert _bars(rows) == WANT_BARS and stats.late_ticks == 1


def test_a_tick_late_for_one_interval_only():
    # 1s and 2s bars: a trade at +0.9s after one at +1s is late for the 1s bar
    # [0, 1s) but in time for the open 2s bar [0, 2s).
    ts = [T0, T0 + S, T0 + 900_000_000, T0 + 2 * S]
    rows, stats = run_publish(lambda e: e.publish_trades("CL", [1.0, 2.0, 3.0, 4.0], 1.0, ts_ns=ts),
                              bars=("1s", "2s"))
    bars = rows[rows["kind"] == mdstream.BAR]
    one = bars[bars["interval_ns"] == S]
    two = bars[bars["interval_ns"] == 2 * S]
    assert one["trade_count"].tolist() == [1, 1, 1] and one["price"].tolist() == [1.0, 2.0, 4.0]
    assert two["trade_count"].tolist() == [3, 1]
    assert (two["open"][0], two["price"][0], two["high"][0]) == (1.0, 2.0, 3.0)
    assert stats.late_ticks == 1


def test_a_late_trade_of_a_symbol_that_did_not_trade_in_the_closed_bar():
    # ES trades at +1.5s (closing [0, 1s) for everyone); CL's trade at +0.5s
    # is late: no CL bar at all for [0, 1s), none made up in [1s, 2s).
    rows, stats = run_publish(lambda e: e.publish([Trade("ES", 1.0, 1.0, T0 + 1_500_000_000),
                                                   Trade("CL", 2.0, 1.0, T0 + 500_000_000)]),
                              symbols=("ES", "CL"), bars=("1s",))
    bars = rows[rows["kind"] == mdstream.BAR]
    assert bars["symbol_id"].tolist() == [0] and stats.late_ticks == 1


def test_late_ticks_in_get_stats(make_server, make_client, helpers):
    engine = Engine(symbols=["CL"], bars=("1s",))
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    engine.publish_trades("CL", [p for _, p in LATE], 1.0, ts_ns=[T0 + dt for dt, _ in LATE])
    assert helpers.wait_until(lambda: engine.stats().processed == len(LATE) + 1)
    assert client.get_stats().engine.late_ticks == 1


def test_the_late_tick_rule_survives_a_restart_from_the_journal(tmp_path):
    ms = 1_000_000
    part1 = [(0, 10.0), (500 * ms, 11.0), (1200 * ms, 12.0), (300 * ms, 7.0), (1500 * ms, 14.0)]
    part2 = [(1100 * ms, 13.0), (900 * ms, 5.0), (2100 * ms, 15.0)]

    def publish(engine, part):
        engine.publish_trades("CL", [p for _, p in part], 1.0, ts_ns=[T0 + dt for dt, _ in part])

    want, _ = run_publish(lambda e: (publish(e, part1), publish(e, part2)), bars=("1s",))
    first = Engine(symbols=["CL"], bars=("1s",), journal=tmp_path)
    sub = first.subscribe()
    with first:
        publish(first, part1)
        got = [next(iter(sub)).rows.copy()]
        while sum(len(g) for g in got) < len(part1) + 1:
            got.append(next(iter(sub)).rows.copy())
    second = Engine(symbols=["CL"], bars=("1s",), journal=tmp_path)
    sub = second.subscribe()
    with second:
        publish(second, part2)
        second.close_ingest()
        got += [b.rows.copy() for b in sub]
        assert second.stats().late_ticks == 1        # since this start
    got = np.concatenate(got)
    # Bar [0, 1s): 10, 11 (7 and 5 are late); bar [1s, 2s): 12, 14, 13 (13 is not the close).
    assert _bars(got) == _bars(want) == [(0, 10.0, 11.0, 10.0, 11.0, 2.0, 2),
                                         (S, 12.0, 14.0, 12.0, 14.0, 3.0, 3),
                                         (2 * S, 15.0, 15.0, 15.0, 15.0, 1.0, 1)]
