"""Memory: resident set size of the server with 8 subscribers at full rate.

mdstream: a server process (workers=2, SimulatedFeed(rate=0)) and 8 client
processes reading StreamBatches with policy 'block' for the whole run. After
a warm-up (a quarter of the run, at least 5 s), the server's RSS is sampled
every 0.25 s from /proc. Reported: its peak RSS (VmHWM), and its growth over
the run (median of the last tenth of the samples minus the median of the
first tenth), with the least-squares slope in MB per minute and the series.
The target's run is 60 s (--long); the default is shorter.

Baseline: the plain grpcio server with 8 plain clients, measured the same way.
"""

from __future__ import annotations

import statistics
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
    # Peak over the server's life; the samples are from inside the window only
    # (once the clients leave, their buffers are freed and RSS falls).
    peak = server.memory()["peak_rss"]
    t0 = samples[0][0]
    xs = [t - t0 for t, _ in samples]
    ys = [r / MB for _, r in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var * 60 if var > 0 else 0.0
    k = max(1, len(ys) // 10)
    start, end = statistics.median(ys[:k]), statistics.median(ys[-k:])
    return {"peak_mb": peak / MB, "start_mb": start, "end_mb": end, "growth_mb": end - start,
            "slope_mb_per_min": slope, "min_mb": min(ys), "max_mb": max(ys),
            "ticks": sum(c["ticks"] for c in run["clients"]), "samples": len(samples),
            "series_mb": [round(y, 1) for y in ys[::max(1, len(ys) // 30)]]}


def run(opts, machine):
    n = opts.clients
    d = opts.memory_duration
    # RSS settles within the first seconds of streaming (buffers of the 8
    # streams, first-touch of the ring): the window opens after that.
    warmup = 0.3 if opts.quick else max(5.0, d / 4)
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
                             "series_mb_last_run": md[-1]["series_mb"],
                             "min_max_mb": [min(col(md, "min_mb")), max(col(md, "max_mb"))],
                             "start_mb": summarize(col(md, "start_mb")),
                             "end_mb": summarize(col(md, "end_mb")),
                             "baseline_slope_mb_per_min": summarize(col(base, "slope_mb_per_min"))},
                      machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
