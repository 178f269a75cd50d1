"""Edges: ticks/s to client processes through 1, 2 and 4 edges against one
``mdstream serve``, replay speed from JetStream, and the latency the
engine -> JetStream -> edge -> client path adds.

Throughput: N results are published to a real nats-server (file storage);
C client processes (StreamBatches from seq 0, policy block) each read all N,
client i through edge i % E (E edge processes, ``mdstream edge``). The
baseline, in the same run: the same clients reading the same N results from
one ``mdstream serve --count N`` process (from its ring). Reported: the sum
of the clients' ticks over the slowest client's time. Every process shares
the machine's cores (2 here), so this measures the edges' cost on one
machine, not a deployment (see the capacity model in docs/PERFORMANCE.md).

Latency: an engine at a fixed rate publishes as it runs; one client process
reads a live stream through an edge, another directly from the engine's own
gRPC server, one after the other; percentiles of (receipt time - engine
receive time) per tick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from mdstream.benchmarking import result_line
from mdstream.nats.testing import start_mdstream

NAME = "nats_edges"
SYMBOLS = "AAPL,MSFT,GOOG,AMZN,TSLA,META,NVDA,INTC"


def _stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


def _clients(mode: str, targets: list[str], extra: list[str]) -> list[dict]:
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks._nats_client", mode,
                               "--targets", t, *extra], stdout=subprocess.PIPE, text=True)
             for t in targets]
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=600)
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _total(results: list[dict]) -> float:
    return sum(r["ticks"] for r in results) / max(r["seconds"] for r in results)


def _publish(url: str, count: int) -> None:
    import mdstream
    from mdstream.nats import Publisher

    engine = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=SYMBOLS.split(","), rate=0,
                                                         count=count, seed=1), workers=2)
    publisher = Publisher(engine, url, policy="block").start()
    with engine:
        if not publisher.wait_published(count - 1, 600):
            raise RuntimeError(f"publishing did not finish: {publisher.stats()}")
    publisher.stop()


def _latency(url: str, rate: float, duration: float) -> tuple[dict, dict]:
    import mdstream
    from mdstream.grpc import Server
    from mdstream.nats import Publisher

    engine = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=SYMBOLS.split(","), rate=rate,
                                                         seed=2), workers=2)
    stream = f"LAT{time.monotonic_ns()}"
    publisher = Publisher(engine, url, stream=stream, subject_prefix=stream.lower(),
                          max_wait=0.0005).start()
    procs = []
    try:
        with engine, Server(engine, "127.0.0.1", 0) as server:
            edge, address = start_mdstream(["edge", "--source", url, "--stream", stream,
                                            "--port", "0"])
            procs.append(edge)
            extra = ["--duration", str(duration)]
            via_edge = _clients("latency", [address], extra)[0]
            direct = _clients("latency", [server.address], extra)[0]
    finally:
        _stop(procs)
        publisher.stop()
    return via_edge, direct


def run(opts, machine):
    from mdstream.nats.testing import NatsServer

    count = 20_000 if opts.quick else 300_000
    n_clients = 4
    runs = 1 if opts.quick else opts.repeat
    params = {"results": count, "client_processes": n_clients, "symbols": 8,
              "policy": "block", "max_ticks_per_frame": 4096, "storage": "file",
              "transport": "loopback TCP", "cores": os.cpu_count()}
    with NatsServer() as nats_server, tempfile.TemporaryDirectory():
        _publish(nats_server.url, count)
        edge_counts = (1,) if opts.quick else (1, 2, 4)
        serve_runs = {e: [] for e in edge_counts}
        cpu_runs = {e: [] for e in edge_counts}
        base, serve_cpu = [], []
        for _ in range(runs):
            proc, address = start_mdstream(["serve", "--port", "0", "--rate", "0",
                                            "--count", str(count), "--symbols", SYMBOLS,
                                            "--ring-size", str(1 << 20)])
            try:
                time.sleep(1.0 if opts.quick else 3.0)       # the whole replay is in its ring
                cpu0 = _cpu_s(proc.pid)
                results = _clients("replay", [address] * n_clients, ["--count", str(count)])
                serve_cpu.append(sum(r["ticks"] for r in results) / (_cpu_s(proc.pid) - cpu0))
                base.append(_total(results))
            finally:
                _stop([proc])
            for edges in edge_counts:
                procs = []
                try:
                    addresses = []
                    for _e in range(edges):
                        p, a = start_mdstream(["edge", "--source", nats_server.url,
                                               "--port", "0"])
                        procs.append(p)
                        addresses.append(a)
                    targets = [addresses[i % edges] for i in range(n_clients)]
                    pids = [p.pid for p in procs] + [nats_server.proc.pid]
                    cpu0 = [_cpu_s(pid) for pid in pids]
                    results = _clients("replay", targets, ["--count", str(count)])
                    cpu = [_cpu_s(pid) - c for pid, c in zip(pids, cpu0)]
                    ticks = sum(r["ticks"] for r in results)
                    serve_runs[edges].append(_total(results))
                    cpu_runs[edges].append({"edge_cpu_s": sum(cpu[:-1]), "nats_cpu_s": cpu[-1],
                                            "clients_cpu_s": sum(r["cpu_s"] for r in results),
                                            "ticks": ticks,
                                            "ticks_per_edge_cpu_s": ticks / max(sum(cpu[:-1]), 1e-9),
                                            "ticks_per_nats_cpu_s": ticks / max(cpu[-1], 1e-9)})
                finally:
                    _stop(procs)
        base_name = f"{n_clients} clients of one mdstream serve process (replay from its ring)"
        for edges, rates in serve_runs.items():
            yield result_line(NAME, f"replay_{n_clients}_clients_{edges}_edges_total", "ticks/s",
                              {**params, "edges": edges}, rates, base, base_name, machine=machine,
                              extra={"cpu_runs": cpu_runs[edges],
                                     "serve_ticks_per_cpu_s": serve_cpu})
        rate = 10_000.0
        duration = 1.0 if opts.quick else 3.0
        lat = [_latency(nats_server.url, rate, duration) for _ in range(runs)]
        lparams = {"rate": rate, "duration_s": duration, "symbols": 8, "max_wait_s": 0.0005,
                   "path": "engine -> publisher -> JetStream (1 node, file) -> edge -> client"}
        for q in ("p50_ms", "p99_ms"):
            yield result_line(NAME, f"latency_via_edge_{q[:-3]}", "ms", lparams,
                              [v[q] for v, _d in lat], [d[q] for _v, d in lat],
                              "the same engine's own gRPC server, client direct",
                              higher_is_better=False, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
