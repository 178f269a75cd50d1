"""The ``mdstream`` command: serve, subscribe, demo and bench.

    mdstream serve --port 50051 --symbols AAPL,MSFT --rate 100000
    mdstream subscribe --target 127.0.0.1:50051 --symbols AAPL --limit 10
    mdstream demo                      # engine + server + client, 10 s
    mdstream bench ...                 # the benchmark suite

Every subcommand has --help. Errors a user can fix (a port in use, a server
that is not there, an unknown symbol) are one line on stderr and a non-zero
exit status, not a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Sequence

import numpy as np

__all__ = ["main", "build_parser"]

DEFAULT_SYMBOLS = "AAPL,MSFT,GOOG,AMZN,TSLA"
EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """An error to print as one line, ending the command with EXIT_ERROR."""


# -- argument helpers ---------------------------------------------------------

def _symbols(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one symbol, e.g. AAPL,MSFT")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"symbols must be distinct: {text}")
    return names


def _non_negative(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value
    return parse


def _positive_int(text: str) -> int:
    value = _non_negative(int)(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _port(text: str) -> int:
    value = _non_negative(int)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {text}")
    return value


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine and simulated feed")
    g.add_argument("--symbols", type=_symbols, default=_symbols(DEFAULT_SYMBOLS), metavar="LIST",
                   help=f"comma-separated symbols the simulated feed trades (default: {DEFAULT_SYMBOLS})")
    g.add_argument("--rate", type=_non_negative(float), default=100_000.0, metavar="TICKS_PER_S",
                   help="ticks per second the feed generates; 0 = as fast as the engine takes them "
                        "(default: 100000)")
    g.add_argument("--workers", type=_positive_int, default=2,
                   help="engine worker threads (default: 2)")
    g.add_argument("--seed", type=_non_negative(int), default=7,
                   help="random seed of the simulated feed (default: 7)")
    g.add_argument("--count", type=_non_negative(int), default=0,
                   help="ticks to generate in all, then the streams end; 0 = no end (default: 0)")
    g.add_argument("--quote-ratio", type=float, default=0.2, metavar="R",
                   help="share of ticks that are quotes, 0 to 1 (default: 0.2)")
    g.add_argument("--ring-size", type=_positive_int, default=1 << 16, metavar="N",
                   help="results the engine keeps for subscribers that fall behind, a power of two "
                        "(default: 65536)")


def _add_server_options(p: argparse.ArgumentParser, default_port: int) -> None:
    g = p.add_argument_group("gRPC server")
    g.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 for every interface (default: 127.0.0.1)")
    g.add_argument("--port", type=_port, default=default_port,
                   help=f"port to listen on; 0 picks a free port (default: {default_port})")
    g.add_argument("--max-streams", type=_positive_int, default=64, metavar="N",
                   help="streams served at once; more get RESOURCE_EXHAUSTED (default: 64)")
    g.add_argument("--grace", type=_non_negative(float), default=2.0, metavar="SECONDS",
                   help="on shutdown, how long calls in flight may take (default: 2)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the mdstream command."""
    parser = argparse.ArgumentParser(
        prog="mdstream",
        description="mdstream: a market-data streaming engine with a compiled core, served over gRPC.",
        epilog="Run 'mdstream COMMAND --help' for the options of a command.")
    from mdstream import __version__
    parser.add_argument("--version", action="version", version=f"mdstream {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "serve", help="run an engine with a simulated feed and serve it over gRPC",
        description="Run an engine fed by the simulated feed and serve it over gRPC "
                    "(mdstream.v1.MDStream, plus health and reflection). Prints "
                    "'gRPC server listening on HOST:PORT' once it accepts connections; "
                    "stops cleanly on Ctrl-C or SIGTERM.")
    _add_engine_options(p)
    _add_server_options(p, 50051)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "subscribe", help="subscribe to a server and print the results",
        description="Subscribe to an mdstream server and print results as they arrive "
                    "('[PY] AAPL -> 1500.00 ...'), then a summary (results, rate, latency).")
    p.add_argument("--target", default="127.0.0.1:50051",
                   help="HOST:PORT of the server (default: 127.0.0.1:50051)")
    p.add_argument("--symbols", type=_symbols, default=None, metavar="LIST",
                   help="comma-separated symbols to receive (default: all)")
    p.add_argument("--policy", choices=("block", "skip", "disconnect"), default="block",
                   help="what the server does if this client falls behind (default: block)")
    p.add_argument("--limit", type=_non_negative(int), default=0, metavar="N",
                   help="stop after N results; 0 = no limit (default: 0)")
    p.add_argument("--duration", type=_non_negative(float), default=0.0, metavar="SECONDS",
                   help="stop after this many seconds; 0 = no limit (default: 0)")
    p.add_argument("--batches", action="store_true",
                   help="use StreamBatches (columnar frames, much faster) instead of StreamResults "
                        "(one message per tick)")
    p.add_argument("--max-frame", type=_positive_int, default=4096, metavar="TICKS",
                   help="with --batches: the most ticks per frame, up to 16384 (default: 4096)")
    p.add_argument("--max-wait", type=_non_negative(float), default=2.0, metavar="MS",
                   help="with --batches: how long a result may wait for its frame, in ms (default: 2)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the summary (to measure throughput)")
    p.add_argument("--connect-timeout", type=_non_negative(float), default=5.0, metavar="SECONDS",
                   help="how long to wait for the server (default: 5)")
    p.set_defaults(func=cmd_subscribe)

    p = sub.add_parser(
        "demo", help="engine + gRPC server + client in one command, with live output",
        description="Start an engine with a simulated feed and a gRPC server, subscribe to it with "
                    "the Python client over gRPC (StreamBatches), and print live results and one "
                    "line per second of throughput and latency; a summary at the end.")
    _add_engine_options(p)
    _add_server_options(p, 0)
    p.add_argument("--duration", type=_non_negative(float), default=10.0, metavar="SECONDS",
                   help="how long to run; 0 = until Ctrl-C (default: 10)")
    p.add_argument("--lines-per-second", type=_non_negative(float), default=4.0, metavar="N",
                   help="result lines printed per second, so the terminal stays readable (default: 4)")
    p.add_argument("--policy", choices=("block", "skip", "disconnect"), default="block",
                   help="the client's slow-consumer policy (default: block)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "bench", help="run the benchmark suite (options: mdstream bench --help)",
        description="Run mdstream's benchmarks; the remaining arguments go to the benchmark "
                    "runner (see 'mdstream bench --help').", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the benchmark runner")
    p.set_defaults(func=cmd_bench)
    return parser


# -- output -------------------------------------------------------------------

def format_result(symbol: str, kind: int, price: float, size: float, value: float, vwap: float,
                  volume: float, bid: float, ask: float, seq: int, interval_ns: int = 0) -> str:
    """One result in the original project's style: '[PY] AAPL -> 1500.00 ...'."""
    if kind == 1:
        return f"[PY] {symbol} -> quote {bid:.2f} / {ask:.2f}  seq={seq}"
    if kind == 2:
        return (f"[PY] {symbol} -> bar {interval_ns / 1e9:g}s close={price:.2f} vwap={vwap:.2f} "
                f"vol={volume:,.0f}  seq={seq}")
    return (f"[PY] {symbol} -> {value:.2f}  px={price:.2f} size={size:g} vwap={vwap:.2f} "
            f"vol={volume:,.0f}  seq={seq}")


def _row_line(batch, i: int) -> str:
    r = batch.rows[i]
    name = batch.symbols[int(r["symbol_id"])]
    return format_result(name, int(r["kind"]), r["price"], r["size"], r["value"], r["vwap"],
                         r["volume"], r["bid"], r["ask"], int(r["seq"]), int(r["interval_ns"])
                         if "interval_ns" in r.dtype.names else 0)


class LatencyMeter:
    """Engine-receive -> client latency samples: per interval and overall (bounded)."""

    def __init__(self, keep: int = 1_000_000):
        self.keep = keep
        self.interval: list[np.ndarray] = []
        self.all: list[np.ndarray] = []
        self.kept = 0

    def add(self, recv_ns: np.ndarray, now_ns: int) -> None:
        """Results received at now_ns, by the engine's receive times."""
        self.add_latencies(now_ns - recv_ns)

    def add_latencies(self, lat: np.ndarray) -> None:
        self.interval.append(lat)
        if self.kept < self.keep:
            self.all.append(lat)
            self.kept += len(lat)
        elif len(lat):
            # Past the bound, keep a thin sample so the summary still sees the end.
            self.all.append(lat[:: max(1, len(lat) // 8)])

    @staticmethod
    def percentiles(chunks: list[np.ndarray]) -> tuple[float, float, float] | None:
        if not chunks:
            return None
        lat = np.concatenate(chunks)
        if not len(lat):
            return None
        p50, p99 = np.percentile(lat, [50, 99])
        return p50 / 1e6, p99 / 1e6, lat.max() / 1e6

    def take_interval(self):
        out = self.percentiles(self.interval)
        self.interval = []
        return out

    def overall(self):
        return self.percentiles(self.all)


def _fmt_latency(p) -> str:
    if p is None:
        return "latency -"
    return f"latency p50 {p[0]:.2f} ms p99 {p[1]:.2f} ms max {p[2]:.2f} ms"


def _error(message: str) -> int:
    print(f"mdstream: error: {message}", file=sys.stderr, flush=True)
    return EXIT_ERROR


def _sigterm_as_interrupt() -> None:
    """Let SIGTERM stop a command like Ctrl-C does (main thread only)."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _make_engine(args):
    from mdstream import Engine, SimulatedFeed

    feed = SimulatedFeed(symbols=args.symbols, rate=args.rate, seed=args.seed, count=args.count,
                         quote_ratio=args.quote_ratio)
    return Engine(feed=feed, workers=args.workers, ring_size=args.ring_size)


# -- commands -----------------------------------------------------------------

def cmd_serve(args) -> int:
    """mdstream serve: engine + gRPC server until Ctrl-C / SIGTERM."""
    from mdstream.errors import MDStreamError
    from mdstream.server import PortInUseError, serve

    try:
        engine = _make_engine(args)
    except MDStreamError as exc:
        return _error(str(exc))

    def ready(server):
        print(f"gRPC server listening on {server.address}", flush=True)
        print(f"serving {len(args.symbols)} symbols ({','.join(args.symbols)}) at "
              f"{'max' if args.rate == 0 else f'{args.rate:,.0f}'} ticks/s with {args.workers} "
              "workers; Ctrl-C to stop", flush=True)

    started = time.monotonic()
    try:
        server = serve(engine, args.host, args.port, grace=args.grace, on_ready=ready,
                       max_streams=args.max_streams)
    except PortInUseError as exc:
        engine.stop()
        return _error(str(exc))
    stats = engine.stats()
    print(f"stopped after {time.monotonic() - started:.1f} s: {stats.processed:,} ticks processed, "
          f"{server.servicer.streams_served} streams served", flush=True)
    return 0


def cmd_subscribe(args) -> int:
    """mdstream subscribe: print the results of a server's stream."""
    from mdstream.client import Client, RemoteError
    from mdstream.errors import MDStreamError

    _sigterm_as_interrupt()
    client = Client(args.target)
    meter = LatencyMeter()
    received = 0
    frames = 0
    missed = 0
    start = time.monotonic()
    end_reason = "the stream ended"
    stream = None
    pending: list[int] = []
    try:
        client.wait_ready(args.connect_timeout)
        start = time.monotonic()
        deadline = start + args.duration if args.duration > 0 else None
        if args.batches:
            stream = client.stream_batches(args.symbols, args.policy, max_ticks_per_frame=args.max_frame,
                                           max_wait=args.max_wait / 1000.0, heartbeats=True)
            for batch in stream:
                now = time.time_ns()
                frames += 1
                if batch.gap is not None:
                    missed += batch.gap.missed
                    if not args.quiet:
                        print(f"[PY] gap: {batch.gap.missed:,} results skipped "
                              f"(seq {batch.gap.from_seq} to {batch.gap.to_seq})", flush=True)
                n = len(batch)
                if args.limit:
                    n = min(n, args.limit - received)
                if n:
                    meter.add(batch.rows["recv_ns"][:n], now)
                    if not args.quiet:
                        print("\n".join(_row_line(batch, i) for i in range(n)), flush=True)
                    received += n
                if args.limit and received >= args.limit:
                    end_reason = f"--limit {args.limit} reached"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    end_reason = f"--duration {args.duration:g} s reached"
                    break
        else:
            stream = client.stream_results(args.symbols, args.policy)
            pending.clear()                 # latencies, handed to the meter in chunks
            for m in stream:
                now = time.time_ns()
                frames += 1
                missed += m.missed_before
                pending.append(now - m.recv_ns)
                if len(pending) >= 4096:
                    meter.add_latencies(np.asarray(pending, dtype=np.int64))
                    pending.clear()
                if not args.quiet:
                    print(format_result(m.symbol, m.kind, m.price, m.size, m.value, m.vwap,
                                        m.volume, m.bid, m.ask, m.seq, m.interval_ns), flush=True)
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
        if exc.code.name == "UNAVAILABLE" and received == 0 and frames == 0:
            client.close()
            return _error(f"cannot reach an mdstream server at {args.target}: {exc.details}")
        client.close()
        return _error(f"the stream failed after {received:,} results: {exc}")
    except MDStreamError as exc:
        client.close()
        return _error(str(exc))
    finally:
        if stream is not None:
            stream.cancel()
        if not args.batches and pending:
            meter.add_latencies(np.asarray(pending, dtype=np.int64))
    client.close()
    elapsed = max(time.monotonic() - start, 1e-9)
    kind = "frames" if args.batches else "messages"
    print(f"summary: {received:,} results in {elapsed:.2f} s ({received / elapsed:,.0f}/s), "
          f"{frames:,} {kind}, {missed:,} missed; {_fmt_latency(meter.overall())} "
          f"(engine receive -> client); {end_reason}", flush=True)
    return 0


def cmd_demo(args) -> int:
    """mdstream demo: engine + server + in-process gRPC client, live output."""
    from mdstream.client import Client
    from mdstream.errors import MDStreamError
    from mdstream.server import PortInUseError, Server

    _sigterm_as_interrupt()
    try:
        engine = _make_engine(args)
        server = Server(engine, args.host, args.port, max_streams=args.max_streams).start()
    except PortInUseError as exc:
        return _error(str(exc))
    except MDStreamError as exc:
        return _error(str(exc))
    rate = "as fast as possible" if args.rate == 0 else f"{args.rate:,.0f} ticks/s"
    print(f"mdstream demo: simulated feed ({len(args.symbols)} symbols, {rate}) -> engine "
          f"({args.workers} workers) -> gRPC StreamBatches -> Python client", flush=True)
    print(f"gRPC server listening on {server.address}", flush=True)
    client = Client(server.address)
    stream = client.stream_batches(policy=args.policy, heartbeats=True, max_wait=0.002)
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
        while server.servicer.active_streams < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        engine.start()
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
                    print(_row_line(batch, i), flush=True)
                    last_print = now
            if now - tick_mark >= 1.0:
                span = now - tick_mark
                stats = engine.stats()
                eng_rate = (stats.processed - processed_mark) / span
                processed_mark = stats.processed
                print(f"[{now - start:4.0f}s] received {interval_received / span:,.0f} ticks/s in "
                      f"{interval_frames / span:,.0f} frames/s, {_fmt_latency(meter.take_interval())}"
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
        server.stop(args.grace)
        engine.stop()
        client.close()
    stats = engine.stats()
    print(f"summary: {received:,} ticks received over gRPC in {elapsed:.1f} s "
          f"({received / max(elapsed, 1e-9):,.0f}/s) in {frames:,} frames, {missed:,} missed; "
          f"{_fmt_latency(meter.overall())} (engine receive -> client); engine processed "
          f"{stats.processed:,}; {end_reason}", flush=True)
    return 0


def cmd_bench(args) -> int:
    """mdstream bench: hand over to the benchmark runner."""
    try:
        from mdstream import benchmarking
    except ImportError as exc:
        return _error(f"the benchmark runner is not available in this installation ({exc})")
    rc = benchmarking.main(list(args.args))
    return int(rc or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the mdstream command; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        # Everything after 'bench' (--help included) belongs to the benchmark runner.
        return cmd_bench(argparse.Namespace(args=argv[1:]))
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mdstream subscribe | head`: the reader left, which is not an error.
        # Point stdout at devnull so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
