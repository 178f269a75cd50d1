"""Analytics: nanoseconds per tick of the full per-symbol update.

mdstream: mdstream._core.compute_analytics, which runs the workers' update
(session volume, VWAP, high/low, EMA, Welford volatility of log returns,
current quote, and the result record) over an array of ticks without the GIL
and reports the time of that loop alone. Ticks come from the simulated feed
(8 symbols, 20 % quotes). Two cases:

- chunks of 1024 ticks, as a worker takes them from its channel: the ticks,
  the results and the symbol state stay in cache;
- one array of 1M ticks (88 MB in, 184 MB of results out): bound by memory
  bandwidth rather than by the arithmetic.

Baseline: the same update in plain Python over the same ticks as tuples
(benchmarks/baselines/analytics.py), timed over the loop alone too.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from mdstream import _core
from mdstream.benchmarking import alternate, result_line

from benchmarks.baselines.analytics import Analytics, Tick

NAME = "analytics"
N_SYMBOLS = 8
ALPHA = 2.0 / 21.0
SMALL_CHUNK = 1024
LARGE_CHUNK = 1 << 20


def mdstream_ns_per_tick(ticks: np.ndarray, chunk: int, duration: float) -> float:
    """Run the core's update over `ticks` in chunks, round and round, for
    about `duration` s of wall time; ns per tick of the update loops."""
    loop_s = 0.0
    n = 0
    end = time.perf_counter() + duration
    while True:
        for start in range(0, len(ticks), chunk):
            part = ticks[start:start + chunk]
            _, s = _core.compute_analytics(part, ALPHA, N_SYMBOLS)
            loop_s += s
            n += len(part)
        if time.perf_counter() >= end:
            return loop_s / n * 1e9


def as_tuples(ticks: np.ndarray) -> list[Tick]:
    return [Tick(int(t["seq"]), int(t["ts_ns"]), int(t["symbol_id"]), int(t["kind"]),
                 float(t["price"]), float(t["size"]), float(t["bid"]), float(t["ask"]),
                 float(t["bid_size"]), float(t["ask_size"]))
            for t in ticks]


def python_ns_per_tick(ticks: list[Tick], duration: float) -> float:
    """The plain-Python update over the same ticks, for about `duration` s."""
    loop_s = 0.0
    n = 0
    while loop_s < duration:
        analytics = Analytics(ALPHA)
        update = analytics.update
        t0 = time.perf_counter()
        results = [update(t) for t in ticks]
        loop_s += time.perf_counter() - t0
        n += len(results)
    return loop_s / n * 1e9


def run(opts, machine):
    d = opts.duration
    ticks = _core.simulate_ticks(LARGE_CHUNK, 7, N_SYMBOLS)
    ticks["seq"] = np.arange(len(ticks))
    small = ticks[:64 * SMALL_CHUNK]
    py_ticks = as_tuples(ticks[:20_000 if opts.quick else 200_000])
    # Warm up: the first calls fault in the result arrays' pages.
    mdstream_ns_per_tick(small, SMALL_CHUNK, 0.0)
    mdstream_ns_per_tick(ticks, LARGE_CHUNK, 0.0)
    md_small, md_large, py = alternate(
        opts.repeat,
        lambda: mdstream_ns_per_tick(small, SMALL_CHUNK, d),
        lambda: mdstream_ns_per_tick(ticks, LARGE_CHUNK, d),
        lambda: python_ns_per_tick(py_ticks, d))
    base_name = "plain-Python per-symbol analytics (benchmarks/baselines/analytics.py)"
    params = {"symbols": N_SYMBOLS, "quote_ratio": 0.2, "ema_alpha": ALPHA,
              "python_ticks": len(py_ticks), "timed": "the update loop only"}
    yield result_line(NAME, "update_in_cache", "ns/tick", {**params, "chunk": SMALL_CHUNK},
                      md_small, py, base_name, higher_is_better=False,
                      target="<= 10 ns/tick", machine=machine)
    yield result_line(NAME, "update_large_array", "ns/tick", {**params, "chunk": LARGE_CHUNK},
                      md_large, py, base_name, higher_is_better=False, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
