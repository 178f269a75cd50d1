"""Orders: the paper venue's throughput and latency in process.

Throughput (``inprocess_orders_per_s``): an Engine with a paper venue and 8
symbols, each quoted once (sizes large enough never to run out). The same
array of requests (ORDER_DTYPE rows), in blocks of four: a GTC limit buy
below the bid (rests: NEW), its cancel (CANCELED), an IOC buy at the ask
(NEW, FILL) and an IOC sell at the bid (NEW, FILL), over the 8 symbols. A
thread hands them to the core with ``engine.submit_requests`` in chunks; the
main thread reads every execution report (``engine.execution_reports()``).
Orders/s is the number of requests over the time from the first submit to
the last report received.

Baseline: the same requests, as tuples, through a plain-Python matcher of
the venue's rules (benchmarks/baselines/order_matching.py: dicts, a set of
used ids, one report tuple per event in a list), timed the same way (first
request to last report made), in the same run, alternating.

Latency (``ack_p50_at_R`` / ``fill_p50_at_R``): at R requests/s (1k, 10k,
100k by default), a thread submits the requests in bursts every millisecond
(R / 1000 rows per ``submit_requests`` call, at least one), stamping each
burst with the wall clock just before the call; the main thread reads the
reports and stamps each batch when it arrives. Order-to-ack: the NEW report
of each order; order-to-fill: the FILL report of each IOC order. The extras
split the time at the report's ``recv_ns`` (the engine took the request)
and ``done_ns`` (the venue made the report). The baseline of a latency line
is the plain-Python matcher fed the same bursts through a queue.Queue by the
same kind of thread (what a Python venue in the same process would do).

    python -m benchmarks orders [--repeat 3] [--duration 1] [--rates 1000,10000,100000]
"""

from __future__ import annotations

import queue
import statistics
import sys
import threading
import time

import numpy as np

from mdstream.benchmarking import result_line, summarize

from benchmarks.baselines import order_matching as om

NAME = "orders"
SYMBOLS = 8
ACCOUNT = "bench"
BID, ASK, QUOTE_SIZE = 100.0, 100.01, 1e12
CHUNK = 4096                      # rows per submit_requests call in the throughput run
RATES = (1_000.0, 10_000.0, 100_000.0)
_SUITE_DEFAULT_RATES = [10_000.0, 100_000.0, 1_000_000.0]   # the suite's --rates default


def _pcts(lat: np.ndarray) -> dict:
    if not len(lat):
        return {}
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
    return {"p50": float(p50), "p99": float(p99), "p999": float(p999),
            "max": float(lat.max()), "count": int(len(lat))}


# -- the requests ------------------------------------------------------------------

def pattern(n: int, first_id: int = 1) -> list[tuple]:
    """n requests (a multiple of 4) as (kind, cl_ord_id, symbol, side, ord_type, tif,
    price, quantity, orig_cl_ord_id): rest + cancel, IOC buy, IOC sell, per symbol in turn."""
    out = []
    cid = first_id
    for i in range(n // 4):
        s = i % SYMBOLS
        out.append((om.NEW_REQ, cid, s, om.BUY, om.LIMIT, om.GTC, BID - 1.0, 1.0, 0))
        out.append((om.CANCEL_REQ, 0, s, 0, 0, 0, 0.0, 0.0, cid))
        out.append((om.NEW_REQ, cid + 1, s, om.BUY, om.LIMIT, om.IOC, ASK, 1.0, 0))
        out.append((om.NEW_REQ, cid + 2, s, om.SELL, om.LIMIT, om.IOC, BID, 1.0, 0))
        cid += 3
    return out


#: Reports per block of 4 requests: NEW; CANCELED; NEW, FILL; NEW, FILL.
REPORTS_PER_BLOCK = 6


# -- the baseline ------------------------------------------------------------------

def _plain_matcher() -> om.PlainMatcher:
    m = om.PlainMatcher()
    for s in range(SYMBOLS):
        m.quote(s, BID, ASK, QUOTE_SIZE, QUOTE_SIZE)
    return m


def baseline_throughput(reqs: list[tuple]) -> float:
    """Requests/s through the plain-Python matcher (all reports made)."""
    requests = [om.Request(kind, 0, cid, s, side, ot, tif, px, qty, orig)
                for kind, cid, s, side, ot, tif, px, qty, orig in reqs]
    m = _plain_matcher()
    t0 = time.perf_counter()
    m.process(requests)
    dt = time.perf_counter() - t0
    if len(m.reports) != len(reqs) // 4 * REPORTS_PER_BLOCK:
        raise AssertionError(f"plain matcher made {len(m.reports)} reports")
    return len(reqs) / dt


class Plan:
    """The requests of a latency run at ``rate`` requests/s: bursts of ``k``
    requests (rate / 1000, at least 1) every ``interval`` s; ``burst_of[cid]``
    is the burst a client order id was sent in."""

    def __init__(self, rate: float, seconds: float):
        self.k = max(1, int(round(rate / 1000)))
        self.interval = self.k / rate
        self.n_bursts = max(1, int(seconds / self.interval))
        n = (self.n_bursts * self.k + 3) // 4 * 4
        self.requests = pattern(n)
        self.burst_of = np.full(self.requests[-1][1] + 2, -1, np.int64)
        for j, r in enumerate(self.requests):
            if r[1]:
                self.burst_of[r[1]] = j // self.k

    def burst(self, i: int) -> list[tuple]:
        return self.requests[i * self.k:(i + 1) * self.k]


def pace(plan: Plan, submit, stop: threading.Event, stamps: np.ndarray) -> None:
    """Hand over burst i at t0 + i * interval (at once when late); stamps[i]
    is the wall clock (ns) just before it was handed over."""
    t0 = time.perf_counter()
    for i in range(plan.n_bursts):
        due = t0 + i * plan.interval
        while not stop.is_set():
            left = due - time.perf_counter()
            if left <= 0:
                break
            if left > 0.0002:
                time.sleep(left - 0.0001)
        if stop.is_set():
            return
        stamps[i] = time.time_ns()
        submit(i)


def baseline_latency(rate: float, duration: float, warmup: float) -> dict:
    """A plain-Python venue in this process: a thread puts the bursts on a
    queue.Queue, a matcher thread takes them and puts each burst's reports on
    another queue, read by the main thread."""
    plan = Plan(rate, duration + warmup)
    bursts = [[om.Request(kind, 0, cid, s, side, ot, tif, px, qty, orig)
               for kind, cid, s, side, ot, tif, px, qty, orig in plan.burst(i)]
              for i in range(plan.n_bursts)]
    inbox: queue.Queue = queue.Queue()
    outbox: queue.Queue = queue.Queue()
    m = _plain_matcher()

    def matcher():
        while True:
            burst = inbox.get()
            if burst is None:
                return
            before = len(m.reports)
            m.process(burst)
            outbox.put(m.reports[before:])

    stamps = np.zeros(plan.n_bursts, np.int64)
    stop = threading.Event()
    th = threading.Thread(target=matcher, daemon=True)
    pacer = threading.Thread(target=pace, args=(plan, lambda i: inbox.put(bursts[i]), stop,
                                                 stamps), daemon=True)
    th.start()
    pacer.start()
    first = int(warmup / plan.interval)
    ack: list[int] = []
    fill: list[int] = []
    expected = len(plan.requests[:plan.n_bursts * plan.k]) // 4 * REPORTS_PER_BLOCK
    seen = 0
    try:
        while seen < expected:
            reports = outbox.get(timeout=10)
            now = time.time_ns()
            seen += len(reports)
            for r in reports:
                i = plan.burst_of[r.cl_ord_id] if r.cl_ord_id else -1
                if i < first:
                    continue
                if r.exec_type == om.EXEC_NEW:
                    ack.append(now - stamps[i])
                elif r.exec_type == om.EXEC_FILL:
                    fill.append(now - stamps[i])
    finally:
        stop.set()
        pacer.join()
        inbox.put(None)
        th.join(5)
    return {"ack_ns": _pcts(np.array(ack, np.int64)), "fill_ns": _pcts(np.array(fill, np.int64)),
            "orders": len(ack)}


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
