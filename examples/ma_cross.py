"""A moving-average cross on recorded BTCUSDT trades, traded on mdstream's paper venue.

    python examples/ma_cross.py                  # about 4 s: 2 hours of trades at 2000x
    python examples/ma_cross.py --speed 500 --quantity 0.1 --fast 20 --slow 100   # 15 s

The engine replays the recorded Binance USD-M futures trades in
tests/data/real/tardis_trades.csv (9,999 trades, 2020-02-22 00:00 to 02:05
UTC; see tests/data/SOURCES.md) with CSVFeed. Its results carry a price EMA:
with ``Engine(ema_span=SLOW)`` that is the slow average; the fast one is
computed here, trade by trade. When the fast average crosses above the slow
one the strategy goes long ``--quantity`` BTC, when it crosses below it goes
short, each time with one market order (``engine.submit_order``) for the
difference. The venue is in the same process (``Engine(venue=PaperVenue())``).

Fills are printed as they come, from ``engine.execution_reports()``; at the
end, the position and P&L from ``engine.positions()``. Only trades are
replayed: the recorded quotes (tardis_quotes.csv) cover the first 4 minutes
of the 2 hours, and a quote kept for 2 hours would be a stale price to fill
at. With no quote, a market order rests and fills at the prices of the next
trades (up to their sizes), as the venue's rules say.

An order is sequenced when it is sent, after whatever the feed has put in by
then, so the replay runs at a pace the strategy keeps up with (2000x: 0.4 ms
between trades on average). At ``speed=0`` the whole file would be in before
the first order, and the orders would meet the last trade's market, or the
end of the data (the engine takes no orders once its data has ended). So the
fills differ a little from run to run.

``--exact``: no feed; the strategy publishes each recorded trade itself
(``engine.publish_trades``) and acts on its result before it publishes the
next, so every order comes right after the trade that caused it and the run
repeats exactly: the same fills, to the last digit, every time (the venue acts
on the engine's sequence alone).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import mdstream
from mdstream.errors import EngineStateError
from mdstream.venue import Account, ExecType, ExecutionReports, PaperVenue, Side

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "real" / "tardis_trades.csv"
SYMBOL = "BTCUSDT"
ACCOUNT = "paper"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DATA), help="a CSV of trades (default: %(default)s)")
    p.add_argument("--speed", type=float, default=2000.0,
                   help="replay speed, times the recorded pace (default %(default)s)")
    p.add_argument("--fast", type=float, default=50.0, help="fast EMA span, in trades")
    p.add_argument("--slow", type=float, default=200.0, help="slow EMA span, in trades")
    p.add_argument("--quantity", type=float, default=0.05, help="position size in BTC")
    p.add_argument("--fee-bps", type=float, default=2.0, help="fee per fill, basis points")
    p.add_argument("--exact", action="store_true",
                   help="publish each trade and act on it before the next: a run that repeats "
                        "exactly (--speed does not apply)")
    return p.parse_args(argv)


class Cross:
    """The signal: +1 while the fast EMA is above the slow one, -1 below, 0 while warming up."""

    def __init__(self, fast_span: float, warmup: int):
        self.alpha = 2.0 / (fast_span + 1.0)
        self.fast = math.nan
        self.warmup = warmup
        self.seen = 0

    def update(self, price: float, slow: float) -> int:
        self.fast = price if self.seen == 0 else self.fast + self.alpha * (price - self.fast)
        self.seen += 1
        if self.seen < self.warmup or self.fast == slow:
            return 0
        return 1 if self.fast > slow else -1


def print_fills(reports: ExecutionReports, fee_bps: float) -> int:
    """Print the fills (and any reject) of a batch of execution reports; returns the fills."""
    n = 0
    for r in reports.rows():
        if r.exec_type in (ExecType.PARTIAL_FILL, ExecType.FILL):
            fee = r.last_px * r.last_qty * fee_bps / 1e4
            side = "buy" if r.side == Side.BUY else "sell"
            print(f"fill {r.seq:>4} order {r.order_id:>3} {side:<4} "
                  f"{r.last_qty:.3f} {r.symbol} @ {r.last_px:.2f} fee {fee:.6f} -> "
                  f"position {r.position:+.3f} realized {r.realized_pnl:+.6f} "
                  f"fees {r.fees:.6f}", flush=True)
            n += 1
        elif r.exec_type == ExecType.REJECTED:
            print(f"order {r.cl_ord_id} rejected: {r.text}", flush=True)
    return n


def recorded_trades(path: str) -> list[tuple[int, float, float]]:
    """(ts_ns, price, size) of each row of a Tardis trades CSV (timestamp in µs)."""
    with open(path, newline="") as f:
        return [(int(row["timestamp"]) * 1000, float(row["price"]), float(row["amount"]))
                for row in csv.DictReader(f)]


def run_exact(args: argparse.Namespace) -> tuple[int, int, list, list]:
    """The --exact run, trade by trade in lockstep: (orders, fills, open orders, positions)."""
    venue = PaperVenue(accounts={ACCOUNT: Account(fee_bps=args.fee_bps)})
    engine = mdstream.Engine(symbols=[SYMBOL], ema_span=args.slow, venue=venue)
    cross = Cross(args.fast, warmup=int(args.slow))
    target = orders = fills = 0
    with engine, engine.execution_reports(account=ACCOUNT) as reports, \
            engine.subscribe(SYMBOL, policy="block") as sub:
        for ts_ns, price, size in recorded_trades(args.data):
            engine.publish_trades(SYMBOL, price, size, ts_ns=ts_ns)
            batch = sub.next_batch()                # this trade's result (one row)
            assert batch is not None and len(batch) == 1
            (result,) = batch.rows
            signal = cross.update(price, float(result["ema"]))
            if signal != 0 and signal != target:
                orders += 1
                engine.submit_order(ACCOUNT, orders, SYMBOL, "buy" if signal > target else "sell",
                                    abs(signal - target) * args.quantity, ord_type="market")
                target = signal
        engine.close_ingest()
        for done in reports:
            fills += print_fills(done, args.fee_bps)
        return orders, fills, engine.orders(ACCOUNT), engine.positions(ACCOUNT)


def run_paced(args: argparse.Namespace) -> tuple[int, int, list, list]:
    """The replay at --speed: (orders, fills, open orders, positions)."""
    feed = mdstream.CSVFeed(args.data, speed=args.speed)
    venue = PaperVenue(accounts={ACCOUNT: Account(fee_bps=args.fee_bps)})
    engine = mdstream.Engine(feed=feed, ema_span=args.slow, venue=venue)
    cross = Cross(args.fast, warmup=int(args.slow))
    target = 0              # the position the orders sent so far aim at (in units of quantity)
    orders = fills = 0
    with engine:
        with engine.execution_reports(account=ACCOUNT) as reports, \
                engine.subscribe(SYMBOL, policy="block") as sub:
            for batch in sub:
                trades = batch.select(mdstream.TRADE)
                for price, slow in zip(trades.price.tolist(), trades.ema.tolist()):
                    signal = cross.update(price, slow)
                    if signal == 0 or signal == target:
                        continue
                    try:
                        engine.submit_order(ACCOUNT, orders + 1, SYMBOL,
                                            "buy" if signal > target else "sell",
                                            abs(signal - target) * args.quantity,
                                            ord_type="market")
                    except EngineStateError:    # the data ended while this batch was read
                        break
                    orders += 1
                    target = signal
                try:
                    while (done := reports.read(0)) is not None and len(done):
                        fills += print_fills(done, args.fee_bps)
                except EOFError:                # the data ended and every report was read
                    break
            # The data ended: the reports still to come. An order sent on one of the last
            # trades may stay open: no trade came after it to fill it.
            for done in reports:
                fills += print_fills(done, args.fee_bps)
        return orders, fills, engine.orders(ACCOUNT), engine.positions(ACCOUNT)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    orders, fills, still_open, positions = (run_exact if args.exact else run_paced)(args)
    print(f"{orders} orders, {fills} fills, {len(still_open)} still open, "
          f"in {time.monotonic() - t0:.1f} s")
    for pos in positions:
        print(f"final {pos.symbol}: position {pos.quantity:+.3f} avg_px {pos.avg_px:.2f} "
              f"realized {pos.realized_pnl:+.6f} fees {pos.fees:.6f} mark {pos.mark_px:.2f} "
              f"unrealized {pos.unrealized_pnl:+.6f} pnl {pos.net_pnl:+.6f}")
    return 0 if fills else 1


if __name__ == "__main__":
    sys.exit(main())
