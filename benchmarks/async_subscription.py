"""``async for`` over an in-process Subscription against the plain ``for``.

Both read a finite SimulatedFeed(rate=0, count=N) to its end through one
'block' subscription (nothing is dropped: the feed goes as fast as the reader
takes results) and sum a column of each batch. mdstream: ``async for batch
in sub`` inside ``asyncio.run`` (mdstream.engine.async_subscription: a read
of what is there on the loop, a wait in the default executor when nothing
is). Baseline: ``for batch in sub`` on the main thread, the same engine
settings, measured in the same run, alternating.

Also reported: ``loop_max_stall_ms``, the longest the event loop went without
running a 1 ms ticker task while ``async for`` read (a blocked loop shows
here), next to ``idle_loop_max_stall_ms``, the same ticker's longest gap on
an idle loop for as long (what the machine's load alone causes), and
``thread_reader_loop_max_stall_ms``, its longest gap while a thread reads
the stream with ``for`` instead (the other way to keep a loop free).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time

import mdstream
from mdstream.benchmarking import result_line

NAME = "async_subscription"
N_SYMBOLS = 8


def _engine(count: int, workers: int) -> tuple[mdstream.Engine, mdstream.Subscription]:
    feed = mdstream.SimulatedFeed(symbols=[f"SYM{i}" for i in range(N_SYMBOLS)], rate=0,
                                  seed=7, count=count)
    engine = mdstream.Engine(feed=feed, workers=workers)
    return engine, engine.subscribe(policy="block")


def sync_rate(count: int, workers: int) -> float:
    engine, sub = _engine(count, workers)
    n = 0
    with engine:
        t0 = time.perf_counter()
        for batch in sub:
            batch.price.sum()
            n += len(batch)
        wall = time.perf_counter() - t0
    assert n == count, (n, count)
    return n / wall


def async_rate(count: int, workers: int) -> tuple[float, float]:
    engine, sub = _engine(count, workers)

    async def main() -> tuple[int, float, float]:
        stall = 0.0
        done = False

        async def ticker() -> None:
            nonlocal stall
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                stall = max(stall, now - last)
                last = now

        task = asyncio.ensure_future(ticker())
        n = 0
        t0 = time.perf_counter()
        async for batch in sub:
            batch.price.sum()
            n += len(batch)
        wall = time.perf_counter() - t0
        done = True
        await task
        return n, wall, stall

    with engine:
        n, wall, stall = asyncio.run(main())
    assert n == count, (n, count)
    return n / wall, stall * 1000


def thread_reader_stall_ms(count: int, workers: int) -> float:
    """The 1 ms ticker's longest gap while a thread (not the loop) reads the
    same stream with ``for``: the other way to keep a loop free."""
    engine, sub = _engine(count, workers)

    def read() -> None:
        for batch in sub:
            batch.price.sum()

    async def main() -> float:
        stall = 0.0
        reader = threading.Thread(target=read)
        reader.start()
        last = time.perf_counter()
        while reader.is_alive():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last)
            last = now
        reader.join()
        return stall

    with engine:
        return asyncio.run(main()) * 1000


def idle_stall_ms(seconds: float) -> float:
    """The longest gap of the same 1 ms ticker on an idle event loop: what
    the machine's load alone does to it."""
    async def main() -> float:
        stall = 0.0
        last = t0 = time.perf_counter()
        while last - t0 < seconds:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last)
            last = now
        return stall

    return asyncio.run(main()) * 1000


def run(opts, machine):
    # About opts.duration seconds of reading per run at ~3 M ticks/s.
    count = max(100_000, int(3_000_000 * opts.duration))
    for w in opts.workers:
        md, base, stalls, idle, threaded = [], [], [], [], []
        for _ in range(opts.repeat):
            rate, stall = async_rate(count, w)
            md.append(rate)
            stalls.append(stall)
            base.append(sync_rate(count, w))
            idle.append(idle_stall_ms(count / rate))
            threaded.append(thread_reader_stall_ms(count, w))
        yield result_line(
            NAME, f"async_for_{w}_worker{'s' if w > 1 else ''}", "ticks/s",
            {"workers": w, "symbols": N_SYMBOLS, "ticks": count,
             "feed": "SimulatedFeed(rate=0, count)", "policy": "block"},
            md, base, "for batch in sub (sync, main thread)",
            extra={"loop_max_stall_ms": statistics.median(stalls),
                   "idle_loop_max_stall_ms": statistics.median(idle),
                   "thread_reader_loop_max_stall_ms": statistics.median(threaded)},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
