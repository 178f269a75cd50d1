"""Field projection: ticks/s and bytes per tick into one gRPC client process.

One server process (``mdstream serve --port 0 --rate 0 --workers 2``, 8
symbols) and one client process using mdstream.Client.stream_batches with
policy 'block' (the feed runs exactly as fast as the client reads), frames of
up to 4096 ticks (max_wait 2 ms); the client decodes each frame into NumPy
and sums the price column:

- ``five_columns``: ``fields=seq,ts_ns,symbol_id,price,size`` (the frames
  carry those five columns only);
- baseline: the same stream with every column (24), measured against the
  same server process in the same run, the two alternating.

Reported: ticks/s (median of --repeat runs, with the ratio) and, in
``extra``, the frame bytes per tick of both and the CPU each side used.

``row_filter``: ns per result of the core's RowFilter (trades with size >= 80
and 50 <= price <= 500, what a server runs per result for a filtered
subscription) over 4096-result batches of simulated results, against the
same filter as a NumPy boolean mask (``rows[mask]``) in the same run.

``codec``: ns per tick to encode a 4096-tick frame in the core and decode it
into NumPy (what server and client spend per tick on the frame), five
columns against every column, in one process (no network, no engine).
"""

from __future__ import annotations

import statistics
import sys

import time

import numpy as np

from mdstream import _testing
from mdstream._core import RowFilter
from mdstream.benchmarking import result_line

from benchmarks import _grpc

NAME = "projection"
FIVE = "seq,ts_ns,symbol_id,price,size"


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r["clients"][0][key] for r in runs)


def run(opts, machine):
    warmup = 0.2 if opts.quick else 1.0
    d = opts.duration
    frame = _grpc.frame_args(opts)
    five, every = [], []
    with _grpc.mdstream_server() as server:
        for _ in range(opts.repeat):
            five.append(_grpc.run_clients(server, "batches", 1, d, warmup,
                                          extra=[*frame, "--fields", FIVE]))
            every.append(_grpc.run_clients(server, "batches", 1, d, warmup, extra=frame))
    rate = _grpc.client_rates
    params = {"clients": 1, "server_workers": 2, "symbols": 8, "feed": "SimulatedFeed(rate=0)",
              "policy": "block", "transport": "loopback TCP", "duration_s": d,
              "max_ticks_per_frame": opts.frame, "max_wait_s": opts.max_wait, "fields": FIVE}
    yield result_line(
        NAME, "five_columns", "ticks/s", params, rate(five), rate(every),
        "StreamBatches with every column (24), same server, same run",
        target=">= 10,000,000 ticks/s (issue 17)",
        extra={"bytes_per_tick": _median(five, "bytes_per_tick"),
               "baseline_bytes_per_tick": _median(every, "bytes_per_tick"),
               "cpu": _grpc.median_cores(five), "baseline_cpu": _grpc.median_cores(every)},
        machine=machine)
    yield from run_filter(opts, machine)


def _filter_ns(opts) -> tuple[list[float], list[float]]:
    ticks = _testing.simulate_ticks(4096, 7, 8)
    ticks["seq"] = np.arange(4096)
    rows, _ = _testing.compute_analytics(ticks, 0.1, 8)
    f = RowFilter(kinds=[0], min_size=80, min_price=50, max_price=500)

    def numpy_mask(r):
        return r[(r["kind"] == 0) & (r["size"] >= 80) & (r["price"] >= 50) & (r["price"] <= 500)]

    assert f.apply(rows).tobytes() == numpy_mask(rows).tobytes()
    loops = 20 if opts.quick else 500
    core, base = [], []
    for _ in range(opts.repeat):
        for fn, into in ((f.apply, core), (numpy_mask, base)):
            t0 = time.perf_counter_ns()
            for _ in range(loops):
                fn(rows)
            into.append((time.perf_counter_ns() - t0) / (loops * len(rows)))
    return core, base


def _codec_ns(opts) -> tuple[list[float], list[float]]:
    from mdstream import _codec

    ticks = _testing.simulate_ticks(4096, 7, 8)
    ticks["seq"] = np.arange(4096)
    rows, _ = _testing.compute_analytics(ticks, 0.1, 8)
    names = [f"SYM{i}" for i in range(8)]
    loops = 20 if opts.quick else 300
    five, every = [], []
    for _ in range(opts.repeat):
        for fields, into in ((FIVE.split(","), five), (None, every)):
            enc = _codec.BatchEncoder(names, fields)
            t0 = time.perf_counter_ns()
            for _ in range(loops):
                _codec.decode_batch(enc.encode(rows))
            into.append((time.perf_counter_ns() - t0) / (loops * len(rows)))
    return five, every


def run_filter(opts, machine):
    five, every = _codec_ns(opts)
    yield result_line(NAME, "codec", "ns/tick", {"frame": 4096, "fields": FIVE, "symbols": 8},
                      five, every, "encode + decode of the same frame with every column (24)",
                      higher_is_better=False, machine=machine)
    core, base = _filter_ns(opts)
    yield result_line(NAME, "row_filter", "ns/result",
                      {"batch": 4096, "filter": "kinds=trade min_size=80 min_price=50 "
                       "max_price=500", "symbols": 8},
                      core, base, "the same filter as a NumPy boolean mask, rows[mask]",
                      higher_is_better=False, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
