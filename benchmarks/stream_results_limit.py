"""The per-tick stream's limit: messages/s one client receives at the feed's limit.

In the same run, one client process each (benchmarks/_grpc_client.py):

- ``mdstream``: StreamResults from an mdstream server (SimulatedFeed at rate 0,
  8 symbols, 2 workers; one codec-encoded Result per tick, sent as bytes);
- baseline ``sync``: a minimal grpcio server (thread pool) streaming
  pre-encoded Result messages as fast as grpcio takes them
  (benchmarks/baselines/preencoded_server.py);
- ``aio``: the same pre-encoded stream from grpc.aio's server (an async
  generator on one event loop), read by the same plain client.

Each line gives received messages/s (median of the runs) against the
pre-encoded sync server's, and each server's CPU (cores) in the window.

    python -m benchmarks stream_results_limit [--repeat 3] [--duration 3]
"""

from __future__ import annotations

import statistics
import sys

from mdstream.benchmarking import result_line

from benchmarks import _grpc

NAME = "stream_results_limit"


def _servers() -> dict:
    py = sys.executable
    pre = [py, "-m", "benchmarks.baselines.preencoded_server", "--port", "0", "--rate", "0"]
    return {
        "mdstream": ([py, "-m", "benchmarks._linger_server", "--rate", "0"], "results"),
        "sync": (pre, "baseline"),
        "aio": (pre + ["--aio"], "baseline"),
    }


def run(opts, machine):
    warmup = 0.3 if opts.quick else 1.0
    d = max(opts.duration, 0.3 if opts.quick else 3.0)
    runs: dict[str, list[dict]] = {k: [] for k in _servers()}
    for _ in range(opts.repeat):
        for name, (argv, kind) in _servers().items():     # interleaved: load hits all alike
            with _grpc.ServerProcess(argv, name) as server:
                r = _grpc.run_clients(server, kind, 1, d, warmup)
            runs[name].append({"rate": r["clients"][0]["rate"],
                               "server_cores": r["server_cpu_s"] / r["window_s"],
                               "client_cores": r["clients"][0]["cpu_s"] / r["window_s"]})
    base = [r["rate"] for r in runs["sync"]]
    for name, what in (("mdstream", "StreamResults (mdstream server, engine at its limit)"),
                       ("aio", "pre-encoded messages from grpc.aio's server")):
        yield result_line(
            NAME, f"{name}_messages_per_s", "messages/s",
            {"server": what, "clients": 1, "symbols": 8, "duration_s": d},
            [r["rate"] for r in runs[name]], base,
            "minimal grpcio server (thread pool) streaming pre-encoded Result messages",
            target="~30 k messages/s per stream" if name == "mdstream" else None,
            extra={"server_cores": statistics.median(r["server_cores"] for r in runs[name]),
                   "client_cores": statistics.median(r["client_cores"] for r in runs[name]),
                   "baseline_server_cores": statistics.median(
                       r["server_cores"] for r in runs["sync"])},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
