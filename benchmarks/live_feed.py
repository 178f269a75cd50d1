"""Live feeds: messages/s decoded per core, and the latency a live feed adds.

Decoding (per venue): the feed's decoder (msgspec structs per message type,
ticks gathered in a TickBuffer and turned into one TICK_DTYPE array per
batch of 1,000 messages, the tick rules applied) over 200,000 messages (20k
with --quick), half trades and half best bid/offer, in the venue's shapes.
Measured in CPU seconds of the thread (``time.thread_time``): messages/s per
core. Baseline, same messages, same run: a plain ``json.loads`` loop that
takes the same fields out of each dict into a tuple (``float()`` of the
string prices, the time parsed where it is text).

Latency (Coinbase protocol): a local venue server (tests/venues) sends
matches at a fixed rate, each stamped with the wall clock when it is sent
(``time``, microseconds); a CoinbaseFeed in an Engine (1 worker) with an
in-process subscriber ('block'); the latency of a tick is the subscriber's
wall clock when its batch arrives minus that stamp. Baseline: a plain
``websockets`` client on the same server, ``json.loads`` per message, the
same clock difference. The difference of the two is what mdstream adds
(decode, batch, ingest, worker, result log, subscriber hand-off).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from mdstream import Engine
from mdstream.benchmarking import alternate, result_line, summarize
from mdstream.feeds.live import CoinbaseFeed
from mdstream.feeds.live.binance import BINANCE
from mdstream.feeds.live.buffer import TickBuffer
from mdstream.feeds.live.coinbase import COINBASE
from mdstream.feeds.live.kraken import KRAKEN
from mdstream.feeds.live.stats import FeedCounters

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from venues import messages as m  # noqa: E402
from venues.server import Hold, Stream, VenueServer  # noqa: E402

NAME = "live_feed"
BATCH = 1000
T0_MS = 1_700_000_000_000


def _messages(venue: str, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        ts_ns = (T0_MS + i) * 1_000_000
        px = 37000 + (i % 100) * 0.01
        if venue == "binance":
            s = (m.binance_trade("btcusdt", i // 2, f"{px:.2f}", "0.015", T0_MS + i, i % 3 == 0)
                 if i % 2 == 0 else
                 m.binance_book("btcusdt", i, f"{px:.2f}", "1.5", f"{px + 0.01:.2f}", "2.25"))
        elif venue == "coinbase":
            s = (m.coinbase_match("BTC-USD", i // 2, i, f"{px:.2f}", "0.015", ts_ns)
                 if i % 2 == 0 else
                 m.coinbase_ticker("BTC-USD", i, f"{px:.2f}", "1.5", f"{px + 0.01:.2f}", "2.25",
                                   ts_ns))
        else:
            s = (m.kraken_trades(("BTC/USD", i // 2, px, 0.015, "buy", ts_ns))
                 if i % 2 == 0 else m.kraken_ticker("BTC/USD", px, 1.5, px + 0.01, 2.25, ts_ns))
        out.append(s.encode())
    return out


def mdstream_decode_per_s(venue, msgs: list[bytes]) -> float:
    counters = FeedCounters(venue.name)
    symbol = {"binance": "BTCUSDT", "coinbase": "BTC-USD", "kraken": "BTC/USD"}[venue.name]
    decoder = venue.decoder({symbol: 0}, counters)
    buf = TickBuffer(counters)
    t0 = time.thread_time()
    ticks = 0
    for start in range(0, len(msgs), BATCH):
        for raw in msgs[start:start + BATCH]:
            decoder.decode(raw, 0, buf)
        ticks += len(buf.take())
    dt = time.thread_time() - t0
    assert ticks == len(msgs) and counters.malformed == 0, (ticks, counters.malformed_kinds())
    return len(msgs) / dt


def _iso_ns(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def baseline_decode_per_s(venue_name: str, msgs: list[bytes]) -> float:
    rows = []
    t0 = time.thread_time()
    for raw in msgs:
        d = json.loads(raw)
        if venue_name == "binance":
            x = d["data"]
            if d["stream"].endswith("@trade"):
                rows.append((0, x["T"] * 1_000_000, float(x["p"]), float(x["q"]), x["t"]))
            else:
                rows.append((1, 0, float(x["b"]), float(x["B"]), float(x["a"]), float(x["A"])))
        elif venue_name == "coinbase":
            if d["type"] == "match":
                rows.append((0, _iso_ns(d["time"]), float(d["price"]), float(d["size"]),
                             d["trade_id"]))
            else:
                rows.append((1, _iso_ns(d["time"]), float(d["best_bid"]),
                             float(d["best_bid_size"]), float(d["best_ask"]),
                             float(d["best_ask_size"])))
        else:
            for x in d["data"]:
                if d["channel"] == "trade":
                    rows.append((0, _iso_ns(x["timestamp"]), x["price"], x["qty"], x["trade_id"]))
                else:
                    rows.append((1, _iso_ns(x["timestamp"]), x["bid"], x["bid_qty"], x["ask"],
                                 x["ask_qty"]))
    dt = time.thread_time() - t0
    assert len(rows) == len(msgs)
    return len(msgs) / dt


def _match(i: int, now_ns: int) -> str:
    return m.coinbase_match("BTC-USD", i + 1, i + 1, "37000.5", "0.01", now_ns)


def mdstream_latencies(rate: float, count: int) -> list[float]:
    """ms from the venue server's send to the in-process subscriber, per tick."""
    server = VenueServer("coinbase").start()
    try:
        server.queue(Stream(_match, count, rate), Hold())
        feed = CoinbaseFeed("BTC-USD", url=server.url)
        engine = Engine(feed=feed, workers=1)
        sub = engine.subscribe(policy="block")
        lat: list[np.ndarray] = []
        got = 0
        with engine:
            deadline = time.monotonic() + count / rate + 30
            while got < count and time.monotonic() < deadline:
                batch = sub.next_batch(timeout=0.5)
                if batch is None:
                    continue
                now = time.time_ns()
                lat.append((now - batch.ts_ns) / 1e6)
                got += len(batch)
            sub.close()
        return list(np.concatenate(lat)) if lat else []
    finally:
        server.stop()


def baseline_latencies(rate: float, count: int) -> list[float]:
    """The same server to a plain websockets client, json.loads per message."""
    from websockets.asyncio.client import connect

    server = VenueServer("coinbase").start()
    out: list[float] = []

    async def client():
        async with connect(server.url) as ws:
            await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"],
                                      "channels": ["matches"]}))
            while len(out) < count:
                d = json.loads(await ws.recv())
                if d.get("type") == "match":
                    out.append((time.time_ns() - _iso_ns(d["time"])) / 1e6)

    try:
        server.queue(Stream(_match, count, rate), Hold())
        t = threading.Thread(target=asyncio.run, args=(client(),))
        t.start()
        t.join(count / rate + 30)
        return out
    finally:
        server.stop()


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(opts, machine):
    n = 20_000 if opts.quick else 200_000
    for venue in (BINANCE, COINBASE, KRAKEN):
        msgs = _messages(venue.name, n)
        md, base = alternate(opts.repeat, lambda: mdstream_decode_per_s(venue, msgs),
                             lambda: baseline_decode_per_s(venue.name, msgs))
        yield result_line(NAME, f"decode_{venue.name}", "messages/s per core",
                          {"messages": n, "trades_share": 0.5, "batch_messages": BATCH},
                          md, base, "json.loads + the same fields into a tuple, per message",
                          machine=machine)
    rate = 1000.0
    count = 500 if opts.quick else 3000
    md_runs, base_runs = alternate(opts.repeat, lambda: mdstream_latencies(rate, count),
                                   lambda: baseline_latencies(rate, count))
    for q in (50, 99):
        md_q = [_pct(r, q) for r in md_runs]
        base_q = [_pct(r, q) for r in base_runs]
        yield result_line(
            NAME, f"latency_p{q}_at_{int(rate)}_msgs_per_s", "ms",
            {"venue": "coinbase", "rate": rate, "messages": count, "workers": 1},
            md_q, base_q, "plain websockets client, json.loads per message, same server",
            higher_is_better=False,
            extra={"added_ms": summarize([a - b for a, b in zip(md_q, base_q)]),
                   "received": statistics.median(len(r) for r in md_runs)},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
