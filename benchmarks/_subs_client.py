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
        self.cpu0 = self.cpu1 = None

    def set_start(self, start_at: float) -> None:
        self.start_at, self.end_at = start_at, start_at + self.duration


async def subscriber(target: str, symbols, args, w: Window, first: asyncio.Event, out: dict):
    import mdstream

    ticks = 0
    async with mdstream.AsyncClient(target, options=[("grpc.use_local_subchannel_pool", 1)]) \
            as client:
        stream = client.stream_batches(symbols, policy=args.policy,
                                       max_ticks_per_frame=args.frame, max_wait=args.max_wait)
        try:
            async for batch in stream:
                first.set()
                now = time.time()
                if now >= w.end_at:
                    break
                if now >= w.start_at:
                    ticks += len(batch)
        finally:
            stream.cancel()
        dec = stream.decoder
        out.update(ticks=ticks, frames=dec.frames, received=dec.received, bytes=dec.bytes)


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
    # A subscriber whose server has stopped sending never sees the window
    # close; end it once the window is over (its count so far stands).
    await asyncio.wait(tasks, timeout=max(5.0, args.duration))
    for t in tasks:
        if not t.done():
            t.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)
              and not isinstance(r, asyncio.CancelledError)]
    return {"rates": [o.get("ticks", 0) / args.duration for o in outs],
            "cpu_s": cpu1 - cpu0,
            "frames": sum(o.get("frames", 0) for o in outs),
            "received": sum(o.get("received", 0) for o in outs),
            "bytes": sum(o.get("bytes", 0) for o in outs),
            "errors": errors[:5]}


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
    out = asyncio.run(main_async(args))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
