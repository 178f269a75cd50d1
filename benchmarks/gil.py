"""GIL: how fast a pure-Python loop runs on the main thread while the engine
runs flat out, against the same loop with nothing else running.

The loop is integer arithmetic in a plain ``for`` loop (no I/O, no C calls
that release the GIL). Cases:

- ``engine``: Engine(SimulatedFeed(rate=0)) running with no Python reader:
  the feed and workers are C threads that never take the GIL.
- ``engine_with_subscriber``: the same, plus a Python thread reading the
  results as NumPy batches (the usual way to use the engine).
- ``queue_pipeline``: for contrast, the plain-Python pipeline of
  benchmarks/baselines/ running instead of the engine.

The ratio is loop speed (iterations per wall second) with the load over
loop speed alone; runs alternate. On 2 cores the engine's threads also take
CPU time from the loop: ``main_thread_cpu_share`` (the loop thread's CPU
time over wall time) and ``ratio_per_cpu_second`` (loop speed per second of
the loop thread's own CPU time, against alone) separate sharing the cores
from waiting for the GIL.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

import mdstream
from mdstream.benchmarking import result_line

from benchmarks.baselines.queue_pipeline import QueuePipeline

NAME = "gil"
N_SYMBOLS = 8


def python_loop(duration: float) -> tuple[float, float]:
    """Iterations per wall second and per thread-CPU second of a pure-Python loop."""
    n = 0
    x = 0
    c0 = time.thread_time()
    t0 = time.perf_counter()
    end = t0 + duration
    while True:
        for i in range(10_000):
            x = (x * 31 + i) % 1_000_003
        n += 10_000
        t = time.perf_counter()
        if t >= end:
            break
    cpu = time.thread_time() - c0
    return n / (t - t0), n / max(cpu, 1e-9)


class EngineLoad:
    def __init__(self, workers: int, subscriber: bool):
        feed = mdstream.SimulatedFeed(symbols=[f"SYM{i}" for i in range(N_SYMBOLS)], rate=0, seed=7)
        self.engine = mdstream.Engine(feed=feed, workers=workers)
        self.sub = self.engine.subscribe(policy="skip") if subscriber else None
        self.delivered = 0
        self.thread = threading.Thread(target=self._read, daemon=True) if subscriber else None

    def _read(self):
        for batch in self.sub:
            batch.price.sum()
            self.delivered += len(batch)

    def __enter__(self):
        self.engine.start()
        if self.thread:
            self.thread.start()
        time.sleep(0.05)
        self.t0, self.n0 = time.perf_counter(), self.engine.stats().processed
        return self

    def __exit__(self, *exc):
        self.rate = (self.engine.stats().processed - self.n0) / (time.perf_counter() - self.t0)
        self.engine.stop()
        if self.thread:
            self.thread.join(5)
            self.sub.close()


class PipelineLoad:
    def __init__(self, workers: int):
        self.pipeline = QueuePipeline(n_symbols=N_SYMBOLS, workers=workers)
        self.results = self.pipeline.subscribe()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.delivered = 0

    def _read(self):
        while not self.stop.is_set():
            self.results.get()
            self.delivered += 1

    def __enter__(self):
        self.pipeline.start()
        self.thread.start()
        time.sleep(0.05)
        self.t0, self.n0 = time.perf_counter(), self.delivered
        return self

    def __exit__(self, *exc):
        self.rate = (self.delivered - self.n0) / (time.perf_counter() - self.t0)
        self.stop.set()
        self.pipeline.stop()
        self.thread.join(5)


def measure(load_factory, repeat: int, duration: float):
    loaded, alone, load_rates = [], [], []
    for _ in range(repeat):
        alone.append(python_loop(duration))
        with load_factory() as load:
            loaded.append(python_loop(duration))
        load_rates.append(load.rate)
    return loaded, alone, load_rates


def run(opts, machine):
    cases = []
    for w in opts.workers:
        cases.append((f"engine_{w}w", {"load": "engine, no Python reader", "workers": w},
                      lambda w=w: EngineLoad(w, subscriber=False)))
        cases.append((f"engine_with_subscriber_{w}w",
                      {"load": "engine + a Python thread reading NumPy batches", "workers": w},
                      lambda w=w: EngineLoad(w, subscriber=True)))
    w = max(opts.workers)
    cases.append((f"queue_pipeline_{w}w", {"load": "plain-Python queue.Queue pipeline (baseline)",
                                           "workers": w},
                  lambda: PipelineLoad(w)))
    for case, params, factory in cases:
        loaded, alone, load_rates = measure(factory, opts.repeat, opts.duration)
        wall = [r[0] for r in loaded]
        wall_alone = [r[0] for r in alone]
        per_cpu = statistics.median(r[1] for r in loaded) / statistics.median(r[1] for r in alone)
        share = statistics.median(r[0] / r[1] for r in loaded)
        yield result_line(
            NAME, case, "loop iterations/s",
            {**params, "symbols": N_SYMBOLS, "feed_rate": "flat out", "duration_s": opts.duration},
            wall, wall_alone, "the same loop with nothing else running",
            target=">= 70% of the loop alone" if case.startswith("engine") else None,
            extra={"main_thread_cpu_share": share, "ratio_per_cpu_second": per_cpu,
                   "load_ticks_per_s": statistics.median(load_rates)},
            machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
