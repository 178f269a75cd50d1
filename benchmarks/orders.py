"""Orders: the paper venue's throughput and latency, in process and over gRPC.

Throughput (``inprocess_orders_per_s``): an Engine with a paper venue and 8
symbols, each quoted once (sizes large enough never to run out). The same
array of requests (ORDER_DTYPE rows), in blocks of four: a GTC limit buy
below the bid (rests: NEW), its cancel (CANCELED), an IOC buy at the ask
(NEW, FILL) and an IOC sell at the bid (NEW, FILL), over the 8 symbols. A
thread hands them to the core with ``engine.submit_requests`` in chunks; the
main thread reads every execution report (``engine.execution_reports()``).
Orders/s is the number of requests over the time from the first submit to
the last report received.

Baseline: the same requests through mdstream.venue.reference.ReferenceVenue
(the venue's rules in plain Python, one row at a time), where the checkout
has it, and through a plain-Python matcher of the rules these requests need
(benchmarks/baselines/order_matching.py: dicts, a set of used ids, one
report tuple per event in a list; in the extras, or the baseline without
ReferenceVenue), timed the same way (first request to last report made), in
the same run, alternating.

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

Over gRPC (``grpc_ack_p50_at_R`` / ``grpc_fill_p50_at_R``, where the client
has order sessions, ``Client.trade``): ``mdstream serve --paper-venue`` (its
simulated feed at 1,000 ticks/s for the market) and a client process
(benchmarks/_orders_client.py) that paces the same mix with market IOC
orders, from its submit call to its reading of the report; rates up to 20k/s.
Baseline: the same client against a plain grpcio bidirectional stream that
answers each request at once (benchmarks/baselines/echo_order_server.py).

    python -m benchmarks orders [--repeat 3] [--duration 1] [--rates 1000,10000,100000]
"""

from __future__ import annotations

import queue
import statistics
import sys
import threading
import time

import numpy as np

from mdstream.benchmarking import latency_percentiles, result_line, summarize

from benchmarks.baselines import order_matching as om
from benchmarks.latency_rates import SUITE_DEFAULT_RATES

NAME = "orders"
SYMBOLS = 8
ACCOUNT = "bench"
BID, ASK, QUOTE_SIZE = 100.0, 100.01, 1e12
CHUNK = 4096                      # rows per submit_requests call in the throughput run
RATES = (1_000.0, 10_000.0, 100_000.0)


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


def order_rows(reqs: list[tuple], symbol_ids: list[int]) -> np.ndarray:
    """The requests as ORDER_DTYPE rows (account 0), built column by column."""
    from mdstream import _core
    from mdstream.venue import ORDER_DTYPE

    a = np.array([r[:6] for r in reqs], np.int64)
    f = np.array([r[6:8] for r in reqs], np.float64)
    orig = np.array([r[8] for r in reqs], np.int64)
    rows = np.zeros(len(reqs), ORDER_DTYPE)
    new = a[:, 0] == om.NEW_REQ
    rows["ts_ns"] = time.time_ns()
    rows["account"] = 0
    rows["cl_ord_id"] = a[:, 1]
    rows["orig_cl_ord_id"] = orig
    rows["symbol"] = np.where(new, np.asarray(symbol_ids, np.int32)[a[:, 2]], -1)
    rows["flags"] = np.where(new, _core.ORDER_ACTIONS["new"], _core.ORDER_ACTIONS["cancel"]) | \
        np.where(a[:, 3] == om.SELL, _core.ORDER_FLAGS["sell"], 0)
    rows["ord_type"] = a[:, 4]
    rows["tif"] = a[:, 5]
    rows["price"] = np.where(new, f[:, 0], np.nan)
    rows["stop_price"] = np.nan
    rows["quantity"] = np.where(new, f[:, 1], np.nan)
    return rows


# -- the engine --------------------------------------------------------------------

def venue_engine():
    """A started Engine with a paper venue and SYMBOLS quoted symbols."""
    from mdstream import Engine
    from mdstream.venue import Account, PaperVenue

    names = [f"SYM{i}" for i in range(SYMBOLS)]
    engine = Engine(symbols=names, venue=PaperVenue(accounts={ACCOUNT: Account()}))
    engine.start()
    with engine.subscribe(policy="block") as sub:
        engine.publish_quotes(names, [BID] * SYMBOLS, [ASK] * SYMBOLS, QUOTE_SIZE, QUOTE_SIZE)
        seen = 0
        while seen < SYMBOLS:                # the venue has the quotes before the first order
            batch = sub.next_batch(timeout=10)
            if batch is None:
                raise RuntimeError("the quotes did not come through")
            seen += len(batch)
    return engine, [engine.symbol_table.id(n) for n in names]


def engine_throughput(engine, rows: np.ndarray) -> float:
    """Requests/s: submit_requests in CHUNK-row calls from a thread, every
    report read in this one; from the first submit to the last report."""
    expected = len(rows) // 4 * REPORTS_PER_BLOCK
    errors: list[BaseException] = []

    def submit():
        try:
            for i in range(0, len(rows), CHUNK):
                engine.submit_requests(rows[i:i + CHUNK])
        except BaseException as exc:     # reported by the main thread
            errors.append(exc)

    with engine.execution_reports(max_batch=CHUNK) as reports:
        th = threading.Thread(target=submit, daemon=True)
        t0 = time.perf_counter()
        th.start()
        seen = 0
        while seen < expected:
            batch = reports.read(30.0)
            if batch is None or errors:
                raise RuntimeError(f"{expected - seen} reports missing") from (
                    errors[0] if errors else None)
            seen += len(batch)
        dt = time.perf_counter() - t0
        th.join()
    return len(rows) / dt


def expected_reports(reqs: list[tuple]) -> int:
    """NEW for every order and FILL for every IOC one (they always fill), CANCELED for every cancel."""
    return sum(2 if r[5] == om.IOC else 1 for r in reqs)


def engine_latency(rate: float, duration: float, warmup: float) -> dict:
    """Order-to-ack and order-to-fill at ``rate`` requests/s, in process."""
    plan = Plan(rate, duration + warmup)
    sent = plan.requests[:plan.n_bursts * plan.k]
    engine, ids = venue_engine()
    try:
        rows = order_rows(plan.requests, ids)
        k = plan.k
        stamps = np.zeros(plan.n_bursts, np.int64)
        stop = threading.Event()
        errors: list[BaseException] = []

        def submit(i: int) -> None:
            try:
                engine.submit_requests(rows[i * k:(i + 1) * k])
            except BaseException as exc:   # reported by the main thread
                errors.append(exc)
                stop.set()

        first = int(warmup / plan.interval)
        parts: dict[str, list] = {"ack": [], "fill": [], "to_engine": [], "in_venue": [],
                                  "to_reader": []}
        expected = expected_reports(sent)
        with engine.execution_reports() as reports:
            pacer = threading.Thread(target=pace, args=(plan, submit, stop, stamps), daemon=True)
            pacer.start()
            seen = 0
            try:
                while seen < expected:
                    batch = reports.read(10.0)
                    now = time.time_ns()
                    if batch is None or errors:
                        raise RuntimeError(f"{expected - seen} reports missing") from (
                            errors[0] if errors else None)
                    seen += len(batch)
                    burst = plan.burst_of[batch.cl_ord_id]
                    mine = burst >= first
                    et = batch.exec_type
                    ack = mine & (et == om.EXEC_NEW)
                    fill = mine & (et == om.EXEC_FILL)
                    parts["ack"].append(now - stamps[burst[ack]])
                    parts["fill"].append(now - stamps[burst[fill]])
                    parts["to_engine"].append(batch.recv_ns[ack] - stamps[burst[ack]])
                    parts["in_venue"].append(batch.done_ns[ack] - batch.recv_ns[ack])
                    parts["to_reader"].append(now - batch.done_ns[ack])
            finally:
                stop.set()
                pacer.join()
    finally:
        engine.stop()
    out: dict = {name: latency_percentiles(np.concatenate(v) if v else np.empty(0, np.int64))
                 for name, v in parts.items()}
    out["orders"] = out["ack"].get("count", 0)
    out["achieved_rate"] = _achieved(plan, stamps)
    return out


def _achieved(plan: Plan, stamps: np.ndarray) -> float:
    """Requests/s actually handed over (the pacing thread may fall behind)."""
    span = (stamps[-1] - stamps[0]) / 1e9
    return (plan.n_bursts - 1) * plan.k / span if span > 0 else 0.0


# -- the baseline ------------------------------------------------------------------

def reference_venue():
    """mdstream.venue.reference.ReferenceVenue (the venue's rules in plain
    Python, from the spec), or None where this checkout has none."""
    try:
        from mdstream.venue.reference import ReferenceVenue
    except ImportError:
        return None
    return ReferenceVenue


def reference_throughput(reqs: list[tuple]) -> float:
    """Requests/s through ReferenceVenue.process, one row (a dict) at a time."""
    from mdstream.venue import Account, PaperVenue

    venue = reference_venue()(PaperVenue(accounts={ACCOUNT: Account()}), symbols=SYMBOLS)
    seq = 0
    for sid in range(SYMBOLS):
        venue.process({"kind": "quote", "seq": seq, "ts_ns": 1, "symbol_id": sid, "bid": BID,
                       "ask": ASK, "bid_size": QUOTE_SIZE, "ask_size": QUOTE_SIZE})
        seq += 1
    rows = []
    for kind, cid, sym, side, ot, tif, px, qty, orig in reqs:
        seq += 1
        if kind == om.NEW_REQ:
            rows.append({"action": "new", "seq": seq, "account_id": 0, "symbol_id": sym,
                         "cl_ord_id": cid, "side": side, "ord_type": ot, "tif": tif,
                         "price": px, "quantity": qty})
        else:
            rows.append({"action": "cancel", "seq": seq, "account_id": 0, "symbol_id": -1,
                         "cl_ord_id": cid, "orig_cl_ord_id": orig})
    process = venue.process
    n = 0
    t0 = time.perf_counter()
    for row in rows:
        n += len(process(row))
    dt = time.perf_counter() - t0
    if n != expected_reports(reqs):
        raise AssertionError(f"ReferenceVenue made {n} reports, expected {expected_reports(reqs)}")
    return len(reqs) / dt


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
    if len(m.reports) != expected_reports(reqs):
        raise AssertionError(f"plain matcher made {len(m.reports)} reports")
    return len(reqs) / dt


class Plan:
    """The requests of a latency run at ``rate`` requests/s: bursts of ``k``
    requests (rate / 1000, at least 1) every ``interval`` s; ``burst_of[cid]``
    is the burst a client order id was sent in."""

    def __init__(self, rate: float, seconds: float, pattern_of=None):
        self.k = max(1, int(round(rate / 1000)))
        self.interval = self.k / rate
        self.n_bursts = max(1, int(seconds / self.interval))
        n = (self.n_bursts * self.k + 3) // 4 * 4
        self.requests = (pattern_of or pattern)(n)
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
    expected = expected_reports(plan.requests[:plan.n_bursts * plan.k])
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
    return {"ack": latency_percentiles(np.array(ack, np.int64)), "fill": latency_percentiles(np.array(fill, np.int64)),
            "orders": len(ack), "achieved_rate": _achieved(plan, stamps)}


# -- over gRPC ---------------------------------------------------------------------

def grpc_available() -> bool:
    """Whether this checkout's client has order sessions (the Trade RPC)."""
    import mdstream

    return hasattr(mdstream.Client, "trade")


def grpc_latency(kind: str, rate: float, duration: float, warmup: float) -> dict:
    """One client process (benchmarks/_orders_client.py) against ``mdstream serve
    --paper-venue`` (its simulated feed at MARKET_RATE ticks/s) or the echo baseline."""
    import json
    import subprocess

    from benchmarks import _grpc

    py = sys.executable
    if kind == "mdstream":
        argv = [py, "-m", "mdstream", "serve", "--port", "0", "--paper-venue",
                "--symbols", ",".join(f"SYM{i}" for i in range(SYMBOLS)),
                "--rate", repr(MARKET_RATE), "--workers", "2"]
    else:
        argv = [py, "-m", "benchmarks.baselines.echo_order_server", "--port", "0"]
    with _grpc.ServerProcess(argv, kind) as server:
        cpu0, t0 = server.cpu_seconds(), time.monotonic()
        out = subprocess.run([py, "-m", "benchmarks._orders_client", "--kind", kind,
                              "--target", server.address, "--rate", repr(rate),
                              "--duration", repr(duration), "--warmup", repr(warmup)],
                             cwd=_grpc.ROOT, env=_grpc._env(), capture_output=True, text=True,
                             timeout=duration + warmup + 120)
        server_cpu, wall = server.cpu_seconds() - cpu0, time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError(f"orders client ({kind}) failed:\n{out.stderr[-3000:]}")
    result = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    result["server_cores"] = server_cpu / wall     # the client's start-up included
    return result


#: The highest request rate measured over gRPC.
GRPC_MAX_RATE = 20_000.0
#: Ticks/s of the simulated market data the gRPC server's venue trades against.
MARKET_RATE = 1000.0


# -- the results ---------------------------------------------------------------------

def _tails(lat: list[dict], blat: list[dict], ms) -> dict:
    """The extras of a latency line: tails (ms), orders and rates, of mdstream's
    runs (lat) and the baseline's (blat); ``ms(runs, key)`` picks a percentile."""
    return {"p99_ms": summarize(ms(lat, "p99")), "p999_ms": summarize(ms(lat, "p999")),
            "max_ms": max(ms(lat, "max")),
            "baseline_p99_ms": summarize(ms(blat, "p99")),
            "baseline_p999_ms": summarize(ms(blat, "p999")),
            "orders": statistics.median(r["orders"] for r in lat),
            "achieved_rate": statistics.median(r["achieved_rate"] for r in lat),
            "baseline_achieved_rate": statistics.median(r["achieved_rate"] for r in blat)}


def run(opts, machine):
    n = 4_000 if opts.quick else max(4, int(400_000 * opts.duration) // 4 * 4)
    reqs = pattern(n)
    md: list[float] = []
    plain: list[float] = []
    ref: list[float] = []
    with_ref = reference_venue() is not None
    for _ in range(opts.repeat):
        engine, ids = venue_engine()
        try:
            md.append(engine_throughput(engine, order_rows(reqs, ids)))
        finally:
            engine.stop()
        plain.append(baseline_throughput(reqs))
        if with_ref:
            ref.append(reference_throughput(reqs))
    extra: dict = {"plain_loop_orders_per_s": summarize(plain)}
    if with_ref:
        extra["reference_venue_orders_per_s"] = summarize(ref)
    yield result_line(
        NAME, "inprocess_orders_per_s", "orders/s",
        {"requests": n, "symbols": SYMBOLS, "chunk": CHUNK,
         "mix": "per 4: GTC limit that rests, its cancel, IOC buy that fills, IOC sell that fills",
         "reports_per_4_requests": REPORTS_PER_BLOCK},
        md, ref if with_ref else plain,
        "mdstream.venue.reference.ReferenceVenue (the venue's rules in plain Python), same "
        "requests" if with_ref else
        "plain-Python matcher of the same requests (dicts, a list of report tuples)",
        target=">= 1,000,000 orders/s", extra=extra, machine=machine)

    rates = RATES if opts.rates == SUITE_DEFAULT_RATES else opts.rates
    warmup = 0.05 if opts.quick else 0.5
    d = opts.duration
    for rate in rates:
        lat: list[dict] = []
        blat: list[dict] = []
        for _ in range(opts.repeat):
            lat.append(engine_latency(rate, d, warmup))
            blat.append(baseline_latency(rate, d, warmup))
        for what in ("ack", "fill"):
            ms = lambda rs, p: [r[what][p] / 1e6 for r in rs if r[what]]
            parts = {}
            if what == "ack":
                parts = {f"{part}_p50_ms": summarize([r[part]["p50"] / 1e6 for r in lat if r[part]])
                         for part in ("to_engine", "in_venue", "to_reader")}
            yield result_line(
                NAME, f"{what}_p50_at_{int(rate)}", "ms",
                {"rate": rate, "burst_every_ms": round(Plan(rate, 1).interval * 1e3, 3),
                 "requests_per_burst": Plan(rate, 1).k, "symbols": SYMBOLS, "duration_s": d,
                 "measured": "submit call -> report received by a reader thread, in process"},
                ms(lat, "p50"), ms(blat, "p50"),
                "plain-Python matcher thread fed through queue.Queue, same bursts",
                higher_is_better=False,
                extra={**_tails(lat, blat, ms), **parts},
                machine=machine)

    if not grpc_available():
        return
    # One message per request each way: sync grpcio streams take a few thousand a second
    # (the echo baseline included), so the gRPC runs stop at 20k requests/s (1k/s when
    # --rates lists none that low).
    for rate in [r for r in rates if r <= GRPC_MAX_RATE] or [RATES[0]]:
        lat, blat = [], []
        for _ in range(opts.repeat):
            lat.append(grpc_latency("mdstream", rate, d, warmup))
            blat.append(grpc_latency("baseline", rate, d, warmup))
        for what in ("ack", "fill"):
            ms = lambda rs, p: [r[what][p] / 1e6 for r in rs if r[what]]
            yield result_line(
                NAME, f"grpc_{what}_p50_at_{int(rate)}", "ms",
                {"rate": rate, "burst_every_ms": round(Plan(rate, 1).interval * 1e3, 3),
                 "requests_per_burst": Plan(rate, 1).k, "symbols": SYMBOLS, "duration_s": d,
                 "server": "mdstream serve --paper-venue --workers 2, simulated feed at "
                           f"{MARKET_RATE:g} ticks/s",
                 "measured": "client submit -> report read by the client (another process)"},
                ms(lat, "p50"), ms(blat, "p50"),
                "plain grpcio bidirectional stream answering each request at once (no venue)",
                higher_is_better=False,
                target="p99 < 1 ms" if what == "ack" else None,
                extra={**_tails(lat, blat, ms),
                       "server_cores": statistics.median(r["server_cores"] for r in lat),
                       "baseline_server_cores": statistics.median(
                           r["server_cores"] for r in blat)},
                machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
