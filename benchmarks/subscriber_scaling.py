"""How the server's cost grows with subscribers: 1 to 256 StreamBatches streams.

mdstream: one ``mdstream serve`` process (SimulatedFeed(rate=0), 64
symbols, 2 workers, ring 65536, --max-streams and --max-streams-per-client
raised to let 256 streams in) and N concurrent StreamBatches subscribers,
N in 1, 4, 16, 64, 256 (1 and 4 with --quick), each with policy 'block':
the feed runs as fast as the slowest subscriber reads, so the ticks/s
delivered is what the server can push to N streams at once (with 'skip' the
feed would run flat out on the same 2 cores and the count would mix the
engine's cost with the streams'). Two filters:

- ``all``: every subscriber asks for every symbol (each tick is sent N times);
- ``one_symbol``: subscriber i asks for symbol (i * 64 // N) for N <= 64,
  (i mod 64) beyond: one stream per symbol at N = 64, four at N = 256.

Clients: min(N, 4) client processes (1 with --quick) (benchmarks/_subs_client.py), the N
streams shared among them, each process one asyncio event loop running
its streams, one mdstream.AsyncClient (own connection) per stream: 256
threads (or processes) of clients would take the 2 cores from the server
being measured; an event loop reads many streams with no GIL hand-off per
frame. Every stream counts the ticks it receives in a common window
(``--duration``, at least 2 s outside --quick, after a 1 s warm-up).

Per point: aggregate ticks/s (the sum over the N subscribers; median of
the runs), the server's RSS at the end of the window (VmRSS, MB), fairness
(slowest subscriber's ticks/s over the fastest's, median of the runs), and
the CPU cores the server and the clients used in the window.

Baseline, alternating with mdstream's runs at each point: a plain grpcio
server (benchmarks/baselines/preencoded_frames_server.py, thread per
stream like mdstream's) streaming pre-encoded StreamBatches frames of real
results: the same bytes mdstream sends, read by the same client processes,
with as many ticks per frame as mdstream's streams got in the run just
before (so both send the same messages), one symbol's results for a
one_symbol request. No feed, no engine, no per-stream encoding: the floor
grpcio sets for N streams of those frames. (benchmarks/baselines/
preencoded_server.py sends one Result message per tick; StreamBatches
sends frames, so the frames version is the closest to compare.)
"""

from __future__ import annotations

import statistics
import sys
import time

from mdstream.benchmarking import result_line

from benchmarks import _grpc

NAME = "subscriber_scaling"
SYMBOLS = 64
WORKERS = 2
RING = 1 << 16
MB = 1024 * 1024


def _symbol_of(i: int, n: int) -> str:
    return f"SYM{(i * SYMBOLS // n) if n <= SYMBOLS else i % SYMBOLS}"


def mdstream_server(max_streams: int) -> _grpc.ServerProcess:
    argv = [sys.executable, "-m", "mdstream", "serve", "--port", "0", "--rate", "0",
            "--workers", str(WORKERS),
            "--symbols", ",".join(f"SYM{i}" for i in range(SYMBOLS)),
            "--ring-size", str(RING), "--max-streams", str(max_streams),
            "--max-streams-per-client", str(max_streams)]
    return _grpc.ServerProcess(argv, "mdstream")


def baseline_server(max_streams: int, ticks_per_frame: int) -> _grpc.ServerProcess:
    # Its frames hold up to ticks_per_frame results, fewer if a request's
    # max_ticks_per_frame says so.
    argv = [sys.executable, "-m", "benchmarks.baselines.preencoded_frames_server",
            "--port", "0", "--symbols", str(SYMBOLS), "--ticks-per-frame", str(ticks_per_frame),
            "--max-streams", str(max_streams)]
    return _grpc.ServerProcess(argv, "preencoded frames")


def client_processes(n: int, opts) -> int:
    # --quick: one process (starting processes is most of a tiny run).
    return 1 if opts.quick else min(n, 4)


def client_argvs(server: _grpc.ServerProcess, n: int, filt: str, duration: float,
                 opts, frame: int) -> list[list[str]]:
    procs = client_processes(n, opts)
    base = [sys.executable, "-m", "benchmarks._subs_client", "--target", server.address,
            "--duration", repr(duration), "--frame", str(frame),
            "--max-wait", repr(opts.max_wait), "--policy", "block"]
    out = []
    for p in range(procs):
        mine = list(range(p, n, procs))
        if filt == "all":
            out.append(base + ["--streams", str(len(mine))])
        else:
            out.append(base + ["--symbols", ",".join(_symbol_of(i, n) for i in mine)])
    return out


def measure(server: _grpc.ServerProcess, n: int, filt: str, duration: float, warmup: float,
            opts, frame: int, ready_timeout: float = 90.0) -> dict:
    """One run: N subscribers against `server`, a common window of `duration` s."""
    clients = [_grpc._Client(a) for a in client_argvs(server, n, filt, duration, opts, frame)]
    try:
        start_at = _grpc.start_together(clients, warmup, ready_timeout)
        cpu0 = server.cpu_seconds()
        time.sleep(max(0.0, start_at + duration - time.time()))
        cpu1 = server.cpu_seconds()
        rss = server.memory()["rss"] / MB
        results = [c.result(duration + 60) for c in clients]
    finally:
        for c in clients:
            c.kill()
    rates = [r for res in results for r in res["rates"]]
    frames = sum(r["frames"] for r in results)
    received = sum(r["received"] for r in results)
    return {"total": sum(rates), "fairness": min(rates) / max(rates) if max(rates) > 0 else 0.0,
            "rss_mb": rss, "server_cores": (cpu1 - cpu0) / duration,
            "client_cores": sum(r["cpu_s"] for r in results) / duration,
            "ticks_per_frame": received / frames if frames else 0.0,
            "bytes_per_tick": sum(r["bytes"] for r in results) / max(1, received),
            "errors": [e for r in results for e in r["errors"]]}


def run(opts, machine):
    ns = (1, 4) if opts.quick else (1, 4, 16, 64, 256)
    warmup = 0.2 if opts.quick else 1.0
    d = opts.duration if opts.quick else max(opts.duration, 2.0)
    max_streams = max(ns) + 8
    # A fresh server per run, so each point's RSS is its own; with --quick
    # one server of each kind serves every run (the whole benchmark in ~15 s).
    shared: dict[str, _grpc.ServerProcess] = {}

    def server(kind: str) -> _grpc.ServerProcess:
        start = lambda: (mdstream_server(max_streams) if kind == "mdstream"
                         else baseline_server(max_streams, opts.frame))
        if not opts.quick:
            return start()
        if kind not in shared:
            shared[kind] = start()
        return shared[kind]

    def done(s: _grpc.ServerProcess) -> None:
        if not opts.quick:
            s.stop()

    try:
        yield from _points(opts, machine, ns, warmup, d, server, done)
    finally:
        for s in shared.values():
            s.stop()


def _points(opts, machine, ns, warmup, d, server, done):
    med = statistics.median
    for filt in ("all", "one_symbol"):
        for n in ns:
            md, base, failed = [], [], []
            for _ in range(opts.repeat):
                s = server("mdstream")
                try:
                    md.append(measure(s, n, filt, d, warmup, opts, opts.frame))
                except RuntimeError as exc:
                    # A run whose subscribers did not all get data (a stream
                    # refused or stalled): said, and the point goes on.
                    failed.append(str(exc).splitlines()[0][:300])
                    print(f"# {NAME}: {n} subscribers, {filt}: run failed: {failed[-1]}",
                          file=sys.stderr)
                    continue
                finally:
                    done(s)
                # The baseline sends frames as large as mdstream's were in that run.
                tpf = max(1, min(opts.frame, round(md[-1]["ticks_per_frame"])))
                s = server("baseline")
                try:
                    base.append(measure(s, n, filt, d, warmup, opts, tpf))
                finally:
                    done(s)
            if not md:
                print(f"# {NAME}: {n} subscribers, {filt}: no run succeeded; no result",
                      file=sys.stderr)
                continue
            params = {"subscribers": n, "filter": filt, "symbols": SYMBOLS,
                      "server_workers": WORKERS, "ring_size": RING,
                      "feed": "SimulatedFeed(rate=0)", "policy": "block",
                      "max_ticks_per_frame": opts.frame, "max_wait_s": opts.max_wait,
                      "client_processes": client_processes(n, opts), "client": "mdstream.AsyncClient, asyncio",
                      "transport": "loopback TCP, a connection per subscriber",
                      "duration_s": d, "warmup_s": warmup}
            col = lambda runs, k: [r[k] for r in runs]
            yield result_line(
                NAME, f"stream_batches_{n}_subscribers_{filt}", "ticks/s", params,
                col(md, "total"), col(base, "total"),
                "plain grpcio server (thread per stream) streaming pre-encoded StreamBatches "
                "frames of the same size to the same subscribers",
                extra={"server_rss_mb": med(col(md, "rss_mb")),
                       "baseline_rss_mb": med(col(base, "rss_mb")),
                       "fairness": med(col(md, "fairness")),
                       "baseline_fairness": med(col(base, "fairness")),
                       "fairness_runs": col(md, "fairness"),
                       "baseline_fairness_runs": col(base, "fairness"),
                       "server_cores": med(col(md, "server_cores")),
                       "baseline_server_cores": med(col(base, "server_cores")),
                       "client_cores": med(col(md, "client_cores")),
                       "baseline_client_cores": med(col(base, "client_cores")),
                       "ticks_per_frame": med(col(md, "ticks_per_frame")),
                       "baseline_ticks_per_frame": med(col(base, "ticks_per_frame")),
                       "bytes_per_tick": med(col(md, "bytes_per_tick")),
                       "failed_runs": failed,
                       "stream_errors": [e for r in md for e in r["errors"]][:5],
                       "baseline_stream_errors": [e for r in base for e in r["errors"]][:5]},
                machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
