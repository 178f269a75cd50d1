"""One client process of subscriber_scaling: many StreamBatches subscribers
on one asyncio event loop.

    python -m benchmarks._subs_client --target HOST:PORT --duration S \
        --symbols SYM0,SYM16,... | --streams N

Opens one subscriber per entry of --symbols (each asking for that one
symbol) or --streams subscribers of every symbol, each with its own
mdstream.AsyncClient and its own connection (a local subchannel pool, as
separate subscribers would be). Prints "ready" once every subscriber has
received data, then reads the Unix time at which the common window opens
from stdin, counts every subscriber's ticks inside [start, start + duration)
and prints one JSON line: each subscriber's ticks/s, the process's CPU time
in the window, frames and ticks received over the whole run.

asyncio rather than a thread per stream: one event loop serves all of a
process's streams without a GIL hand-off per frame, so the clients take as
little of the 2 cores as they can and the server is what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Window:
    def __init__(self, duration: float):
        self.duration = duration
        self.start_at = self.end_at = float("inf")

    def set_start(self, start_at: float) -> None:
        self.start_at, self.end_at = start_at, start_at + self.duration


async def subscriber(target: str, symbols, args, w: Window, first: asyncio.Event, out: dict):
    import mdstream

    out["ticks"] = 0
    async with mdstream.AsyncClient(target, options=[("grpc.use_local_subchannel_pool", 1)]) \
            as client:
        stream = client.stream_batches(symbols, policy=args.policy,
                                       max_ticks_per_frame=args.frame, max_wait=args.max_wait)
        out["stream"] = stream
        try:
            async for batch in stream:
                first.set()
                now = time.time()
                if now >= w.end_at:
                    break
                if now >= w.start_at:
                    out["ticks"] += len(batch)
        finally:
            stream.cancel()


async def main_async(args) -> dict:
    w = Window(args.duration)
    if args.symbols:
        subs = [[s] for s in args.symbols.split(",")]
    else:
        subs = [None] * args.streams
    firsts = [asyncio.Event() for _ in subs]
    outs: list[dict] = [{} for _ in subs]
    tasks = [asyncio.create_task(subscriber(args.target, s, args, w, f, o))
             for s, f, o in zip(subs, firsts, outs)]
    waiting = asyncio.gather(*(f.wait() for f in firsts))
    done, _ = await asyncio.wait([asyncio.ensure_future(waiting), *tasks],
                                 return_when=asyncio.FIRST_COMPLETED)
    for t in tasks:
        if t in done and t.exception() is not None:
            raise t.exception()
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    w.set_start(float(line))
    await asyncio.sleep(max(0.0, w.start_at - time.time()))
    cpu0 = _cpu()
    await asyncio.sleep(max(0.0, w.end_at - time.time()))
    cpu1 = _cpu()
    # The window is over: end every subscriber now (its count stands). Not
    # waiting for each to see a frame after the window: with policy 'block'
    # the first to leave may hold the feed for the others.
    counts = [o["ticks"] for o in outs]
    decs = [o["stream"].decoder for o in outs if "stream" in o]
    return {"rates": [c / args.duration for c in counts],
            "cpu_s": cpu1 - cpu0,
            "frames": sum(d.frames for d in decs),
            "received": sum(d.received for d in decs),
            "bytes": sum(d.bytes for d in decs),
            "errors": [repr(t.exception()) for t in tasks
                       if t.done() and not t.cancelled() and t.exception() is not None][:5]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._subs_client")
    p.add_argument("--target", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--symbols", default=None, help="one subscriber per symbol listed")
    p.add_argument("--streams", type=int, default=1, help="subscribers of every symbol")
    p.add_argument("--policy", default="block")
    p.add_argument("--frame", type=int, default=4096)
    p.add_argument("--max-wait", type=float, default=0.002)
    args = p.parse_args(argv)
    loop = asyncio.new_event_loop()
    out = loop.run_until_complete(main_async(args))
    print(json.dumps(out), flush=True)
    # The window is measured and reported: leave now. Closing hundreds of
    # channels and cancelled calls takes seconds and measures nothing (the
    # server sees the connections close either way).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
