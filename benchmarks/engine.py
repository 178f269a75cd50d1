"""Engine in-process: ticks per second from the simulated feed to a
subscriber's NumPy batches, with 1 and 2 workers.

mdstream: Engine(SimulatedFeed(rate=0)) with one 'block' subscription (so
nothing is dropped: the feed runs exactly as fast as the subscriber takes
results); the main thread reads batches, sums a column of each and checks
the sequence numbers have no gap. Counting starts after a short warm-up.

Baseline: benchmarks/baselines/queue_pipeline.py, the same pipeline with
queue.Queue and threads and the analytics in plain Python, with the same
number of workers; the main thread takes results from its queue.

Both report the process's CPU time over wall time (cpu_cores): on 2 cores,
the feed, the workers and the subscriber share them.
"""

from __future__ import annotations

import statistics
import sys
import time

from mdstream.benchmarking import CpuClock, engine_ticks_per_s, result_line

from benchmarks.baselines.queue_pipeline import QueuePipeline

NAME = "engine"
N_SYMBOLS = 8


def baseline_ticks_per_s(workers: int, duration: float, warmup: float = 0.1) -> dict:
    pipeline = QueuePipeline(n_symbols=N_SYMBOLS, workers=workers)
    results = pipeline.subscribe()
    pipeline.start()
    try:
        end = time.perf_counter() + warmup
        while time.perf_counter() < end:
            results.get()
        n = 0
        with CpuClock() as clock:
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                results.get()
                n += 1
    finally:
        pipeline.stop()
    return {"ticks": n, "seconds": clock.wall, "rate": n / clock.wall,
            "cpu_cores": clock.cpu / clock.wall}


def run(opts, machine):
    for w in opts.workers:
        md: list[dict] = []
        base: list[dict] = []
        for _ in range(opts.repeat):
            md.append(engine_ticks_per_s(w, opts.duration, n_symbols=N_SYMBOLS))
            base.append(baseline_ticks_per_s(w, opts.duration))
        yield result_line(
            NAME, f"inprocess_{w}_worker{'s' if w > 1 else ''}", "ticks/s",
            {"workers": w, "symbols": N_SYMBOLS, "feed": "SimulatedFeed(rate=0)", "policy": "block",
             "max_ticks_per_frame": 4096, "ring_size": 65536, "duration_s": opts.duration},
            [r["rate"] for r in md], [r["rate"] for r in base],
            f"queue.Queue pipeline, {w} worker thread{'s' if w > 1 else ''}, "
            "plain-Python analytics",
            target=">= 5,000,000 ticks/s",
            extra={"cpu_cores": statistics.median(r["cpu_cores"] for r in md),
                   "baseline_cpu_cores": statistics.median(r["cpu_cores"] for r in base),
                   "mean_batch": statistics.median(r["mean_batch"] for r in md),
                   "seq_gaps": sum(r["seq_gaps"] for r in md)},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
