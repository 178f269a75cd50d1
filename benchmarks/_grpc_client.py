"""One gRPC client process of the benchmarks.

    python -m benchmarks._grpc_client --kind batches|results|baseline --target HOST:PORT \
        --duration S [--latency] [--max-wait S] [--max-ticks-per-frame N]

Connects at once and prints "ready" when the first data arrives. It keeps
reading (warm-up) until the Unix time that the harness then writes on its
stdin, counts the ticks it receives for --duration s from that instant
(the same for every client), and prints one JSON line: ticks,
seconds, rate, its CPU time (user + system) in that window and, with
--latency, percentiles of (receipt time - feed timestamp) over every tick
received in the window.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time

import numpy as np


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Window:
    """Counts ticks between start_at and start_at + duration (wall clock).

    start_at arrives on stdin (read by a thread) after the client said ready.
    """

    def __init__(self, duration: float, latency: bool):
        self.duration = duration
        self.start_at = self.end_at = float("inf")
        self.ready = False
        self.open = False
        self.ticks = 0
        self.cpu0 = self.t0 = 0.0
        self.latency = latency
        self.lat_chunks: list[np.ndarray] = []
        self.lat_list: list[int] = []
        self.extra: dict = {}

    def wait_for_start(self) -> None:
        line = sys.stdin.readline()
        if line.strip():
            start_at = float(line)
            self.end_at = start_at + self.duration
            self.start_at = start_at

    def check(self, now: float) -> bool:
        """False once the window has closed."""
        if not self.ready:
            self.ready = True
            print("ready", flush=True)
            threading.Thread(target=self.wait_for_start, daemon=True).start()
        if not self.open and now >= self.start_at:
            self.open = True
            self.t0, self.cpu0 = now, _cpu()
        return now < self.end_at

    def report(self) -> dict:
        t1, cpu1 = time.time(), _cpu()
        seconds = t1 - self.t0 if self.open else 0.0
        out = {"ticks": self.ticks, "seconds": seconds,
               "rate": self.ticks / seconds if seconds > 0 else 0.0,
               "cpu_s": cpu1 - self.cpu0 if self.open else 0.0, **self.extra}
        if self.latency:
            lat = np.concatenate(self.lat_chunks + [np.asarray(self.lat_list, dtype=np.int64)])
            if len(lat):
                p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
                out["latency_ns"] = {"p50": float(p50), "p99": float(p99), "p999": float(p999),
                                     "max": float(lat.max()), "count": int(len(lat))}
        return out


def run_batches(args, w: Window) -> None:
    from mdstream.grpc.client import Client

    with Client(args.target) as client:
        stream = client.stream_batches(policy=args.policy, max_ticks_per_frame=args.frame,
                                       max_wait=args.max_wait, heartbeats=True,
                                       fields=args.fields)
        for batch in stream:
            now_ns = time.time_ns()
            now = now_ns / 1e9
            if not w.check(now):
                break
            n = len(batch)
            if w.open and n:
                w.ticks += n
                batch.price.sum()
                if w.latency:
                    w.lat_chunks.append(now_ns - batch.ts_ns)
        stream.cancel()
        # Frame bytes (gRPC payloads) per tick over the whole stream.
        w.extra["bytes_per_tick"] = stream.decoder.bytes / max(1, stream.decoder.received)


def run_results(args, w: Window) -> None:
    from mdstream.grpc.client import Client

    with Client(args.target) as client:
        stream = client.stream_results(policy=args.policy)
        _per_message(stream, w)
        stream.cancel()


def run_baseline(args, w: Window) -> None:
    from benchmarks.baselines.grpc_client import stream_results

    stream = stream_results(args.target)
    _per_message(stream, w)
    stream.close()


def _per_message(stream, w: Window) -> None:
    # Check the clock every 64 messages outside the window (it costs ~50 ns),
    # on every message inside it (latency needs the receipt time anyway).
    k = 0
    for msg in stream:
        now_ns = time.time_ns()
        if not w.open:
            if not w.check(now_ns / 1e9):
                break
            if w.open:
                w.ticks += 1
            continue
        w.ticks += 1
        if w.latency:
            w.lat_list.append(now_ns - msg.ts_ns)
        k += 1
        if k & 63 == 0 and not w.check(now_ns / 1e9):
            break


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._grpc_client")
    p.add_argument("--kind", choices=["batches", "results", "baseline"], required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--latency", action="store_true")
    p.add_argument("--policy", default="block")
    p.add_argument("--max-ticks-per-frame", "--frame", dest="frame", type=int, default=4096, help="StreamBatches: max ticks per frame")
    p.add_argument("--max-wait", type=float, default=0.002,
                   help="StreamBatches: seconds a result may wait for its frame")
    p.add_argument("--fields", default=None,
                   help="StreamBatches: comma-separated columns to receive (default: all)")
    args = p.parse_args(argv)
    w = Window(args.duration, args.latency)
    {"batches": run_batches, "results": run_results, "baseline": run_baseline}[args.kind](args, w)
    print(json.dumps(w.report()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
