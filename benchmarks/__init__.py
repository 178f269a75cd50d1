"""mdstream's benchmark suite: every number next to the baseline it beats.

Run from the repository root (``make bench`` runs them all)::

    python -m benchmarks                        # the whole suite
    python -m benchmarks channel analytics --repeat 5
    python -m benchmarks.engine --duration 2    # one benchmark on its own
    python -m benchmarks --list

Each benchmark prints one JSON object per result line: the machine, the
parameters, every run with the median, min, max and IQR, the baseline
measured in the same run (``benchmarks/baselines/``: what you would write
without mdstream) and the ratio. Runs of mdstream and of the baseline
alternate, so load from elsewhere on the machine falls on both alike.
These are measurements, not tests: nothing here passes or fails on a number.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Iterable, Sequence

from mdstream.benchmarking import emit, machine_info

#: Benchmark names, in the order the suite runs them, with what they measure.
BENCHMARKS = {
    "channel": "items/s through the core's channel vs queue.Queue (per item and batched)",
    "analytics": "ns per tick of the per-symbol analytics vs plain Python",
    "engine": "ticks/s from a simulated feed to an in-process subscriber, 1 and 2 workers",
    "gil": "speed of a pure-Python loop while the engine runs flat out, vs the loop alone",
    "grpc1": "ticks/s to 1 gRPC client process (StreamBatches, StreamResults) vs plain grpcio",
    "grpc8": "ticks/s to 8 gRPC client processes; slowest vs fastest",
    "latency": "feed timestamp to client receipt p50/p99/p999 at fixed rates",
    "latency_rates": "p50/p99/p999 at 1k, 20k, 100k ticks/s and the limit: in process, "
                     "StreamBatches (adaptive vs fixed linger), StreamResults vs pre-encoded grpcio",
    "stream_results_limit": "StreamResults messages/s at the limit vs pre-encoded grpcio (sync, aio)",
    "memory": "server RSS with 8 subscribers at full rate, and its growth over a run",
    "csv_parse": "rows/s CSVFeed parses recorded trades and quotes at vs the csv module",
    "journal": "ticks/s with the journal at each durability vs none, and replay speed",
    "journal_read": "results/s JournalReader and journal export read at vs an engine's replay",
    "live_feed": "live feed messages/s decoded per core vs json.loads; venue send -> subscriber latency",
    "async_subscription": "ticks/s of async for over a Subscription vs the sync for loop",
    "connect_error": "ms to a clear error when nothing listens vs waiting out the timeout",
    "nats_publish": "results/s and messages/s published to NATS JetStream; cost to the engine",
    "nats_edges": "ticks/s to clients through 1, 2, 4 edges vs one server; latency via JetStream",
    "file_feeds": "ticks/s ParquetFeed and DBNFeed read and replay at vs CSVFeed, same trades",
    "projection": "ticks/s and bytes/tick to 1 gRPC client: a 5-column projection vs all columns",
    "csv_progress": "rows/s of a CSV replay keeping its progress object vs not; ns per update",
    "engine_scaling": "engine ticks/s and memory against 1 to 100,000 symbols, 1 and 2 workers, "
                      "vs a queue.Queue pipeline",
    "compact_frames": "bytes and CPU per tick of gzip, zstd and delta-encoded frames vs the plain "
                      "frame; grpcio's gzip end to end",
    "subscriber_scaling": "aggregate ticks/s, server RSS and fairness for 1 to 256 StreamBatches "
                          "subscribers vs a grpcio server of pre-encoded frames",
    "orders": "paper venue: orders/s through the core in process vs a plain-Python matcher; "
              "order-to-ack and order-to-fill p50/p99/p99.9 at 1k, 10k, 100k orders/s",
}


def build_parser(prog: str, names: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="mdstream benchmarks; one JSON object per result on stdout.",
        epilog="Benchmarks: " + "; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    if names:
        p.add_argument("names", nargs="*", metavar="NAME",
                       help="benchmarks to run (default: all): " + ", ".join(BENCHMARKS))
        p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of mdstream and of the baseline per result (default 3)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds per run (default 1.0; 0.1 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="tiny runs to check that everything works (numbers mean little)")
    p.add_argument("--workers", default="1,2",
                   help="engine worker counts to measure, comma-separated (default 1,2)")
    p.add_argument("--clients", type=int, default=8, help="client processes of grpc8 (default 8)")
    p.add_argument("--max-ticks-per-frame", "--frame", dest="frame", type=int, default=4096,
                   help="grpc1/grpc8/memory: StreamBatches max ticks per frame (default 4096)")
    p.add_argument("--max-wait", type=float, default=0.002,
                   help="grpc1/grpc8/memory: StreamBatches max_wait in seconds (default 0.002)")
    p.add_argument("--rates", default="10000,100000,1000000",
                   help="latency: feed rates in ticks/s, comma-separated")
    p.add_argument("--memory-duration", type=float, default=None,
                   help="memory: seconds of the run (default 20; 60 with --long)")
    p.add_argument("--long", action="store_true", help="memory: the 60 s run of the target")
    p.add_argument("--output", default=None, help="also append the JSON lines to this file")
    return p


def finish_options(opts: argparse.Namespace) -> argparse.Namespace:
    if opts.duration is None:
        opts.duration = 0.1 if opts.quick else 1.0
    if opts.memory_duration is None:
        opts.memory_duration = 60.0 if opts.long else (2.0 if opts.quick else 20.0)
    opts.workers = [int(w) for w in str(opts.workers).split(",") if w]
    opts.rates = [float(r) for r in str(opts.rates).split(",") if r]
    if opts.repeat < 1 or opts.duration <= 0 or opts.memory_duration <= 0:
        raise SystemExit("--repeat must be >= 1 and durations > 0")
    if not opts.workers or min(opts.workers) < 1:
        raise SystemExit("--workers must list worker counts >= 1")
    return opts


def _source_version() -> dict:
    """The commit the suite runs from, and whether the tree had local changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                                capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               text=True, capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit, "git_dirty": bool(dirty)} if commit else {}


def run(names: Iterable[str], opts: argparse.Namespace) -> int:
    """Run benchmarks by name, printing each result line as it is measured."""
    names = list(names)
    machine = machine_info()
    machine.update(_source_version())
    out = open(opts.output, "a") if opts.output else None
    failed = []
    try:
        for name in names:
            module = importlib.import_module(f"benchmarks.{name}")
            t0 = time.monotonic()
            try:
                for line in module.run(opts, machine):
                    emit(line)
                    if out is not None:
                        emit(line, out)
            except Exception as exc:   # keep going: one broken benchmark should not hide the rest
                failed.append(name)
                if len(names) == 1:
                    raise
                traceback.print_exc()
                print(f"benchmark {name} failed: {exc!r}", file=sys.stderr)
            print(f"# {name}: {time.monotonic() - t0:.1f} s", file=sys.stderr)
    finally:
        if out is not None:
            out.close()
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser("python -m benchmarks", names=True).parse_args(argv)
    if opts.list:
        for k, v in BENCHMARKS.items():
            print(f"{k:10} {v}")
        return 0
    unknown = [n for n in opts.names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark {', '.join(unknown)}; "
                         f"choose from {', '.join(BENCHMARKS)}")
    return run(opts.names or list(BENCHMARKS), finish_options(opts))


def module_main(name: str, argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.NAME``: one benchmark with the suite's options."""
    opts = build_parser(f"python -m benchmarks.{name}", names=False).parse_args(argv)
    return run([name], finish_options(opts))
