"""Analytics: nanoseconds per tick of the full per-symbol update.

mdstream: mdstream._testing.compute_analytics, which runs the workers' update
(session volume, VWAP, high/low, EMA, Welford volatility of log returns,
current quote, and the result record) over an array of ticks without the GIL
and reports the time of that loop alone. Ticks come from the simulated feed
(8 symbols, 20 % quotes), in chunks of 1024 as a worker takes them from its
channel, so ticks, results and symbol state stay in cache. (One call over a
large array measures something else: compute_analytics allocates its result
array on each call, and the first write to each fresh page, a page fault,
lands inside the timed loop.)

Baseline: the same update in plain Python over the same ticks as tuples
(benchmarks/baselines/analytics.py), timed over the loop alone too.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from mdstream import _testing
from mdstream.benchmarking import alternate, result_line

from benchmarks.baselines.analytics import Analytics, Tick

NAME = "analytics"
N_SYMBOLS = 8
ALPHA = 2.0 / 21.0
CHUNK = 1024


def mdstream_ns_per_tick(ticks: np.ndarray, chunk: int, duration: float) -> float:
    """Run the core's update over `ticks` in chunks, round and round, for
    about `duration` s of wall time; ns per tick of the update loops."""
    loop_s = 0.0
    n = 0
    end = time.perf_counter() + duration
    while True:
        for start in range(0, len(ticks), chunk):
            part = ticks[start:start + chunk]
            _, s = _testing.compute_analytics(part, ALPHA, N_SYMBOLS)
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
        # Results are dropped, as the reference loop below drops them: keeping
        # 200k tuples would add the garbage collector's time to the baseline.
        for t in ticks:
            update(t)
        loop_s += time.perf_counter() - t0
        n += len(ticks)
    return loop_s / n * 1e9


def reference_ns_per_tick(ticks: list[Tick], duration: float) -> float | None:
    """mdstream.reference (the property tests' oracle, written for clarity
    rather than speed), once over the ticks, if this mdstream has it."""
    try:
        from mdstream.reference import ReferenceAnalytics
    except ImportError:
        return None
    ref = ReferenceAnalytics(ALPHA)
    update = ref.update
    t0 = time.perf_counter()
    for t in ticks:
        update(t.symbol_id, t.kind, t.price, t.size, t.bid, t.ask, t.bid_size, t.ask_size)
    return (time.perf_counter() - t0) / len(ticks) * 1e9


def run(opts, machine):
    d = opts.duration
    ticks = _testing.simulate_ticks(200_000, 7, N_SYMBOLS)
    ticks["seq"] = np.arange(len(ticks))
    md_ticks = ticks[:64 * CHUNK]
    py_ticks = as_tuples(ticks[:20_000] if opts.quick else ticks)
    # Warm up: the first calls fault in the result arrays' pages.
    mdstream_ns_per_tick(md_ticks, CHUNK, 0.0)
    md, py = alternate(opts.repeat, lambda: mdstream_ns_per_tick(md_ticks, CHUNK, d),
                       lambda: python_ns_per_tick(py_ticks, d))
    base_name = "plain-Python per-symbol analytics (benchmarks/baselines/analytics.py)"
    params = {"symbols": N_SYMBOLS, "quote_ratio": 0.2, "ema_alpha": ALPHA,
              "python_ticks": len(py_ticks), "timed": "the update loop only"}
    extra = {}
    reference = reference_ns_per_tick(py_ticks, d)
    if reference is not None:
        extra["reference_ns_per_tick"] = reference
    yield result_line(NAME, "update", "ns/tick", {**params, "chunk": CHUNK},
                      md, py, base_name, higher_is_better=False,
                      target="<= 10 ns/tick", extra=extra, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
