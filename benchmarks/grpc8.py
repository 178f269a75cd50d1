"""gRPC, 8 client processes: total ticks per second, and fairness.

One mdstream server process (workers=2, SimulatedFeed(rate=0)) and 8 client
processes each reading StreamBatches with policy 'block' (so the feed runs
as fast as the slowest client reads). Reported: the sum of the clients'
rates over a common window (at least 5 s), and the slowest client's rate over
the fastest's.

Baseline: the plain grpcio server (queue.Queue pipeline, one Result per tick)
with 8 plain clients. All 9 processes share the machine's cores: the CPU
time of each over the window is recorded.
"""

from __future__ import annotations

import statistics
import sys

from mdstream.benchmarking import result_line

from benchmarks import _grpc

NAME = "grpc8"


def _summary(runs: list[dict]) -> dict:
    cpus = [_grpc.cpu_summary(r) for r in runs]
    return {"server_cores": statistics.median(c["server_cores"] for c in cpus),
            "clients_cores_total": statistics.median(sum(c["client_cores"]) if isinstance(
                c["client_cores"], list) else c["client_cores"] for c in cpus),
            "machine_cores": cpus[0]["machine_cores"],
            "client_rates_last_run": [c["rate"] for c in runs[-1]["clients"]]}


def run(opts, machine):
    n = opts.clients
    warmup = 0.3 if opts.quick else 1.0
    # With policy 'block' a fast client can be up to a ring (65536 results)
    # ahead of the slowest: over a 1 s window that alone reads as ~0.75
    # fairness. 5 s windows measure the steady state.
    d = opts.duration if opts.quick else max(opts.duration, 5.0)
    md, base = [], []
    for _ in range(opts.repeat):
        with _grpc.mdstream_server() as server:
            md.append(_grpc.run_clients(server, "batches", n, d, warmup,
                                        extra=_grpc.frame_args(opts)))
        with _grpc.baseline_server() as server:
            base.append(_grpc.run_clients(server, "baseline", n, d, warmup))
    total = lambda runs: [sum(c["rate"] for c in r["clients"]) for r in runs]
    fair = lambda runs: [min(c["rate"] for c in r["clients"]) / max(c["rate"] for c in r["clients"])
                         if max(c["rate"] for c in r["clients"]) > 0 else 0.0 for r in runs]
    params = {"clients": n, "client_processes": n, "server_workers": 2, "symbols": 8,
              "feed": "SimulatedFeed(rate=0)", "policy": "block", "max_ticks_per_frame": 4096,
              "max_wait_s": 0.002, "transport": "loopback TCP", "duration_s": d}
    base_name = "plain grpcio server, one protobuf Result per tick, plain clients"
    yield result_line(NAME, f"stream_batches_{n}_clients_total", "ticks/s", params,
                      total(md), total(base), base_name, target=">= 3,000,000 ticks/s in total",
                      extra={"cpu": _summary(md), "baseline_cpu": _summary(base)}, machine=machine)
    yield result_line(NAME, f"stream_batches_{n}_clients_slowest_over_fastest", "fraction", params,
                      fair(md), fair(base), base_name, target=">= 0.8", machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
