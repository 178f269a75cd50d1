"""How the engine's cost grows with the number of symbols: ticks/s and memory.

At 1, 10, 100, 1,000, 10,000 and 100,000 symbols, with 1 and 2 workers:

- mdstream: Engine(SimulatedFeed(rate=0)) with one 'block' subscription read
  in the main thread (the feed runs exactly as fast as the subscriber takes
  results), as benchmarks/engine.py, except for the symbol count. The
  engine's ``max_symbols`` is its default (4096) or the symbol count when
  that is larger (100,000 symbols need it raised).
- baseline: the plain-Python queue.Queue pipeline
  (``mdstream.benchmarking.queue_pipeline_ticks_per_s``) with the same
  symbols and worker threads.

Every run (mdstream or baseline) is a fresh Python process, so one point's
allocations (freed memory the allocator keeps, pages first touched by an
earlier engine) do not show in the next one's. Runs alternate: mdstream,
baseline, mdstream, ...

Memory: the process's peak RSS growth in MB, measured in that process. Once
the modules are imported (and, for mdstream, before the feed, the engine and
its symbol table are built), the child reads its RSS and resets its peak
(``/proc/self/clear_refs``, Linux); after the run, the peak (VmHWM) minus
that RSS is ``rss_mb``. ``rss_built_mb`` is the growth once the feed, the
engine (its tables sized by max_symbols) and the subscription are built,
before the engine starts; the rest is pages the run touches first. Where the
peak cannot be reset, the child's ru_maxrss stands in for VmHWM
(``rss_method`` says which was used).

Each line also has ``ticks_per_cpu_s`` (and the baseline's): per run, ticks/s
over the CPU cores the process used (feed, workers and reader together), the
median over the runs. On a shared machine, where a run may get a fraction of
a core, it shows the cost per tick better than ticks/s does.

The simulated feed picks each tick's symbol uniformly at random, so past a
few thousand symbols every tick touches per-symbol state that is likely out
of cache.

    python -m benchmarks.engine_scaling --repeat 3
    python -m benchmarks.engine_scaling --quick      # 1 and 1,000 symbols, 1 worker
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from mdstream.benchmarking import result_line

from benchmarks import _grpc

NAME = "engine_scaling"
SYMBOLS = (1, 10, 100, 1_000, 10_000, 100_000)
QUICK_SYMBOLS = (1, 1_000)
DEFAULT_MAX_SYMBOLS = 4096          # the Engine's default
MB = 1024 * 1024


def max_symbols_for(n_symbols: int) -> int:
    return max(DEFAULT_MAX_SYMBOLS, n_symbols)


# -- inside the child process ----------------------------------------------------

def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _start_memory() -> tuple[float, str]:
    """RSS now (bytes) and how the peak will be read: VmHWM, reset to now, where
    Linux allows; else ru_maxrss (then the imports' peak may show in the growth)."""
    import gc

    gc.collect()
    rss = _status_kb("VmRSS")
    if rss is None:                 # no /proc (macOS): the peak so far is the start
        return _peak_memory("ru_maxrss"), "ru_maxrss"
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")            # reset VmHWM to the current RSS
        return rss * 1024.0, "VmHWM"
    except OSError:
        return rss * 1024.0, "ru_maxrss"


def _peak_memory(method: str) -> float:
    if method == "VmHWM":
        kb = _status_kb("VmHWM")
        if kb is not None:
            return kb * 1024.0
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak if sys.platform == "darwin" else peak * 1024)


def engine_point(workers: int, n_symbols: int, duration: float, warmup: float) -> dict:
    """engine_ticks_per_s of mdstream.benchmarking, with max_symbols raised as needed."""
    import mdstream
    from mdstream.benchmarking import CpuClock

    rss0, method = _start_memory()
    t_setup = time.perf_counter()
    feed = mdstream.SimulatedFeed(symbols=[f"SYM{i}" for i in range(n_symbols)], rate=0, seed=7)
    engine = mdstream.Engine(feed=feed, workers=workers, ring_size=1 << 16,
                             max_symbols=max_symbols_for(n_symbols))
    sub = engine.subscribe(policy="block", max_ticks_per_frame=4096)
    built = _status_kb("VmRSS")
    engine.start()
    setup_s = time.perf_counter() - t_setup
    try:
        end = time.perf_counter() + warmup
        expect = 0
        while time.perf_counter() < end:
            expect = int(sub.next_batch(timeout=10).seq[-1]) + 1
        n = batches = gaps = 0
        with CpuClock() as clock:
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                b = sub.next_batch(timeout=10)
                seq = b.seq
                if seq[0] != expect or seq[-1] - seq[0] + 1 != len(seq):
                    gaps += 1
                expect = int(seq[-1]) + 1
                b.price.sum()
                n += len(b)
                batches += 1
        peak = _peak_memory(method)
    finally:
        sub.close()
        engine.stop()
    return {"rate": n / clock.wall, "ticks": n, "cpu_cores": clock.cpu / clock.wall,
            "mean_batch": n / max(batches, 1), "seq_gaps": gaps,
            "rss_mb": (peak - rss0) / MB, "rss_start_mb": rss0 / MB, "rss_method": method,
            "rss_built_mb": None if built is None else (built * 1024.0 - rss0) / MB,
            "setup_s": setup_s}


def baseline_point(workers: int, n_symbols: int, duration: float, warmup: float) -> dict:
    from mdstream.benchmarking import queue_pipeline_ticks_per_s

    rss0, method = _start_memory()
    r = queue_pipeline_ticks_per_s(workers, duration, n_symbols=n_symbols, warmup=warmup)
    peak = _peak_memory(method)
    return {**r, "rss_mb": (peak - rss0) / MB, "rss_start_mb": rss0 / MB, "rss_method": method}


def _child_main(argv: list[str]) -> None:
    kind, workers, n_symbols, duration, warmup = argv
    point = engine_point if kind == "engine" else baseline_point
    out = point(int(workers), int(n_symbols), float(duration), float(warmup))
    print(json.dumps(out), flush=True)


# -- in the benchmark process ------------------------------------------------------

def measure(kind: str, workers: int, n_symbols: int, duration: float, warmup: float) -> dict:
    """One run in a fresh Python process; its JSON result."""
    code = ("import sys; from benchmarks.engine_scaling import _child_main; "
            "_child_main(sys.argv[1:])")
    proc = subprocess.run(
        [sys.executable, "-c", code, kind, str(workers), str(n_symbols), repr(duration),
         repr(warmup)],
        cwd=_grpc.ROOT, env=_grpc._env(), capture_output=True, text=True, timeout=120 + 10 * duration)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} run ({workers} workers, {n_symbols} symbols) failed:\n"
                           f"{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def _per_cpu(runs: list[dict]) -> float | None:
    """Median over the runs of ticks per CPU second (rate / cpu_cores)."""
    vals = [r["rate"] / r["cpu_cores"] for r in runs if r.get("cpu_cores", 0) > 0]
    return statistics.median(vals) if vals else None


def run(opts, machine):
    symbols = QUICK_SYMBOLS if opts.quick else SYMBOLS
    workers = (1,) if opts.quick else tuple(opts.workers)
    d = min(opts.duration, 0.2) if opts.quick else opts.duration
    warmup = 0.05 if opts.quick else 0.2
    for w in workers:
        for n in symbols:
            md: list[dict] = []
            base: list[dict] = []
            for _ in range(opts.repeat):
                md.append(measure("engine", w, n, d, warmup))
                base.append(measure("baseline", w, n, d, warmup))
            yield result_line(
                NAME, f"{n}_symbols_{w}_worker{'s' if w > 1 else ''}", "ticks/s",
                {"symbols": n, "workers": w, "feed": "SimulatedFeed(rate=0)", "policy": "block",
                 "max_ticks_per_frame": 4096, "ring_size": 65536,
                 "max_symbols": max_symbols_for(n), "duration_s": d, "warmup_s": warmup,
                 "process": "fresh per run"},
                [r["rate"] for r in md], [r["rate"] for r in base],
                f"queue.Queue pipeline, {w} worker thread{'s' if w > 1 else ''}, "
                f"plain-Python analytics, {n} symbols",
                extra={"rss_mb": _median(md, "rss_mb"),
                       "baseline_rss_mb": _median(base, "rss_mb"),
                       "rss_mb_runs": [r["rss_mb"] for r in md],
                       "baseline_rss_mb_runs": [r["rss_mb"] for r in base],
                       "rss_method": md[0]["rss_method"],
                       "rss_start_mb": _median(md, "rss_start_mb"),
                       "cpu_cores": _median(md, "cpu_cores"),
                       # ticks per CPU second of the process (feed, workers and reader
                       # together): less at the mercy of other jobs than ticks/s
                       "ticks_per_cpu_s": _per_cpu(md),
                       "baseline_ticks_per_cpu_s": _per_cpu(base),
                       "baseline_cpu_cores": _median(base, "cpu_cores"),
                       "mean_batch": _median(md, "mean_batch"),
                       "rss_built_mb": _median(md, "rss_built_mb"),
                       "setup_s": _median(md, "setup_s"),
                       "seq_gaps": sum(r["seq_gaps"] for r in md)},
                machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
