"""Measuring mdstream against what you would otherwise write, in the same run.

``mdstream bench`` (this module's ``main``) is a quick check of an installed
mdstream: the in-process engine and the core's channel, each against a plain
``queue.Queue`` version measured right after it. It prints one JSON object
per result. The full suite (gRPC, latency, memory, ...) is ``benchmarks/`` in
the source tree (``make bench``); it reuses the helpers here.

Every result line holds the machine, the parameters, every run's value with
their median, min, max and interquartile range, the baseline measured in the
same run (mdstream and baseline runs alternate, so a noisy neighbour hurts
both alike), and their ratio. These are measurements, not pass/fail checks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import resource
import statistics
import sys
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "machine_info",
    "summarize",
    "result_line",
    "emit",
    "alternate",
    "calibrate",
    "channel_per_item",
    "queue_per_item",
    "channel_batched",
    "engine_ticks_per_s",
    "queue_pipeline_ticks_per_s",
    "main",
]


# -- the machine and the numbers ------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """What the numbers were measured on (and how busy the machine was)."""
    import mdstream

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "mdstream": mdstream.__version__,
        "os": f"{platform.system()} {platform.release()}",
    }
    try:
        import grpc

        info["grpcio"] = grpc.__version__
    except ImportError:
        pass
    try:
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


def latency_percentiles(lat: "np.ndarray") -> dict:
    """p50, p99, p99.9, max and count of an array of latencies (in its unit;
    {} when empty)."""
    import numpy as np

    if not len(lat):
        return {}
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
    return {"p50": float(p50), "p99": float(p99), "p999": float(p999),
            "max": float(lat.max()), "count": int(len(lat))}


def summarize(values: Sequence[float]) -> dict:
    """Median and spread of a list of runs."""
    vals = sorted(float(v) for v in values)
    if len(vals) >= 2:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    else:
        q1 = q3 = vals[0]
    return {
        "median": statistics.median(vals),
        "min": vals[0],
        "max": vals[-1],
        "iqr": q3 - q1,
        "runs": [float(v) for v in values],
    }


def result_line(benchmark: str, case: str, unit: str, params: dict, runs: Sequence[float],
                baseline_runs: Sequence[float] | None = None, baseline: str | None = None,
                higher_is_better: bool = True, target: str | None = None,
                extra: dict | None = None, machine: dict | None = None) -> dict:
    """One result as a JSON-able dict.

    ``ratio`` is mdstream's median over the baseline's; ``speedup`` is how
    many times better mdstream is (the ratio, or its inverse when lower is
    better).
    """
    line: dict[str, Any] = {
        "benchmark": benchmark,
        "case": case,
        "unit": unit,
        "better": "higher" if higher_is_better else "lower",
        "params": params,
        "machine": machine if machine is not None else machine_info(),
    }
    try:
        # How busy the machine was while this result was measured (others' work shows here).
        line["loadavg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    line.update(summarize(runs))
    if baseline_runs:
        b = summarize(baseline_runs)
        line["baseline"] = {"name": baseline, **b}
        if b["median"] > 0 and line["median"] > 0:
            line["ratio"] = line["median"] / b["median"]
            line["speedup"] = line["ratio"] if higher_is_better else 1.0 / line["ratio"]
    if target:
        line["target"] = target
    if extra:
        line.update(extra)
    return line


def emit(line: dict, stream=None) -> None:
    """Print one result as one JSON line (flushed, so partial suites are kept)."""
    stream = stream or sys.stdout
    stream.write(json.dumps(line, sort_keys=False) + "\n")
    stream.flush()


def alternate(repeat: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Run each measure ``repeat`` times, interleaved (A B A B ...), so that
    load from elsewhere on the machine falls on all of them alike."""
    out: list[list[float]] = [[] for _ in measures]
    for _ in range(repeat):
        for i, m in enumerate(measures):
            out[i].append(m())
    return out


def calibrate(run: Callable[[int], float], duration: float, n0: int = 1000,
              n_max: int = 1 << 40) -> int:
    """A count for ``run(n) -> seconds`` that makes one run last about ``duration`` s."""
    n = n0
    while True:
        dt = run(n)
        if dt >= duration / 10 or n >= n_max:
            break
        n *= 4
    return max(1, min(n_max, int(n * duration / max(dt, 1e-9))))


class CpuClock:
    """Wall time and this process's CPU time (user + system) between start and stop."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    @staticmethod
    def _cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def __enter__(self) -> "CpuClock":
        self._w0, self._c0 = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._w0
        self.cpu = self._cpu() - self._c0


# -- channel -------------------------------------------------------------------

def _per_item(q, n: int, name: str) -> float:
    """Seconds to move n ints from a Python thread to the main thread through
    q, one put() and one get() per item."""

    def producer():
        put = q.put
        for i in range(n):
            put(i)

    t = threading.Thread(target=producer)
    get = q.get
    total = 0
    t0 = time.perf_counter()
    t.start()
    for _ in range(n):
        total += get()
    dt = time.perf_counter() - t0
    t.join()
    if total != n * (n - 1) // 2:
        raise AssertionError(f"{name} lost or duplicated items")
    return dt


def channel_per_item(n: int, capacity: int = 1024) -> float:
    """Seconds for n items through a TickChannel, one put() and one get() each."""
    from mdstream._core import TickChannel

    return _per_item(TickChannel(capacity), n, "TickChannel")


def queue_per_item(n: int, capacity: int = 1024) -> float:
    """The same with queue.Queue: the baseline."""
    return _per_item(queue.Queue(capacity), n, "queue.Queue")


def channel_batched(n: int, batch: int = 1024, capacity: int = 65536) -> float:
    """Seconds to move n ticks between two C threads, in batches, without the GIL."""
    from mdstream._testing import channel_pump

    dt, checksum = channel_pump(n, batch, capacity)
    if checksum != n * (n - 1) // 2:
        raise AssertionError("channel_pump lost or duplicated items")
    return dt


# -- engine in-process -----------------------------------------------------------

def engine_ticks_per_s(workers: int, duration: float, n_symbols: int = 8,
                       max_ticks_per_frame: int = 4096, ring_size: int = 1 << 16,
                       warmup: float = 0.1) -> dict:
    """Ticks per second from a SimulatedFeed (as fast as possible) to one
    subscriber's NumPy batches. The subscriber reads a column of each batch
    and checks the sequence numbers have no gap."""
    import mdstream

    feed = mdstream.SimulatedFeed(symbols=[f"SYM{i}" for i in range(n_symbols)], rate=0, seed=7)
    engine = mdstream.Engine(feed=feed, workers=workers, ring_size=ring_size)
    sub = engine.subscribe(policy="block", max_ticks_per_frame=max_ticks_per_frame)
    engine.start()
    try:
        end = time.perf_counter() + warmup
        expect = 0
        while time.perf_counter() < end:
            # a 10 s timeout: None fails the benchmark loudly
            expect = int(sub.next_batch(timeout=10).seq[-1]) + 1  # type: ignore[union-attr]
        n = batches = 0
        gaps = 0
        with CpuClock() as clock:
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                b = sub.next_batch(timeout=10)
                # a 10 s timeout: None fails the benchmark loudly
                seq = b.seq  # type: ignore[union-attr]
                if seq[0] != expect or seq[-1] - seq[0] + 1 != len(seq):
                    gaps += 1
                expect = int(seq[-1]) + 1
                # a 10 s timeout: None fails the benchmark loudly
                b.price.sum()  # type: ignore[union-attr]
                # a 10 s timeout: None fails the benchmark loudly
                n += len(b)  # type: ignore[arg-type]
                batches += 1
    finally:
        sub.close()
        engine.stop()
    return {"ticks": n, "seconds": clock.wall, "rate": n / clock.wall,
            "cpu_cores": clock.cpu / clock.wall, "mean_batch": n / max(batches, 1),
            "seq_gaps": gaps}


def queue_pipeline_ticks_per_s(workers: int, duration: float, n_symbols: int = 8,
                               warmup: float = 0.1) -> dict:
    """The same pipeline written with queue.Queue and threads, analytics in
    pure Python (a compact version of benchmarks/baselines/queue_pipeline.py)."""
    import math
    import random

    stop = threading.Event()
    inboxes: list[queue.Queue] = [queue.Queue(4096) for _ in range(workers)]
    out: queue.Queue = queue.Queue(4096)
    alpha = 2.0 / 21.0

    def feed():
        rng = random.Random(7)
        prices = [20.0 + rng.random() * 480.0 for _ in range(n_symbols)]
        seq = 0
        while not stop.is_set():
            s = rng.randrange(n_symbols)
            prices[s] *= math.exp(0.0005 * rng.gauss(0.0, 1.0))
            p = round(prices[s], 2)
            now = time.time_ns()
            if rng.random() < 0.2:
                tick = (seq, now, s, 1, 0.0, 0.0, p - 0.01, p + 0.01, 100.0, 100.0)
            else:
                tick = (seq, now, s, 0, p, float(rng.randint(1, 100)), 0.0, 0.0, 0.0, 0.0)
            inboxes[s % workers].put(tick)
            seq += 1
        for q in inboxes:
            q.put(None)

    def worker(inbox):
        state = {}
        while True:
            tick = inbox.get()
            if tick is None:
                break
            seq, ts, s, kind, price, size, bid, ask, bsz, asz = tick
            st = state.get(s)
            if st is None:
                st = state[s] = [0.0, 0.0, 0, -math.inf, math.inf, math.nan, math.nan, 0, 0.0, 0.0,
                                 math.nan, math.nan]
            if kind == 0:
                st[0] += size
                st[1] += price * size
                st[2] += 1
                st[3] = max(st[3], price)
                st[4] = min(st[4], price)
                st[5] = price if st[2] == 1 else st[5] + alpha * (price - st[5])
                if st[6] > 0:
                    ret = math.log(price / st[6])
                    st[7] += 1
                    d = ret - st[8]
                    st[8] += d / st[7]
                    st[9] += d * (ret - st[8])
                st[6] = price
            else:
                st[10], st[11] = bid, ask
            vol = math.sqrt(st[9] / (st[7] - 1)) if st[7] > 1 else 0.0
            vwap = st[1] / st[0] if st[0] > 0 else math.nan
            out.put((seq, ts, s, kind, price, size, price * size, st[0], vwap, st[3], st[4],
                     st[5], vol, st[2], st[10], st[11]))

    threads = [threading.Thread(target=feed, daemon=True)]
    threads += [threading.Thread(target=worker, args=(q,), daemon=True) for q in inboxes]
    for t in threads:
        t.start()
    try:
        end = time.perf_counter() + warmup
        while time.perf_counter() < end:
            out.get()
        n = 0
        with CpuClock() as clock:
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                out.get()
                n += 1
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):
            try:
                while True:
                    out.get_nowait()
            except queue.Empty:
                pass
            for t in threads:
                t.join(0.01)
    return {"ticks": n, "seconds": clock.wall, "rate": n / clock.wall,
            "cpu_cores": clock.cpu / clock.wall}


# -- mdstream bench ----------------------------------------------------------------

def _bench_channel(repeat: int, duration: float, machine: dict) -> list[dict]:
    n_item = calibrate(channel_per_item, duration)
    n_queue = calibrate(queue_per_item, duration)
    per_item, base = alternate(repeat, lambda: n_item / channel_per_item(n_item),
                               lambda: n_queue / queue_per_item(n_queue))
    n_batched = calibrate(channel_batched, duration, n0=100_000)
    batched = [n_batched / channel_batched(n_batched) for _ in range(repeat)]
    return [
        result_line("channel", "per_item_python_threads", "items/s",
                    {"capacity": 1024, "items": n_item}, per_item, base, "queue.Queue put/get",
                    target=">= 10x queue.Queue", machine=machine),
        result_line("channel", "batched_c_threads", "items/s",
                    {"batch": 1024, "capacity": 65536, "items": n_batched}, batched, base,
                    "queue.Queue put/get", target=">= 100x queue.Queue", machine=machine),
    ]


def _bench_engine(repeat: int, duration: float, machine: dict, workers=(1, 2)) -> list[dict]:
    lines = []
    for w in workers:
        runs_md: list[dict] = []
        runs_q: list[dict] = []
        for _ in range(repeat):
            runs_md.append(engine_ticks_per_s(w, duration))
            runs_q.append(queue_pipeline_ticks_per_s(w, duration))
        lines.append(result_line(
            "engine", f"inprocess_{w}_worker{'s' if w > 1 else ''}", "ticks/s",
            {"workers": w, "symbols": 8, "max_ticks_per_frame": 4096, "policy": "block",
             "duration_s": duration},
            [r["rate"] for r in runs_md], [r["rate"] for r in runs_q],
            "queue.Queue pipeline, pure-Python analytics", target=">= 5,000,000 ticks/s",
            extra={"cpu_cores": statistics.median(r["cpu_cores"] for r in runs_md),
                   "baseline_cpu_cores": statistics.median(r["cpu_cores"] for r in runs_q),
                   "seq_gaps": sum(r["seq_gaps"] for r in runs_md)},
            machine=machine))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``mdstream bench``: quick in-process benchmarks, one JSON object per line."""
    parser = argparse.ArgumentParser(
        prog="mdstream bench",
        description="Measure the in-process engine and the core's channel against plain "
                    "queue.Queue versions, in the same run. Prints one JSON object per result.")
    parser.add_argument("which", nargs="*", metavar="{engine,channel}",
                        help="what to run (default: both)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--duration", type=float, default=1.0,
                        help="seconds per run (default 1.0)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.duration <= 0:
        parser.error("--repeat must be >= 1 and --duration > 0")
    which = args.which or ["engine", "channel"]
    unknown = sorted(set(which) - {"engine", "channel"})
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose engine and/or channel")
    machine = machine_info()
    for name in which:
        bench = _bench_engine if name == "engine" else _bench_channel
        for line in bench(args.repeat, args.duration, machine):
            emit(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
