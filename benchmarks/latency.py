"""Latency: feed timestamp to client receipt, p50 / p99 / p999, 1 client.

mdstream: a server process with SimulatedFeed(rate=R) (ticks stamped with the
wall clock when generated, in batches of about 1 ms of ticks) and one client
process reading StreamBatches with max_wait 0 (frames are sent as soon as
results are there). Every tick counts: its latency is the client's wall
clock when its frame was decoded minus its feed timestamp (both processes
read the same clock). Rates: 10k, 100k and 1M ticks/s.

Baseline: the plain grpcio server (queue.Queue pipeline paced at the same
rate, one Result per tick) and its plain client, at the same rates. When it
cannot keep up, its queues fill and its latency is the time ticks wait in
them (achieved_rate says so).
"""

from __future__ import annotations

import statistics
import sys

from mdstream.benchmarking import result_line, summarize

from benchmarks import _grpc

NAME = "latency"


def run(opts, machine):
    warmup = 0.3 if opts.quick else 1.0
    d = max(opts.duration, 0.2 if opts.quick else 2.0)
    for rate in opts.rates:
        md, base = [], []
        for _ in range(opts.repeat):
            with _grpc.mdstream_server(rate=rate) as server:
                md.append(_grpc.run_clients(server, "batches", 1, d, warmup, latency=True,
                                            extra=["--max-wait", "0"])["clients"][0])
            with _grpc.baseline_server(rate=rate) as server:
                base.append(_grpc.run_clients(server, "baseline", 1, d, warmup,
                                              latency=True)["clients"][0])
        pct = lambda runs, p: [r["latency_ns"][p] / 1e6 for r in runs if "latency_ns" in r]
        target = {10_000: "p99 <= 1 ms", 1_000_000: "p99 <= 5 ms"}.get(int(rate))
        yield result_line(
            NAME, f"p99_at_{int(rate)}_ticks_per_s", "ms",
            {"rate": rate, "clients": 1, "rpc": "StreamBatches", "max_wait_s": 0.0,
             "server_workers": 2, "symbols": 8, "duration_s": d},
            pct(md, "p99"), pct(base, "p99"),
            "plain grpcio server + client, one Result per tick, same rate",
            higher_is_better=False, target=target,
            extra={"p50_ms": summarize(pct(md, "p50")), "p999_ms": summarize(pct(md, "p999")),
                   "max_ms": max(pct(md, "max")),
                   "achieved_rate": statistics.median(r["rate"] for r in md),
                   "baseline_p50_ms": summarize(pct(base, "p50")),
                   "baseline_p999_ms": summarize(pct(base, "p999")),
                   "baseline_achieved_rate": statistics.median(r["rate"] for r in base)},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
