"""Channel: items per second between two threads.

- per item, from Python: a producer thread calls TickChannel.put() once per
  item, the main thread get() once per item; the baseline is the same code
  with queue.Queue.
- batched, between C threads: mdstream._testing.channel_pump moves ticks (88-byte
  structs) in batches of 1024 between two C threads without the GIL. Baselines:
  queue.Queue one item per call (what the target is against), and queue.Queue
  carrying lists of 1024 ints (what you would do to batch in Python).
"""

from __future__ import annotations

import queue
import statistics
import sys
import threading
import time

from mdstream.benchmarking import (alternate, calibrate, channel_batched, channel_per_item,
                                   queue_per_item, result_line, summarize)

NAME = "channel"
CAPACITY = 1024
BATCH = 1024


def queue_batched(n: int, batch: int = BATCH, capacity: int = 64) -> float:
    """queue.Queue carrying lists of `batch` ints: Python's way of batching."""
    q: queue.Queue = queue.Queue(capacity)

    def producer():
        for start in range(0, n, batch):
            q.put(list(range(start, min(n, start + batch))))
        q.put(None)

    t = threading.Thread(target=producer)
    total = 0
    t0 = time.perf_counter()
    t.start()
    while (items := q.get()) is not None:
        total += sum(items)
    dt = time.perf_counter() - t0
    t.join()
    if total != n * (n - 1) // 2:
        raise AssertionError("lost or duplicated items")
    return dt


def run(opts, machine):
    d = opts.duration
    n_item = calibrate(lambda n: channel_per_item(n, CAPACITY), d)
    n_queue = calibrate(lambda n: queue_per_item(n, CAPACITY), d)
    n_pump = calibrate(lambda n: channel_batched(n, BATCH), d, n0=100_000)
    n_qbatch = calibrate(queue_batched, d, n0=100_000)
    per_item, base_item, pump, base_batched = alternate(
        opts.repeat,
        lambda: n_item / channel_per_item(n_item, CAPACITY),
        lambda: n_queue / queue_per_item(n_queue, CAPACITY),
        lambda: n_pump / channel_batched(n_pump, BATCH),
        lambda: n_qbatch / queue_batched(n_qbatch))
    yield result_line(
        NAME, "per_item_python_threads", "items/s",
        {"capacity": CAPACITY, "items_per_run": n_item, "baseline_items_per_run": n_queue,
         "producer": "Python thread, put() per item", "consumer": "main thread, get() per item"},
        per_item, base_item, "queue.Queue put()/get() per item", target=">= 10x queue.Queue",
        machine=machine)
    yield result_line(
        NAME, "batched_c_threads", "items/s",
        {"batch": BATCH, "capacity": 65536, "items_per_run": n_pump, "item_bytes": 88,
         "producer": "C thread, no GIL", "consumer": "C thread, no GIL"},
        pump, base_item, "queue.Queue put()/get() per item", target=">= 100x queue.Queue",
        extra={"baseline_batched": {"name": f"queue.Queue of lists of {BATCH} ints",
                                    **summarize(base_batched)},
               "speedup_vs_batched_baseline":
                   statistics.median(pump) / statistics.median(base_batched)},
        machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
