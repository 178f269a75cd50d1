"""mdstream demo: a node with a simulated feed, subscribed to over gRPC by the
Python client in the same process, with live output and a summary."""

from __future__ import annotations

import argparse
import time

import numpy as np

from mdstream.cli import options
from mdstream.cli.config import node_config
from mdstream.cli.latency import LatencyMeter
from mdstream.cli.output import fmt_latency, row_line
from mdstream.cli.process import CommandError, error, sigterm_as_interrupt
from mdstream.request import POLICIES

__all__ = ["add_parser", "run"]

DESCRIPTION = (
    "Start an engine with a simulated feed and a gRPC server, subscribe to it with the Python "
    "client over gRPC (StreamBatches), and print live results and one line per second of "
    "throughput and latency; a summary at the end.")
#: How long a result may wait for its frame (seconds).
MAX_WAIT_S = 0.002


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the demo command to the subparsers ``sub``."""
    p = sub.add_parser(
        "demo", help="engine + gRPC server + client in one command, with live output",
        description=DESCRIPTION)
    options.add_engine_options(p)
    options.add_server_options(p, 0)
    p.add_argument("--duration", type=options.duration(zero=True), default=10.0,
                   metavar="SECONDS",
                   help="how long to run, in seconds or with a unit; 0 = until Ctrl-C "
                        "(default: 10)")
    p.add_argument("--lines-per-second", type=options.non_negative(float), default=4.0,
                   metavar="N",
                   help="result lines printed per second, so the terminal stays readable (default: 4)")
    p.add_argument("--policy", choices=POLICIES, default="block",
                   help="the client's slow-consumer policy (default: block)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """mdstream demo: node + in-process gRPC client, live output; returns the exit status."""
    from mdstream.errors import MDStreamError
    from mdstream.grpc.client import Client
    from mdstream.grpc.server import PortInUseError
    from mdstream.node import Node

    sigterm_as_interrupt()
    try:
        node = Node(node_config(args))
        node.start(start_engine=False)
    except (CommandError, PortInUseError, MDStreamError) as exc:
        return error(str(exc))
    engine, server = node.engine, node.server
    rate = "as fast as possible" if args.rate == 0 else f"{args.rate:,.0f} ticks/s"
    print(f"mdstream demo: simulated feed ({len(engine.symbols)} symbols, {rate}) -> engine "
          f"({args.workers} workers) -> gRPC StreamBatches -> Python client", flush=True)
    print(f"gRPC server listening on {node.address}", flush=True)
    client = Client(node.address)
    stream = client.stream_batches(policy=args.policy, heartbeats=True, max_wait=MAX_WAIT_S)
    meter = LatencyMeter()
    received = frames = missed = 0
    last_print = 0.0
    print_every = 1.0 / args.lines_per_second if args.lines_per_second > 0 else None
    rotation = 0
    end_reason = "the feed ended"
    engine_started = False
    start = time.monotonic()
    try:
        # Subscribe before the feed starts, so the client sees every tick from seq 0.
        deadline = time.monotonic() + 5.0
        it = iter(stream)
        # started above
        while server.servicer.active_streams < 1 and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.005)
        node.start_engine()
        engine_started = True
        start = time.monotonic()
        tick_mark = start
        interval_received = interval_frames = 0
        processed_mark = 0
        stop_at = start + args.duration if args.duration > 0 else None
        for batch in it:
            now_ns = time.time_ns()
            now = time.monotonic()
            n = len(batch)
            frames += 1
            interval_frames += 1
            if batch.gap is not None:
                missed += batch.gap.missed
            if n:
                received += n
                interval_received += n
                meter.add(batch.rows["recv_ns"], now_ns)
                if print_every is not None and now - last_print >= print_every:
                    # Rotate over symbols so every one shows up now and then.
                    ids = batch.rows["symbol_id"]
                    want = rotation % max(1, len(batch.symbols))
                    rotation += 1
                    hits = np.flatnonzero(ids == want)
                    i = int(hits[-1]) if len(hits) else n - 1
                    print(row_line(batch, i), flush=True)
                    last_print = now
            if now - tick_mark >= 1.0:
                span = now - tick_mark
                stats = engine.stats()
                eng_rate = (stats.processed - processed_mark) / span
                processed_mark = stats.processed
                print(f"[{now - start:4.0f}s] received {interval_received / span:,.0f} ticks/s in "
                      f"{interval_frames / span:,.0f} frames/s, {fmt_latency(meter.take_interval())}"
                      f", engine {eng_rate:,.0f} ticks/s", flush=True)
                tick_mark = now
                interval_received = interval_frames = 0
            if stop_at is not None and now >= stop_at:
                end_reason = f"--duration {args.duration:g} s reached"
                break
    except KeyboardInterrupt:
        end_reason = "interrupted"
    except MDStreamError as exc:
        end_reason = f"the stream failed: {exc}"
    finally:
        stream.cancel()
        elapsed = max(time.monotonic() - start, 1e-9) if engine_started else 0.0
        node.stop()
        client.close()
    stats = engine.stats()
    print(f"summary: {received:,} ticks received over gRPC in {elapsed:.1f} s "
          f"({received / max(elapsed, 1e-9):,.0f}/s) in {frames:,} frames, {missed:,} missed; "
          f"{fmt_latency(meter.overall())} (engine receive -> client); engine processed "
          f"{stats.processed:,}; {end_reason}", flush=True)
    return 0
