"""A client process of the orders benchmark's gRPC part (benchmarks/orders.py).

``--kind mdstream``: an order session (``Client.trade``) on ``mdstream serve
--paper-venue``. ``--kind baseline``: a plain grpcio bidirectional stream to
benchmarks/baselines/echo_order_server.py, which answers every request with
an acknowledgement right away (and a second message, the "fill", for the
orders that would fill): the cost of the transport alone.

A thread sends the requests in bursts, one burst every 1 ms (rate / 1000
requests; the mix of benchmarks/orders.py: a GTC limit that rests, its cancel,
an IOC market buy, an IOC market sell), stamping each burst with the wall
clock just before it is handed over. The main thread reads the responses and
stamps each when it arrives: order-to-ack is the NEW report of an order (the
echo's first answer), order-to-fill its FILL. Prints one JSON line:
percentiles in ns of the requests sent after the warm-up, and the rate sent.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import threading
import time

import numpy as np

from mdstream.benchmarking import latency_percentiles

from benchmarks.orders import Plan, pace
from benchmarks.baselines import order_matching as om

ACCOUNT = "paper"
SYMBOLS = [f"SYM{i}" for i in range(8)]
#: The baseline's request: cl_ord_id, symbol, side, ord_type, tif, is_cancel, price, quantity.
ECHO_REQUEST = struct.Struct("<qiBBBBdd")


def mdstream_session(target: str):
    """(send(requests), read() -> [(cl_ord_id, kind)] or None, close)."""
    import mdstream
    from mdstream.venue import ExecType

    client = mdstream.Client(target, timeout=10.0)
    session = client.trade(ACCOUNT)

    def send(burst):
        for kind, cid, s, side, ot, tif, px, qty, orig in burst:
            if kind == om.CANCEL_REQ:
                session.cancel_order(orig)
            elif ot == om.MARKET:
                session.submit_order(cid, SYMBOLS[s], "buy" if side == om.BUY else "sell", qty,
                                     ord_type="market", tif="ioc")
            else:
                session.submit_order(cid, SYMBOLS[s], "buy" if side == om.BUY else "sell", qty,
                                     price=px)

    def read(timeout):
        item = session.read(timeout)
        if item is None:
            return None
        et = getattr(item, "exec_type", None)
        if et == ExecType.NEW:
            return [(item.cl_ord_id, "ack")]
        if et in (ExecType.FILL, ExecType.PARTIAL_FILL):
            return [(item.cl_ord_id, "fill")]
        return [(0, "other")]

    def close():
        session.close()
        client.close()

    return send, read, close


def baseline_session(target: str):
    import queue

    import grpc

    channel = grpc.insecure_channel(target)
    call = channel.stream_stream("/bench.Echo/Trade", request_serializer=None,
                                 response_deserializer=None)
    requests: queue.Queue = queue.Queue()
    end = object()
    responses = call(iter(requests.get, end))
    out: queue.Queue = queue.Queue()

    def pump():
        try:
            for msg in responses:
                out.put(msg)
        except grpc.RpcError:
            pass
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()

    def send(burst):
        for kind, cid, s, side, ot, tif, px, qty, orig in burst:
            requests.put(ECHO_REQUEST.pack(orig if kind == om.CANCEL_REQ else cid, s, side, ot, tif,
                                           kind == om.CANCEL_REQ, px, qty))

    def read(timeout):
        try:
            msg = out.get(timeout=timeout)
        except queue.Empty:
            return None
        if msg is None:
            return None
        cid, tag = struct.unpack("<qB", msg)
        return [(cid, "ack" if tag == 0 else "fill" if tag == 2 else "other")]

    def close():
        requests.put(end)
        responses.cancel()
        channel.close()

    return send, read, close


def grpc_pattern(n: int) -> list[tuple]:
    """The mix with market IOC orders (the server's quotes move: any price fills)."""
    out = []
    cid = 1
    for i in range(n // 4):
        s = i % len(SYMBOLS)
        out.append((om.NEW_REQ, cid, s, om.BUY, om.LIMIT, om.GTC, 0.01, 1.0, 0))
        out.append((om.CANCEL_REQ, 0, s, 0, 0, 0, 0.0, 0.0, cid))
        out.append((om.NEW_REQ, cid + 1, s, om.BUY, om.MARKET, om.IOC, 0.0, 1.0, 0))
        out.append((om.NEW_REQ, cid + 2, s, om.SELL, om.MARKET, om.IOC, 0.0, 1.0, 0))
        cid += 3
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=("mdstream", "baseline"), required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--warmup", type=float, default=0.5)
    args = p.parse_args()
    plan = Plan(args.rate, args.duration + args.warmup, pattern_of=grpc_pattern)
    send, read, close = (mdstream_session if args.kind == "mdstream"
                         else baseline_session)(args.target)
    # Ready: the call is connected and answers (one order that rests, its id above the plan's).
    ping = len(plan.burst_of) + 1
    send([(om.NEW_REQ, ping, 0, om.BUY, om.LIMIT, om.GTC, 0.01, 1.0, 0)])
    deadline = time.monotonic() + 30
    while not any(cid == ping for cid, _ in (read(1.0) or ())):
        if time.monotonic() > deadline:
            raise SystemExit("no answer from the server within 30 s")
    stamps = np.zeros(plan.n_bursts, np.int64)
    stop = threading.Event()
    first = int(args.warmup / plan.interval)
    sent = plan.requests[:plan.n_bursts * plan.k]
    expected_acks = sum(1 for r in sent if r[0] == om.NEW_REQ)
    lat: dict[str, list[int]] = {"ack": [], "fill": []}
    acks = 0
    try:
        pacer = threading.Thread(target=pace, args=(plan, lambda i: send(plan.burst(i)), stop,
                                                    stamps), daemon=True)
        pacer.start()
        deadline = time.monotonic() + args.duration + args.warmup + 30
        while acks < expected_acks and time.monotonic() < deadline:
            got = read(1.0)
            now = time.time_ns()
            if got is None:
                continue
            for cid, what in got:
                if what == "other":
                    continue
                acks += what == "ack"
                i = plan.burst_of[cid]
                if i >= first:
                    lat[what].append(now - int(stamps[i]))
        end = time.monotonic() + 0.2          # the fills of the last orders
        while time.monotonic() < end:
            got = read(0.05)
            now = time.time_ns()
            for cid, what in got or ():
                if what == "fill" and plan.burst_of[cid] >= first:
                    lat["fill"].append(now - int(stamps[plan.burst_of[cid]]))
        stop.set()
        pacer.join()
    finally:
        close()
    span = (stamps[-1] - stamps[0]) / 1e9
    print(json.dumps({"ack": latency_percentiles(np.array(lat["ack"], np.int64)),
                      "fill": latency_percentiles(np.array(lat["fill"], np.int64)),
                      "orders": len(lat["ack"]), "acks": acks, "expected_acks": expected_acks,
                      "achieved_rate": (plan.n_bursts - 1) * plan.k / span if span > 0 else 0.0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
