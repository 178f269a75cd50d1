"""Latency against the input rate: p50 / p99 / p99.9 from feed timestamp to subscriber.

Rates 1k, 20k, 100k ticks/s and the limit (rate 0: the feed as fast as the
engine takes it), 8 symbols, 2 engine workers. At each rate, in the same run:

- ``inprocess``: an Engine in the benchmark process, one subscription with the
  in-process defaults (max_wait 0), read in the main thread;
- ``batches``: a StreamBatches client with the client's defaults (max_wait
  2 ms, the server's default adaptive frame linger);
- ``batches_fixed``: the same client against a server with
  ``frame_linger="fixed"`` (every frame waits up to max_wait: the behaviour
  before the adaptive linger), for comparison;
- ``results``: a StreamResults client (one message per tick);
- baseline: a minimal grpcio server streaming pre-encoded Result messages at
  the same rate (benchmarks/baselines/preencoded_server.py), read by the plain
  grpcio client.

The latency of a tick is the subscriber's wall clock when its batch (or
message) arrived minus the tick's ``ts_ns``: SimulatedFeed stamps ticks with
the wall clock when it generates them, in bursts of about 1 ms, and hands them
to the engine at once; the baseline stamps each burst as it sends it. Each
line is one (rate, subscriber) pair: p50 of the runs vs the baseline's p50,
with p99, p99.9, the rate achieved and the server's CPU in the extras. A
last line per rate compares StreamBatches' received ticks/s, adaptive vs
fixed (at the limit: "no throughput loss").

    python -m benchmarks latency_rates [--rates 1000,20000,100000,0] [--repeat 3] [--duration 3]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from mdstream.benchmarking import latency_percentiles, result_line, summarize

from benchmarks import _grpc

NAME = "latency_rates"
#: Rates measured unless --rates is given (0: the limit).
RATES = (1_000.0, 20_000.0, 100_000.0, 0.0)
SUITE_DEFAULT_RATES = [10_000.0, 100_000.0, 1_000_000.0]   # the suite's --rates default
SYMBOLS = 8
MAX_WAIT_S = 0.002      # the gRPC client's default max_wait


def inprocess(rate: float, duration: float, warmup: float) -> dict:
    """One in-process subscription with the defaults; latency of every tick in the window."""
    from mdstream import Engine, SimulatedFeed

    feed = SimulatedFeed(symbols=[f"SYM{i}" for i in range(SYMBOLS)], rate=rate, seed=7)
    engine = Engine(feed=feed, workers=2, ring_size=1 << 16)
    chunks, ticks = [], 0
    with engine, engine.subscribe() as sub:
        start = time.monotonic() + warmup
        end = start + duration
        while True:
            batch = sub.next_batch(1.0)
            now_ns, now = time.time_ns(), time.monotonic()
            if now >= end:
                break
            if batch is None or now < start:
                continue
            chunks.append(now_ns - batch.ts_ns)
            ticks += len(batch)
    lat = np.concatenate(chunks) if chunks else np.empty(0, np.int64)
    return {"ticks": ticks, "rate": ticks / duration, "latency_ns": latency_percentiles(lat)}


def _server(kind: str, rate: float) -> _grpc.ServerProcess:
    py = sys.executable
    if kind == "baseline":
        return _grpc.ServerProcess([py, "-m", "benchmarks.baselines.preencoded_server",
                                    "--port", "0", "--rate", repr(rate),
                                    "--symbols", str(SYMBOLS)], "preencoded")
    linger = "fixed" if kind == "batches_fixed" else "adaptive"
    return _grpc.ServerProcess([py, "-m", "benchmarks._linger_server", "--rate", repr(rate),
                                "--symbols", str(SYMBOLS), "--frame-linger", linger], "mdstream")


def remote(kind: str, rate: float, duration: float, warmup: float) -> dict:
    client_kind = {"batches": "batches", "batches_fixed": "batches", "results": "results",
                   "baseline": "baseline"}[kind]
    with _server(kind, rate) as server:
        run = _grpc.run_clients(server, client_kind, 1, duration, warmup, latency=True,
                                extra=["--max-wait", repr(MAX_WAIT_S)])
    out = run["clients"][0]
    out["server_cores"] = run["server_cpu_s"] / run["window_s"]
    out["client_cores"] = out["cpu_s"] / run["window_s"]
    return out


VARIANTS = ("inprocess", "batches", "batches_fixed", "results", "baseline")


def run(opts, machine):
    warmup = 0.3 if opts.quick else 1.0
    d = max(opts.duration, 0.3 if opts.quick else 3.0)
    rates = RATES if opts.rates == SUITE_DEFAULT_RATES else opts.rates
    for rate in rates:
        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for _ in range(opts.repeat):
            for v in VARIANTS:       # interleaved, so load changes hit every variant alike
                runs[v].append(inprocess(rate, d, warmup) if v == "inprocess"
                               else remote(v, rate, d, warmup))
        ms = lambda rs, p: [r["latency_ns"][p] / 1e6 for r in rs if r.get("latency_ns")]
        rate_name = "limit" if rate == 0 else str(int(rate))
        base = runs["baseline"]
        for v in VARIANTS[:-1]:
            rs = runs[v]
            if not ms(rs, "p50"):
                continue
            target = ("p50 <= 0.3 ms, p99 <= 1 ms"
                      if v == "batches" and rate == 20_000 else None)
            extra = {"p99_ms": summarize(ms(rs, "p99")), "p999_ms": summarize(ms(rs, "p999")),
                     "achieved_rate": statistics.median(r["rate"] for r in rs),
                     "baseline_p99_ms": summarize(ms(base, "p99")) if ms(base, "p99") else None,
                     "baseline_p999_ms": summarize(ms(base, "p999")) if ms(base, "p999") else None,
                     "baseline_achieved_rate": statistics.median(r["rate"] for r in base)}
            if v != "inprocess":
                extra["server_cores"] = statistics.median(r["server_cores"] for r in rs)
                extra["client_cores"] = statistics.median(r["client_cores"] for r in rs)
            yield result_line(
                NAME, f"{v}_p50_at_{rate_name}", "ms",
                {"rate": rate, "subscriber": v, "symbols": SYMBOLS, "engine_workers": 2,
                 "max_wait_s": 0.0 if v == "inprocess" else (MAX_WAIT_S if "batches" in v else 0.0),
                 "frame_linger": {"batches": "adaptive", "batches_fixed": "fixed"}.get(v),
                 "duration_s": d},
                ms(rs, "p50"), ms(base, "p50"),
                "minimal grpcio server streaming pre-encoded Result messages, same rate",
                higher_is_better=False, target=target, extra=extra, machine=machine)
        yield result_line(
            NAME, f"batches_ticks_per_s_at_{rate_name}", "ticks/s",
            {"rate": rate, "symbols": SYMBOLS, "engine_workers": 2, "max_wait_s": MAX_WAIT_S,
             "duration_s": d},
            [r["rate"] for r in runs["batches"]], [r["rate"] for r in runs["batches_fixed"]],
            "the same StreamBatches client against frame_linger='fixed' (the previous default)",
            target="no loss at the limit" if rate == 0 else None,
            extra={"server_cores": statistics.median(r["server_cores"] for r in runs["batches"]),
                   "baseline_server_cores": statistics.median(
                       r["server_cores"] for r in runs["batches_fixed"])},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
