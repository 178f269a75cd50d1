"""gRPC, 1 client process: ticks per second received over loopback.

mdstream: a server process (``mdstream serve --port 0 --rate 0 --workers 2``,
8 symbols) and one client process using mdstream.Client:
- ``stream_batches``: StreamBatches, columnar frames of up to 4096 ticks
  (max_wait 2 ms), decoded into NumPy batches; the client sums a column;
- ``stream_results``: StreamResults, one protobuf Result per tick.
Both use policy 'block', so the feed runs exactly as fast as the client reads.

Baseline: benchmarks/baselines/grpc_server.py (the queue.Queue pipeline with
plain-Python analytics, one protobuf Result per tick, grpcio's sync server)
and its plain grpcio client, in the same two-process layout.

Every run records the CPU time of the server and of the client over the
measuring window: both share the machine's cores.
"""

from __future__ import annotations

import sys

from mdstream.benchmarking import result_line

from benchmarks import _grpc

NAME = "grpc1"


def _cpu(runs: list[dict]) -> dict:
    return {**_grpc.median_cores(runs),
            "machine_cores": _grpc.cpu_summary(runs[0])["machine_cores"]}


def run(opts, machine):
    warmup = 0.2 if opts.quick else 1.0
    d = opts.duration
    batches, results, baseline = [], [], []
    for _ in range(opts.repeat):
        with _grpc.mdstream_server() as server:
            batches.append(_grpc.run_clients(server, "batches", 1, d, warmup,
                                             extra=_grpc.frame_args(opts)))
            results.append(_grpc.run_clients(server, "results", 1, d, warmup))
        with _grpc.baseline_server() as server:
            baseline.append(_grpc.run_clients(server, "baseline", 1, d, warmup))
    rate = _grpc.client_rates
    params = {"clients": 1, "server_workers": 2, "symbols": 8, "feed": "SimulatedFeed(rate=0)",
              "policy": "block", "transport": "loopback TCP", "duration_s": d}
    base_name = "plain grpcio server, one protobuf Result per tick from a queue.Queue pipeline"
    yield result_line(NAME, "stream_batches", "ticks/s",
                      {**params, "max_ticks_per_frame": opts.frame, "max_wait_s": opts.max_wait},
                      rate(batches), rate(baseline), base_name,
                      target=">= 3,000,000 ticks/s and >= 50x the baseline",
                      extra={"cpu": _cpu(batches), "baseline_cpu": _cpu(baseline)}, machine=machine)
    yield result_line(NAME, "stream_results", "ticks/s", params,
                      rate(results), rate(baseline), base_name,
                      extra={"cpu": _cpu(results), "baseline_cpu": _cpu(baseline)}, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
