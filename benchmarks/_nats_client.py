"""One client process of the NATS benchmarks.

    python -m benchmarks._nats_client replay --targets A[,B...] --count N
    python -m benchmarks._nats_client latency --targets A --duration S

``replay``: StreamBatches from seq 0 until seq N-1 arrived; prints one JSON
line {ticks, seconds, rate, cpu_s}. ``latency``: a live stream for S seconds;
prints {ticks, p50_ms, p99_ms, max_ms} of (receipt time - engine receive
time ``recv_ns``) over every tick after the first second.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

import mdstream


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def replay(client: mdstream.Client, count: int) -> dict:
    t0, c0, ticks = time.monotonic(), _cpu(), 0
    for batch in client.stream_batches(from_seq=0, policy="block", max_ticks_per_frame=4096):
        ticks += len(batch)
        if len(batch) and batch.seq[-1] >= count - 1:
            break
    dt = time.monotonic() - t0
    return {"ticks": ticks, "seconds": dt, "rate": ticks / dt, "cpu_s": _cpu() - c0}


def latency(client: mdstream.Client, duration: float) -> dict:
    lat, ticks = [], 0
    start = time.monotonic()
    for batch in client.stream_batches(policy="block", max_wait=0.0005):
        now = time.time_ns()
        if time.monotonic() - start > 1.0 and len(batch):
            lat.append(now - batch.recv_ns)
            ticks += len(batch)
        if time.monotonic() - start > duration + 1.0:
            break
    ms = np.concatenate(lat) / 1e6 if lat else np.array([np.nan])
    return {"ticks": ticks, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("replay", "latency"))
    p.add_argument("--targets", required=True)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--duration", type=float, default=3.0)
    a = p.parse_args()
    with mdstream.Client(a.targets) as client:
        client.wait_ready(30)
        out = replay(client, a.count) if a.mode == "replay" else latency(client, a.duration)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
