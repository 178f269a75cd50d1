"""The ``mdstream`` command: serve, subscribe, demo and bench.

    mdstream serve --port 50051 --symbols AAPL,MSFT --rate 100000
    mdstream serve --feed csv:trades.csv --speed 10 --bars 1s,1m --journal /var/lib/mdstream \
                   --metrics-port 9100 --dashboard-port 8080
    mdstream subscribe --target 127.0.0.1:50051 --symbols AAPL --limit 10
    mdstream stats --target 127.0.0.1:50051        # live view; --once for one table
    mdstream demo                      # engine + server + client, 10 s
    mdstream bench ...                 # the benchmark suite

Every subcommand has --help. Errors a user can fix (a port in use, a server
that is not there, an unknown symbol) are one line on stderr and a non-zero
exit status, not a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import logging
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
        if value < 0 or value != value:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value
    return parse


def _positive(kind):
    def parse(text: str):
        value = _non_negative(kind)(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
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


def _duration_s(text: str) -> float:
    """Seconds, as a number or with a unit: 90, 500ms, 15m, 1h."""
    from mdstream.durations import parse_duration_ns
    from mdstream.errors import InvalidArgumentError

    try:
        return parse_duration_ns(float(text) if _is_number(text) else text) / 1e9
    except InvalidArgumentError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (seconds, or a number and a unit: 500ms, 15m, 1h)") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


MAX_BARS = 4
MAX_BAR_NS = 86_400 * 10**9


def _bars(text: str) -> list[str]:
    """Bar intervals such as 1s,1m (checked here, given to the engine as written)."""
    from mdstream.durations import parse_duration_ns
    from mdstream.errors import InvalidArgumentError

    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one interval, e.g. 1s,1m")
    if len(items) > MAX_BARS:
        raise argparse.ArgumentTypeError(f"at most {MAX_BARS} bar intervals, got {len(items)}")
    out, seen = [], set()
    for item in items:
        value = float(item) if _is_number(item) else item
        try:
            ns = parse_duration_ns(value)
        except InvalidArgumentError:
            raise argparse.ArgumentTypeError(
                f"not a bar interval: {item!r} (e.g. 500ms, 1s, 1m, 1h; a number is seconds)") from None
        if ns > MAX_BAR_NS:
            raise argparse.ArgumentTypeError(f"bar interval {item!r} is too long: at most 1 day")
        if ns in seen:
            raise argparse.ArgumentTypeError(f"bar intervals must be distinct: {text}")
        seen.add(ns)
        out.append(value)
    return out


class FeedSpec:
    """--feed: ``sim`` or ``csv:PATH[,PATH...]``."""

    def __init__(self, kind: str, paths: list[str]):
        self.kind = kind
        self.paths = paths

    def __repr__(self) -> str:
        return "sim" if self.kind == "sim" else "csv:" + ",".join(self.paths)


def _feed(text: str) -> FeedSpec:
    if text == "sim":
        return FeedSpec("sim", [])
    if text.startswith("csv:"):
        paths = [p for p in text[4:].split(",") if p]
        if not paths:
            raise argparse.ArgumentTypeError("csv: needs at least one file, e.g. csv:trades.csv")
        return FeedSpec("csv", paths)
    raise argparse.ArgumentTypeError(
        f"unknown feed {text!r}: use 'sim' (simulated) or 'csv:PATH[,PATH...]' (recorded data)")


def _csv_presets() -> list[str]:
    from mdstream.feeds.csv.format import PRESETS
    return sorted(PRESETS)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument("--workers", type=_positive_int, default=2, metavar="N",
                   help="engine worker threads (default: 2)")
    g.add_argument("--ring-size", type=_positive_int, default=1 << 16, metavar="N",
                   help="results the engine keeps for subscribers that fall behind or resume "
                        "from a sequence number, a power of two (default: 65536)")
    g.add_argument("--bars", type=_bars, default=None, metavar="LIST",
                   help="OHLCV bar intervals by event time, e.g. 1s,1m (up to 4; a number is "
                        "seconds); bars reach subscribers as results of kind BAR "
                        "(default: no bars)")

    g = p.add_argument_group("simulated feed (--feed sim)")
    g.add_argument("--symbols", type=_symbols, default=None, metavar="LIST",
                   help=f"comma-separated symbols the simulated feed trades "
                        f"(default: {DEFAULT_SYMBOLS})")
    g.add_argument("--rate", type=_non_negative(float), default=100_000.0, metavar="TICKS_PER_S",
                   help="ticks per second the feed generates; 0 = as fast as the engine takes them "
                        "(default: 100000)")
    g.add_argument("--seed", type=_non_negative(int), default=7,
                   help="random seed of the simulated feed (default: 7)")
    g.add_argument("--count", type=_non_negative(int), default=0,
                   help="ticks to generate in all, then the data ends; 0 = no end (default: 0)")
    g.add_argument("--quote-ratio", type=float, default=0.2, metavar="R",
                   help="share of ticks that are quotes, 0 to 1 (default: 0.2)")


def _add_feed_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("feed")
    g.add_argument("--feed", type=_feed, default=FeedSpec("sim", []), metavar="SPEC",
                   help="where ticks come from: 'sim' (a simulated random walk) or "
                        "'csv:PATH[,PATH...]' (recorded trades and quotes, plain or gzip CSV; "
                        "several files are merged by timestamp) (default: sim)")
    g = p.add_argument_group("recorded data (--feed csv:...)")
    g.add_argument("--speed", type=_non_negative(float), default=None, metavar="X",
                   help="replay pace: 1 = as recorded, 10 = ten times faster, 0 = as fast as "
                        "possible (default: 1)")
    g.add_argument("--loop", action="store_true",
                   help="replay the data again and again, shifted in time so event times keep "
                        "increasing (default: once, then the data ends and the server keeps "
                        "serving)")
    g.add_argument("--symbol", default=None, metavar="NAME",
                   help="the symbol of every row, for files without a symbol column, e.g. "
                        "USDJPY for a TrueFX file (default: from the file's symbol column)")
    g.add_argument("--preset", default=None, choices=_csv_presets(),
                   help="the files' format (default: recognised from the header row)")
    g.add_argument("--on-bad-row", default=None, choices=("raise", "skip"),
                   help="a malformed row stops the server with an error naming file and line "
                        "(raise), or is skipped and counted (skip) (default: raise)")


def _add_journal_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("journal (durable results, resume after a restart)")
    g.add_argument("--journal", default=None, metavar="DIR",
                   help="append every result to segment files in DIR; on restart the engine "
                        "recovers from them (continues the sequence, cuts a torn tail) and "
                        "subscribers can resume from any journaled sequence number "
                        "(default: no journal)")
    g.add_argument("--durability", default="write", choices=("write", "interval", "fsync"),
                   help="write: each block handed to the OS before subscribers see it (survives "
                        "a process crash); interval: also fsync every --fsync-interval-ms; fsync: "
                        "fsync every block before subscribers see it (survives a power loss) "
                        "(default: write)")
    g.add_argument("--fsync-interval-ms", type=_positive(float), default=100.0, metavar="MS",
                   help="with --durability interval: time between fsyncs (default: 100)")
    g.add_argument("--segment-mb", type=_positive(float), default=64.0, metavar="MIB",
                   help="start a new segment file past this size, at least 0.0625 (default: 64)")
    g.add_argument("--retain-mb", type=_positive(float), default=None, metavar="MIB",
                   help="delete the oldest segments while the journal is larger than this "
                        "(default: keep everything)")
    g.add_argument("--retain-age", type=_duration_s, default=None, metavar="AGE",
                   help="delete segments whose last write is older than this: seconds, or with a "
                        "unit: 30m, 1h, 168h (default: keep everything)")


def _add_server_options(p: argparse.ArgumentParser, default_port: int) -> None:
    g = p.add_argument_group("gRPC server")
    g.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (gRPC, metrics and dashboard); 0.0.0.0 for every "
                        "interface (default: 127.0.0.1)")
    g.add_argument("--port", type=_port, default=default_port,
                   help=f"port to listen on; 0 picks a free port (default: {default_port})")
    g.add_argument("--max-streams", type=_positive_int, default=64, metavar="N",
                   help="streams served at once; more get RESOURCE_EXHAUSTED (default: 64)")
    g.add_argument("--grace", type=_non_negative(float), default=2.0, metavar="SECONDS",
                   help="on shutdown, how long calls in flight may take (default: 2)")


def _add_observability_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("metrics and dashboard")
    g.add_argument("--metrics-port", type=_port, default=None, metavar="PORT",
                   help="serve Prometheus metrics at http://HOST:PORT/metrics: engine counters, "
                        "latency percentiles per stage, subscribers' lag, gRPC bytes and messages "
                        "sent per RPC, subscribers connected; 0 picks a free port (default: off)")
    g.add_argument("--dashboard-port", type=_port, default=None, metavar="PORT",
                   help="serve the live web dashboard (throughput, latency, subscribers' lag, a "
                        "price chart) at http://HOST:PORT/; 0 picks a free port (default: off)")


def _add_target_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default="127.0.0.1:50051",
                   help="HOST:PORT of the server (default: 127.0.0.1:50051)")
    p.add_argument("--connect-timeout", type=_non_negative(float), default=5.0, metavar="SECONDS",
                   help="how long to wait for the server (default: 5)")


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
        "serve", help="run an engine (simulated or recorded data) and serve it over gRPC",
        description="Run an engine fed by the simulated feed or by recorded CSV data, and serve "
                    "it over gRPC (mdstream.v1.MDStream, plus health and reflection). Prints "
                    "'gRPC server listening on HOST:PORT' once it accepts connections. When a "
                    "finite feed ends (a CSV replay without --loop, or --count), it prints that "
                    "the data ended and keeps serving, so late clients can still take a snapshot "
                    "or resume from a sequence number. Stops cleanly on Ctrl-C or SIGTERM.")
    _add_feed_options(p)
    _add_engine_options(p)
    _add_journal_options(p)
    _add_server_options(p, 50051)
    _add_observability_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "subscribe", help="subscribe to a server and print the results",
        description="Subscribe to an mdstream server and print results as they arrive "
                    "('[PY] AAPL -> 1500.00 ...', quotes, and bars as "
                    "'[PY] AAPL 1m bar ... o= h= l= c= v='), then a summary: results, rate, and "
                    "the receive latency (engine receive -> this client) p50/p99/p999/max.")
    _add_target_option(p)
    p.add_argument("--symbols", type=_symbols, default=None, metavar="LIST",
                   help="comma-separated symbols to receive (default: all)")
    p.add_argument("--policy", choices=("block", "skip", "disconnect"), default="block",
                   help="what the server does if this client falls behind (default: block)")
    p.add_argument("--from-seq", type=_non_negative(int), default=None, metavar="SEQ",
                   help="start at this sequence number (replayed from the server's ring or "
                        "journal, then live); 0 = from the first result (default: the next "
                        "result)")
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
    p.set_defaults(func=cmd_subscribe)

    p = sub.add_parser(
        "stats", help="live view of a server's statistics (rates, latency, subscribers)",
        description="Show a server's statistics (the GetStats RPC) in the terminal, refreshed "
                    "in place: throughput (now and on average), latency percentiles per stage "
                    "of the data path, each subscriber with its lag, the channels and the "
                    "journal. Ctrl-C to leave. With --once, print one table and exit (for "
                    "scripts).")
    _add_target_option(p)
    p.add_argument("--interval", type=_positive(float), default=1.0, metavar="SECONDS",
                   help="time between refreshes (default: 1)")
    p.add_argument("--once", action="store_true",
                   help="print the statistics once and exit")
    p.set_defaults(func=cmd_stats)

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

KIND_TRADE, KIND_QUOTE, KIND_BAR = 0, 1, 2
#: The fields a printed result uses.
RESULT_FIELDS = ("seq", "kind", "ts_ns", "price", "size", "value", "vwap", "volume", "bid", "ask",
                 "bid_size", "ask_size", "open", "high", "low", "trade_count", "interval_ns")


def _px(x: float) -> str:
    """A price: two decimals, or as many as it has (up to 6), e.g. 86.655."""
    x = float(x)
    if x != x:
        return "-"
    if abs(x - round(x, 2)) < 1e-9 * max(1.0, abs(x)):
        return f"{x:.2f}"
    return f"{x:.6f}".rstrip("0")


def _qty(x: float) -> str:
    """A size or volume: 1,200 or 0.132."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:,.6f}".rstrip("0")


def _bar_start(ts_ns: int, interval_ns: int) -> str:
    t = datetime.datetime.fromtimestamp(ts_ns / 1e9, tz=datetime.timezone.utc)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if interval_ns % 1_000_000_000:
        text += f".{t.microsecond // 1000:03d}"
    return text


def format_result(symbol: str, r) -> str:
    """One result in the original project's style: '[PY] AAPL -> 1500.00 ...'.

    ``r`` gives the fields of RESULT_FIELDS by ``r[name]`` (a row of a
    batch, or a dict).
    """
    from mdstream.durations import format_duration_ns

    kind = int(r["kind"])
    seq = int(r["seq"])
    if kind == KIND_QUOTE:
        bid = _px(r["bid"]) + (f" x {_qty(r['bid_size'])}" if r["bid_size"] else "")
        ask = _px(r["ask"]) + (f" x {_qty(r['ask_size'])}" if r["ask_size"] else "")
        return f"[PY] {symbol} -> quote {bid} / {ask}  seq={seq}"
    if kind == KIND_BAR:
        interval = int(r["interval_ns"])
        return (f"[PY] {symbol} {format_duration_ns(interval) if interval > 0 else '?'} bar "
                f"{_bar_start(int(r['ts_ns']), interval)} o={_px(r['open'])} h={_px(r['high'])} "
                f"l={_px(r['low'])} c={_px(r['price'])} v={_qty(r['volume'])} "
                f"vwap={_px(r['vwap'])} n={int(r['trade_count']):,}  seq={seq}")
    return (f"[PY] {symbol} -> {r['value']:,.2f}  px={_px(r['price'])} size={_qty(r['size'])} "
            f"vwap={_px(r['vwap'])} vol={_qty(r['volume'])}  seq={seq}")


def _row_line(batch, i: int) -> str:
    r = batch.rows[i]
    return format_result(batch.symbols[int(r["symbol_id"])], r)


def _message_line(m) -> str:
    return format_result(m.symbol, {name: getattr(m, name) for name in RESULT_FIELDS})


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
    def percentiles(chunks: list[np.ndarray]) -> tuple[float, float, float, float] | None:
        """(p50, p99, p999, max) in ms, or None without samples."""
        if not chunks:
            return None
        lat = np.concatenate(chunks)
        if not len(lat):
            return None
        p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
        return p50 / 1e6, p99 / 1e6, p999 / 1e6, lat.max() / 1e6

    def take_interval(self):
        out = self.percentiles(self.interval)
        self.interval = []
        return out

    def overall(self):
        return self.percentiles(self.all)


def _fmt_latency(p) -> str:
    if p is None:
        return "latency -"
    return f"latency p50 {p[0]:.2f} ms p99 {p[1]:.2f} ms p999 {p[2]:.2f} ms max {p[3]:.2f} ms"


def _error(message: str) -> int:
    print(f"mdstream: error: {message}", file=sys.stderr, flush=True)
    return EXIT_ERROR


def _sigterm_as_interrupt() -> None:
    """Let SIGTERM stop a command like Ctrl-C does (main thread only)."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _check_feed_options(args) -> None:
    """Options of one feed given with the other are mistakes: say so."""
    if args.feed.kind == "sim":
        given = [opt for opt, value in (("--speed", args.speed), ("--loop", args.loop or None),
                                        ("--symbol", args.symbol), ("--preset", args.preset),
                                        ("--on-bad-row", args.on_bad_row))
                 if value is not None]
        if given:
            raise CommandError(f"{', '.join(given)}: options of recorded data; add "
                               "--feed csv:PATH to replay a file")
    elif args.symbols is not None:
        raise CommandError("--symbols is an option of the simulated feed; a CSV replay takes its "
                           "symbols from the files (or --symbol NAME for files without a "
                           "symbol column)")


def _journal_config(args):
    from mdstream.journal import JournalConfig

    if getattr(args, "journal", None) is None:
        return None
    return JournalConfig(
        args.journal, durability=args.durability, fsync_interval_ms=args.fsync_interval_ms,
        segment_bytes=int(args.segment_mb * (1 << 20)),
        retain_bytes=None if args.retain_mb is None else int(args.retain_mb * (1 << 20)),
        retain_age_s=args.retain_age)


def _make_feed(args):
    from mdstream import CSVFeed, SimulatedFeed

    feed = getattr(args, "feed", None)
    if feed is not None and feed.kind == "csv":
        return CSVFeed(feed.paths, preset=args.preset, symbol=args.symbol,
                       speed=1.0 if args.speed is None else args.speed, loop=args.loop,
                       on_bad_row=args.on_bad_row or "raise")
    return SimulatedFeed(symbols=args.symbols or _symbols(DEFAULT_SYMBOLS), rate=args.rate,
                         seed=args.seed, count=args.count, quote_ratio=args.quote_ratio)


def _make_engine(args):
    from mdstream import Engine

    return Engine(feed=_make_feed(args), workers=args.workers, ring_size=args.ring_size,
                  bars=args.bars or (), journal=_journal_config(args))


def _journal_line(engine, directory: str) -> str:
    """What the start found in the journal directory."""
    r = engine.stats().journal
    if r.recovered_segments == 0:
        return f"journal {directory}: new ({r.durability} durability)"
    held = "" if r.oldest_seq is None else f"seq {r.oldest_seq:,} to {r.next_seq - 1:,} "
    line = (f"journal {directory}: recovered {held}from {_plural(r.recovered_segments, 'segment')} "
            f"({_plural(r.recovered_results, 'result')} replayed into the analytics), continuing at seq "
            f"{r.next_seq:,}")
    if r.torn_bytes_cut:
        line += f"; cut a torn tail of {r.torn_bytes_cut:,} bytes from {r.torn_file}"
    else:
        line += "; no torn tail"
    return line


def _feed_line(engine, args) -> str:
    feed = engine.feed
    symbols = list(feed.symbols)
    shown = ",".join(symbols[:8]) + (f",... ({len(symbols)} in all)" if len(symbols) > 8 else "")
    if args.feed.kind == "csv":
        files = ", ".join(f"{os.path.basename(p)} ({fmt.name or fmt.kind})"
                          for p, fmt in zip(feed.paths, feed.formats))
        pace = ("as fast as possible" if feed.speed == 0 else "at the recorded pace"
                if feed.speed == 1 else f"at {feed.speed:g}x the recorded pace")
        bad = f" ({_plural(feed.bad_rows, 'bad row')} skipped)" if feed.bad_rows else ""
        return (f"replaying {feed.rows:,} rows{bad} of {_plural(len(symbols), 'symbol')} "
                f"({shown}) from {files} {pace}{', looping' if feed.loop else ''}")
    rate = "max" if args.rate == 0 else f"{args.rate:,.0f}"
    count = f", {args.count:,} ticks in all" if args.count else ""
    return f"simulating {len(symbols)} symbols ({shown}) at {rate} ticks/s{count}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class _LineFormatter(logging.Formatter):
    """Log records as 'mdstream: warning: ...', like the command's own errors."""

    def format(self, record: logging.LogRecord) -> str:
        return f"mdstream: {record.levelname.lower()}: {record.getMessage()}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class _DataEndWatcher:
    """Prints once when a finite feed's data has all been processed (or the
    feed failed); the server goes on serving."""

    def __init__(self, engine, started: float):
        self.engine = engine
        self.started = started
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mdstream-cli-data-end", daemon=True)

    def start(self) -> "_DataEndWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def _ended(self) -> bool:
        if not self.engine.finished:
            return False
        # With a journal, results become visible once journaled: wait for all.
        st = self.engine.stats()
        return st.results >= st.ticks_in

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                if not self._ended():
                    continue
            except Exception:   # noqa: BLE001 - the engine is stopping
                return
            error = getattr(self.engine.feed, "error", None)
            st = self.engine.stats()
            if error is not None:
                self.failed = error
                print(f"mdstream: error: the feed stopped: {error}", file=sys.stderr, flush=True)
                print(f"the data ended early after {st.processed:,} ticks; still serving what "
                      "came before; Ctrl-C to stop", flush=True)
                return
            feed = self.engine.feed
            rows = (f"{feed.published:,} rows replayed, " if hasattr(feed, "published") else "")
            bad = f", {_plural(st.bad_rows, 'bad row')} skipped" if st.bad_rows else ""
            print(f"the data ended: {rows}{st.processed:,} results (ticks and bars){bad} in "
                  f"{time.monotonic() - self.started:.1f} s, last seq {st.results - 1:,}; still "
                  "serving (late clients can take a snapshot or resume with --from-seq); "
                  "Ctrl-C to stop", flush=True)
            return


# -- commands -----------------------------------------------------------------

def cmd_serve(args) -> int:
    """mdstream serve: engine + gRPC server until Ctrl-C / SIGTERM."""
    from mdstream.errors import MDStreamError
    from mdstream.grpc.server import PortInUseError, serve

    # Warnings of the library (a torn journal tail cut, bad rows skipped) as
    # one line each, like the command's own messages.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        _check_feed_options(args)
    except CommandError as exc:
        return _error(str(exc))
    try:
        engine = _make_engine(args)
    except MDStreamError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{exc.filename or ''}: {exc.strerror}" if exc.strerror else str(exc))
    if args.journal is not None:
        print(_journal_line(engine, args.journal), flush=True)

    holder: dict = {}
    closers: list = []

    def server_families():
        server = holder.get("server")
        return server.servicer.send_counters.metric_families() if server is not None else ()

    try:
        # Bind the HTTP endpoints before anything starts, so a port in use
        # is an error at once.
        if args.metrics_port is not None:
            from mdstream.observe.metrics import start_metrics_server

            http, _thread = start_metrics_server(engine, args.metrics_port, args.host,
                                                 extra=server_families)
            closers.append(lambda: (http.shutdown(), http.server_close()))
            holder["metrics"] = (f"http://{_url_host(args.host)}:{http.server_port}/metrics")
        if args.dashboard_port is not None:
            from mdstream.observe.dashboard import Dashboard

            dashboard = Dashboard(engine, args.dashboard_port, args.host).start()
            closers.append(dashboard.stop)
            holder["dashboard"] = dashboard.url
    except OSError as exc:
        for close in reversed(closers):
            close()
        _stop_quietly(engine)
        which = "metrics" if "metrics" not in holder and args.metrics_port is not None else "dashboard"
        port = args.metrics_port if which == "metrics" else args.dashboard_port
        return _error(f"cannot serve the {which} on {args.host}:{port}: {exc.strerror or exc}"
                      + (" (pick another port, or 0 for a free one)"
                         if exc.errno == errno.EADDRINUSE else ""))

    started = time.monotonic()
    watcher = _DataEndWatcher(engine, started)

    def ready(server):
        holder["server"] = server
        print(f"gRPC server listening on {server.address}", flush=True)
        print(f"{_feed_line(engine, args)} with {args.workers} workers"
              + (f", bars {','.join(_bar_names(engine))}" if args.bars else "")
              + "; Ctrl-C to stop", flush=True)
        if "metrics" in holder:
            print(f"Prometheus metrics at {holder['metrics']}", flush=True)
        if "dashboard" in holder:
            print(f"dashboard at {holder['dashboard']}", flush=True)
        watcher.start()

    status = 0
    try:
        server = serve(engine, args.host, args.port, grace=args.grace, on_ready=ready,
                       max_streams=args.max_streams)
    except PortInUseError as exc:
        _stop_quietly(engine)
        return _error(str(exc))
    except MDStreamError as exc:
        # The feed's error, raised again by engine.stop() (already reported
        # by the watcher if it saw it).
        server = holder.get("server")
        if watcher.failed is None:
            _error(f"the feed stopped: {exc}")
        status = EXIT_ERROR
    finally:
        watcher.stop()
        for close in reversed(closers):
            close()
    if watcher.failed is not None:
        status = EXIT_ERROR
    stats = engine.stats()
    served = server.servicer.streams_served if server is not None else 0
    print(f"stopped after {time.monotonic() - started:.1f} s: {stats.processed:,} results processed, "
          f"{served} streams served", flush=True)
    return status


def _bar_names(engine) -> list[str]:
    from mdstream.durations import format_duration_ns
    return [format_duration_ns(ns) for ns in engine.bar_intervals_ns]


def _stop_quietly(engine) -> None:
    try:
        engine.stop()
    except Exception:   # noqa: BLE001 - an error of the feed, already reported
        pass


def cmd_stats(args) -> int:
    """mdstream stats: the live terminal view of a server's statistics."""
    from mdstream.grpc.client import Client, RemoteError
    from mdstream.errors import MDStreamError
    from mdstream.observe.stats_view import run

    from rich.console import Console

    _sigterm_as_interrupt()
    # Not a terminal (a pipe, a file): wide enough that the tables are not squeezed.
    console = Console() if sys.stdout.isatty() else Console(width=160, color_system=None)
    client = Client(args.target)
    try:
        client.wait_ready(args.connect_timeout)
        run(client.get_stats, args.target, interval=args.interval, once=args.once,
            console=console)
    except RemoteError as exc:
        if exc.code.name == "UNAVAILABLE":
            return _error(f"cannot reach an mdstream server at {args.target}: {exc.details}")
        if exc.code.name == "UNIMPLEMENTED":
            return _error(f"the server at {args.target} does not serve GetStats (an older "
                          "mdstream?)")
        return _error(str(exc))
    except MDStreamError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0


def cmd_subscribe(args) -> int:
    """mdstream subscribe: print the results of a server's stream."""
    from mdstream.grpc.client import Client, RemoteError
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
                                           max_wait=args.max_wait / 1000.0, heartbeats=True,
                                           from_seq=args.from_seq)
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
            stream = client.stream_results(args.symbols, args.policy, from_seq=args.from_seq)
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
                    print(_message_line(m), flush=True)
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
    from mdstream.grpc.client import Client
    from mdstream.errors import MDStreamError
    from mdstream.grpc.server import PortInUseError, Server

    _sigterm_as_interrupt()
    try:
        engine = _make_engine(args)
        server = Server(engine, args.host, args.port, max_streams=args.max_streams).start()
    except PortInUseError as exc:
        return _error(str(exc))
    except MDStreamError as exc:
        return _error(str(exc))
    rate = "as fast as possible" if args.rate == 0 else f"{args.rate:,.0f} ticks/s"
    print(f"mdstream demo: simulated feed ({len(engine.symbols)} symbols, {rate}) -> engine "
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
