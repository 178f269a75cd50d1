"""Memory: resident set size of the server with 8 subscribers at full rate.

mdstream: a server process (workers=2, SimulatedFeed(rate=0)) and 8 client
processes reading StreamBatches with policy 'block' for the whole run. After
a warm-up, the server's RSS is sampled every 0.25 s from /proc. Reported:
its peak RSS (VmHWM) and its growth over the run (RSS at the end minus RSS
when the window opened), with the least-squares slope in MB per minute.
The target's run is 60 s (--long); the default is shorter.

Baseline: the plain grpcio server with 8 plain clients, measured the same way.
"""

from __future__ import annotations

import sys
import time

from mdstream.benchmarking import result_line, summarize

from benchmarks import _grpc

NAME = "memory"
MB = 1024 * 1024


def measure(server: _grpc.ServerProcess, kind: str, n: int, duration: float, warmup: float,
            extra=()) -> dict:
    samples: list[tuple[float, int]] = []

    def sample():
        samples.append((time.monotonic(), server.memory()["rss"]))

    run = _grpc.run_clients(server, kind, n, duration, warmup, sample=sample, extra=extra)
    mem = server.memory()
    samples.append((time.monotonic(), mem["rss"]))
    t0 = samples[0][0]
    xs = [t - t0 for t, _ in samples]
    ys = [r / MB for _, r in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var * 60 if var > 0 else 0.0
    return {"peak_mb": mem["peak_rss"] / MB, "start_mb": ys[0], "end_mb": ys[-1],
            "growth_mb": ys[-1] - ys[0], "slope_mb_per_min": slope,
            "ticks": sum(c["ticks"] for c in run["clients"]), "samples": len(samples)}


def run(opts, machine):
    n = opts.clients
    d = opts.memory_duration
    warmup = 0.3 if opts.quick else 3.0
    md, base = [], []
    for _ in range(opts.repeat):
        with _grpc.mdstream_server() as server:
            md.append(measure(server, "batches", n, d, warmup, _grpc.frame_args(opts)))
        with _grpc.baseline_server() as server:
            base.append(measure(server, "baseline", n, d, warmup))
    params = {"subscribers": n, "client_processes": n, "max_ticks_per_frame": opts.frame,
              "max_wait_s": opts.max_wait, "server_workers": 2, "ring_size": 65536,
              "feed": "SimulatedFeed(rate=0)", "policy": "block", "run_s": d, "warmup_s": warmup,
              "sample_every_s": 0.25}
    base_name = "plain grpcio server (queue.Queue pipeline) with the same subscribers"
    col = lambda runs, k: [r[k] for r in runs]
    yield result_line(NAME, f"server_peak_rss_{n}_subscribers", "MB", params,
                      col(md, "peak_mb"), col(base, "peak_mb"), base_name, higher_is_better=False,
                      extra={"ticks_delivered": col(md, "ticks")}, machine=machine)
    yield result_line(NAME, f"server_rss_growth_{n}_subscribers", "MB over the run", params,
                      col(md, "growth_mb"), col(base, "growth_mb"), base_name,
                      higher_is_better=False, target="flat: no growth after warm-up",
                      extra={"slope_mb_per_min": summarize(col(md, "slope_mb_per_min")),
                             "start_mb": summarize(col(md, "start_mb")),
                             "end_mb": summarize(col(md, "end_mb")),
                             "baseline_slope_mb_per_min": summarize(col(base, "slope_mb_per_min"))},
                      machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
