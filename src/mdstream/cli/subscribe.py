"""mdstream subscribe: print the results of a server's stream, then a summary."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from mdstream.cli import options
from mdstream.cli.latency import LatencyMeter
from mdstream.cli.output import fmt_age, fmt_latency, message_line, row_line
from mdstream.cli.process import error, sigterm_as_interrupt, usage_error
from mdstream.request import DEFAULT_TICKS_PER_FRAME, MAX_TICKS_PER_FRAME, MAX_WAIT_S, POLICIES
from mdstream.text import printable

__all__ = ["add_parser", "run", "stream_request"]

DESCRIPTION = (
    "Subscribe to an mdstream server and print results as they arrive ('[PY] AAPL -> 1500.00 "
    "...', quotes, and bars as '[PY] AAPL 1m bar ... o= h= l= c= v='), then a summary: results, "
    "rate, and the receive latency (engine receive -> this client) p50/p99/p999/max.")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the subscribe command to the subparsers ``sub``."""
    p = sub.add_parser("subscribe", help="subscribe to a server and print the results",
                       description=DESCRIPTION)
    options.add_target_option(p)
    p.add_argument("--symbols", type=options.symbols, default=None, metavar="LIST",
                   help="comma-separated symbols to receive (default: all)")
    p.add_argument("--policy", choices=POLICIES, default=None,
                   help="what the server does if this client falls behind: block (wait for it, "
                        "up to the server's block deadline), skip (jump ahead with a gap notice) "
                        "or disconnect (default: the server's, skip unless its operator chose "
                        "otherwise)")
    p.add_argument("--from-seq", type=int, default=None, metavar="SEQ",
                   help="start at this sequence number, >= 0 (replayed from the server's ring "
                        "or journal, then live); 0 = from the first result (default: the next "
                        "result)")
    p.add_argument("--limit", type=options.non_negative(int), default=0, metavar="N",
                   help="stop after N results; 0 = no limit (default: 0)")
    p.add_argument("--duration", type=options.duration(zero=True), default=0.0,
                   metavar="SECONDS",
                   help="stop after this long, in seconds or with a unit; 0 = no limit "
                        "(default: 0)")
    p.add_argument("--batches", action="store_true",
                   help="use StreamBatches (columnar frames, much faster) instead of StreamResults "
                        "(one message per tick)")
    p.add_argument("--max-ticks-per-frame", type=options.positive_int,
                   default=DEFAULT_TICKS_PER_FRAME, metavar="TICKS",
                   help=f"with --batches: the most ticks (results) per frame, up to "
                        f"{MAX_TICKS_PER_FRAME} (default: {DEFAULT_TICKS_PER_FRAME})")
    # The earlier name: scripts that use it keep working.
    p.add_argument("--max-frame", dest="max_ticks_per_frame", type=options.positive_int,
                   default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--max-wait", type=options.duration(zero=True), default=0.002,
                   metavar="DURATION",
                   help=f"with --batches: the longest a result may wait for its frame to fill, "
                        f"in seconds or with a unit, e.g. 2ms or 500us; the server sends at once "
                        f"when ticks trickle in and waits only while they pour in; 0 = never "
                        f"wait; at most {MAX_WAIT_S:g} s (default: 2ms)")
    p.add_argument("--fields", default=None, metavar="LIST",
                   help="with --batches: comma-separated columns to receive, e.g. "
                        "seq,ts_ns,recv_ns,price,size (seq and symbol_id always come; the "
                        "latency needs recv_ns); the server sends only these (default: all)")
    p.add_argument("--kinds", default=None, metavar="LIST",
                   help="comma-separated kinds to receive: trade, quote, bar (default: all); "
                        "the server filters, results left out are not gaps")
    p.add_argument("--min-size", type=float, default=None, metavar="SIZE",
                   help="receive only results with size >= SIZE (trade size, bar volume; "
                        "quotes have size 0; default: no bound)")
    p.add_argument("--min-price", type=float, default=None, metavar="PRICE",
                   help="receive only results with price >= PRICE (trade price, quote mid, "
                        "bar close; default: no bound)")
    p.add_argument("--max-price", type=float, default=None, metavar="PRICE",
                   help="receive only results with price <= PRICE (default: no bound)")
    p.add_argument("--conflate", type=options.duration(), default=None, metavar="DURATION",
                   help="at most one result per symbol per DURATION (seconds or with a unit, "
                        "e.g. 250ms), the newest; folded results are counted as missed "
                        "(default: off)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the summary (to measure throughput)")
    p.set_defaults(func=run)
    return p


def stream_request(args: argparse.Namespace):
    """The StreamRequest of the options (symbols, policy, from_seq, and with
    --batches the frame settings); InvalidArgumentError for a value it refuses."""
    from mdstream.errors import InvalidArgumentError
    from mdstream.request import StreamRequest

    fields = getattr(args, "fields", None)
    if fields and not args.batches:
        raise InvalidArgumentError("--fields needs --batches (StreamResults sends every field)")
    request = StreamRequest(symbols=args.symbols, policy=args.policy,
                            max_ticks_per_frame=args.max_ticks_per_frame,
                            max_wait=args.max_wait, from_seq=args.from_seq, fields=fields,
                            kinds=getattr(args, "kinds", None),
                            min_size=getattr(args, "min_size", None),
                            min_price=getattr(args, "min_price", None),
                            max_price=getattr(args, "max_price", None),
                            conflate=getattr(args, "conflate", None))
    return request.check_frame_limit()


def run(args: argparse.Namespace) -> int:
    """mdstream subscribe: print the results of a server's stream; returns the exit status."""
    from mdstream.errors import InvalidArgumentError, MDStreamError
    from mdstream.grpc.client import Client, RemoteError

    try:
        request = stream_request(args)
        client = Client(args.target, **options.client_security_kwargs(args))
    except InvalidArgumentError as exc:
        return usage_error("subscribe", exc)
    sigterm_as_interrupt()
    meter = LatencyMeter(since_ns=time.time_ns())
    received = frames = missed = 0
    start = time.monotonic()
    end_reason = "the stream ended"
    stream: Any = None           # a batch or a per-result stream
    failed = None
    pending: list[int] = []       # engine receive times (ns), handed to the meter in chunks
    pending_at: list[int] = []    # when each arrived (ns)
    try:
        client.wait_ready(args.connect_timeout)
        start = time.monotonic()
        deadline = start + args.duration if args.duration > 0 else None
        if args.batches:
            stream = client.stream_batches(
                request.symbols, request.policy, max_ticks_per_frame=request.max_ticks_per_frame,
                max_wait=request.max_wait, heartbeats=True, from_seq=request.from_seq,
                fields=request.fields, **_filters(request))
            timed = request.fields is None or "recv_ns" in request.fields
            for batch in stream:
                now = time.time_ns()
                frames += 1
                if batch.gap is not None:
                    missed += batch.gap.missed
                    if not args.quiet and request.conflate:
                        # The span the batch stands for: its rows are the newest of it.
                        print(f"[PY] conflated: {batch.gap.missed:,} results folded into the "
                              f"newest per symbol (seq {batch.gap.from_seq} to "
                              f"{batch.gap.to_seq})", flush=True)
                    elif not args.quiet:
                        print(f"[PY] gap: {batch.gap.missed:,} results skipped "
                              f"(seq {batch.gap.from_seq} to {batch.gap.to_seq})", flush=True)
                n = len(batch)
                if args.limit:
                    n = min(n, args.limit - received)
                if n:
                    if timed:
                        meter.add(batch.rows["recv_ns"][:n], now)
                    if not args.quiet:
                        line = row_line if request.fields is None else _fields_line
                        print("\n".join(line(batch, i) for i in range(n)), flush=True)
                    received += n
                if args.limit and received >= args.limit:
                    end_reason = f"--limit {args.limit} reached"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    end_reason = f"--duration {args.duration:g} s reached"
                    break
        else:
            stream = client.stream_results(request.symbols, request.policy,
                                           from_seq=request.from_seq, **_filters(request))
            for m in stream:
                now = time.time_ns()
                frames += 1
                missed += m.missed_before
                pending.append(m.recv_ns)
                pending_at.append(now)
                if len(pending) >= 4096:
                    _flush(meter, pending, pending_at)
                if not args.quiet:
                    print(message_line(m), flush=True)
                received += 1
                if args.limit and received >= args.limit:
                    end_reason = f"--limit {args.limit} reached"
                    break
                if deadline is not None and (received & 255) == 0 and time.monotonic() >= deadline:
                    end_reason = f"--duration {args.duration:g} s reached"
                    break
    except KeyboardInterrupt:
        end_reason = "interrupted"
    except RemoteError as exc:
        client.close()
        if exc.code.name == "UNAVAILABLE" and received == 0 and frames == 0:
            return error(f"cannot reach an mdstream server at {args.target}: {exc.details}")
        failed = exc
        end_reason = f"the stream failed: {exc.code.name}"
    except MDStreamError as exc:
        client.close()
        return error(str(exc))
    finally:
        if stream is not None:
            stream.cancel()
        if pending:
            _flush(meter, pending, pending_at)
    client.close()
    elapsed = max(time.monotonic() - start, 1e-9)
    kind = "frames" if args.batches else "messages"
    print(f"summary: {received:,} results in {elapsed:.2f} s ({received / elapsed:,.0f}/s), "
          f"{frames:,} {kind}, {missed:,} missed; {fmt_latency(meter.overall())} "
          f"(engine receive -> client){fmt_age(meter.replayed, meter.replayed_age())}; "
          f"{end_reason}", flush=True)
    if failed is not None:
        return error(f"the stream failed after {received:,} results: {failed}")
    return 0


def _flush(meter: LatencyMeter, recv_ns: list[int], at_ns: list[int]) -> None:
    recv = np.asarray(recv_ns, dtype=np.int64)
    meter.add_latencies(np.asarray(at_ns, dtype=np.int64) - recv, recv)
    recv_ns.clear()
    at_ns.clear()


def _filters(request) -> dict:
    """The filter settings of a StreamRequest, as the clients' keyword arguments."""
    return {"kinds": request.kinds, "min_size": request.min_size,
            "min_price": request.min_price, "max_price": request.max_price,
            "conflate": request.conflate}


def _fields_line(batch, i: int) -> str:
    """One result of a projected stream: its symbol and the requested columns."""
    row = batch.rows[i]
    names = batch.fields or ()
    values = " ".join(f"{f}={row[f]}" for f in names if f not in ("seq", "symbol_id"))
    sid = int(row['symbol_id'])
    name = batch.symbols[sid] if sid < len(batch.symbols) else None
    return printable(f"[PY] {name or f'#{sid}'} seq={row['seq']} {values}")
