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
Then several streams per client: 1, 2 and 4 StreamResults streams (the 8
symbols split between them, a Client and a thread each) read by this
process, total messages/s against the single stream's in the same run.

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
    yield from run_several(opts, machine)


def _several_streams(n: int, duration: float, warmup: float) -> float:
    """Total messages/s of n StreamResults streams (symbols split) read by threads of this process."""
    import threading
    import time

    from mdstream.grpc.client import Client

    argv = _servers()["mdstream"][0]
    with _grpc.ServerProcess(argv, "mdstream") as server:
        syms = [f"SYM{i}" for i in range(8)]
        counts = [0] * n
        counting, stop = threading.Event(), threading.Event()

        def read(k: int) -> None:
            with Client(server.address) as client:
                stream = client.stream_results(symbols=syms[k::n], policy="block")
                for _ in stream:
                    if counting.is_set():
                        counts[k] += 1
                    if stop.is_set():
                        break
                stream.cancel()

        threads = [threading.Thread(target=read, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        time.sleep(warmup + 0.5)
        counting.set()
        time.sleep(duration)
        total = sum(counts)
        stop.set()
        for t in threads:
            t.join(10)
    return total / duration


def run_several(opts, machine):
    warmup = 0.3 if opts.quick else 1.0
    d = max(opts.duration, 0.3 if opts.quick else 3.0)
    runs: dict[int, list[float]] = {1: [], 2: [], 4: []}
    for _ in range(opts.repeat):
        for n in runs:
            runs[n].append(_several_streams(n, d, warmup))
    for n in (2, 4):
        yield result_line(
            NAME, f"mdstream_{n}_streams_per_client_messages_per_s", "messages/s",
            {"streams": n, "symbols": 8, "duration_s": d}, runs[n], runs[1],
            "one StreamResults stream with every symbol, same client process", machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
