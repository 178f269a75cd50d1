"""Argument types and the option groups several commands share.

Every duration option takes seconds as a bare number, or a number and a
unit (500ms, 2s, 15m, 1h), read by mdstream.durations.parse_duration_ns;
the parsed value is seconds (a float), the unit of the Python API.
"""

from __future__ import annotations

import argparse
import re

from mdstream.node import DEFAULT_SYMBOLS
from mdstream.request import DEFAULT_BLOCK_DEADLINE_S, DEFAULT_MAX_STREAMS_PER_CLIENT

__all__ = [
    "symbols", "non_negative", "positive", "positive_int", "port", "duration", "bars",
    "FeedSpec", "feed", "add_engine_options", "add_feed_options", "add_journal_options",
    "add_server_options", "add_observability_options", "add_target_option",
    "add_security_options", "client_security_kwargs",
    "DEFAULT_SYMBOLS_TEXT", "MAX_BARS", "MAX_BAR_NS",
]

DEFAULT_SYMBOLS_TEXT = ",".join(DEFAULT_SYMBOLS)
MAX_BARS = 4
MAX_BAR_NS = 86_400 * 10**9
_ZERO_WITH_UNIT = re.compile(r"^\s*0+(?:\.0*)?\s*(ns|us|ms|s|min|m|h)\s*$")


# -- argument types ------------------------------------------------------------

def symbols(text: str) -> list[str]:
    """Comma-separated distinct symbol names: 'AAPL,MSFT'."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one symbol, e.g. AAPL,MSFT")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"symbols must be distinct: {text}")
    return names


def non_negative(kind):
    """A type: a number of ``kind`` (int or float), >= 0."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0 or value != value:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value
    return parse


def positive(kind):
    """A type: a number of ``kind`` (int or float), > 0."""
    def parse(text: str):
        value = non_negative(kind)(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    value = non_negative(int)(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: a free one)."""
    value = non_negative(int)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {text}")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def duration(zero: bool = False):
    """A type: a duration in seconds (float), from a number of seconds or a
    number and a unit: 90, 0.5, 500ms, 15m, 1h. With ``zero``, 0 is allowed."""
    def parse(text: str) -> float:
        from mdstream.durations import parse_duration_ns
        from mdstream.errors import InvalidArgumentError

        if zero and (_ZERO_WITH_UNIT.match(text) or (_is_number(text) and float(text) == 0)):
            return 0.0
        try:
            return parse_duration_ns(float(text) if _is_number(text) else text) / 1e9
        except (InvalidArgumentError, ValueError, OverflowError):
            least = ">= 0" if zero else "> 0"
            raise argparse.ArgumentTypeError(
                f"not a duration {least}: {text!r} (seconds, or a number and a unit: 500ms, "
                "15m, 1h)") from None
    return parse


def bars(text: str) -> list:
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
        except (InvalidArgumentError, ValueError, OverflowError):
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
    """--feed: a feed's name and its argument (``csv:a.csv,b.csv`` -> csv, "a.csv,b.csv")."""

    def __init__(self, kind: str, arg: str = ""):
        self.kind = kind
        self.arg = arg

    def __str__(self) -> str:
        return self.kind + (":" + self.arg if self.arg else "")

    __repr__ = __str__


def feed(text: str) -> FeedSpec:
    """--feed: 'sim', 'csv:PATH[,PATH...]' or another feed's 'NAME:ARG'."""
    from mdstream.errors import InvalidArgumentError
    from mdstream.feeds.registry import feed_factory, split_spec

    name, arg = split_spec(text)
    try:
        feed_factory(name)
    except InvalidArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if name == "csv" and not [p for p in arg.split(",") if p]:
        raise argparse.ArgumentTypeError("csv: needs at least one file, e.g. csv:trades.csv")
    return FeedSpec(name, arg)


def _milliseconds_as_seconds(text: str) -> float:
    """A number of milliseconds > 0, as seconds (the hidden --fsync-interval-ms)."""
    return positive(float)(text) / 1000.0


def _csv_presets() -> list[str]:
    from mdstream.feeds.csv.format import PRESETS
    return sorted(PRESETS)


def _bad_row_policies() -> tuple[str, ...]:
    from mdstream.feeds.csv.reader import BAD_ROW_POLICIES
    return BAD_ROW_POLICIES


# -- option groups -------------------------------------------------------------

def add_engine_options(p: argparse.ArgumentParser) -> None:
    """--workers, --ring-size, --bars and the simulated feed's options."""
    g = p.add_argument_group("engine")
    g.add_argument("--workers", type=positive_int, default=2, metavar="N",
                   help="engine worker threads (default: 2)")
    g.add_argument("--ring-size", type=positive_int, default=1 << 16, metavar="RESULTS",
                   help="results the engine keeps for subscribers that fall behind or resume "
                        "from a sequence number, a power of two (default: 65536)")
    g.add_argument("--bars", type=bars, default=None, metavar="LIST",
                   help="OHLCV bar intervals by event time, e.g. 1s,1m (up to 4; a number is "
                        "seconds); bars reach subscribers as results of kind BAR "
                        "(default: no bars)")

    g = p.add_argument_group("simulated feed (--feed sim)")
    g.add_argument("--symbols", type=symbols, default=None, metavar="LIST",
                   help=f"comma-separated symbols the simulated feed trades "
                        f"(default: {DEFAULT_SYMBOLS_TEXT})")
    g.add_argument("--rate", type=non_negative(float), default=100_000.0, metavar="TICKS_PER_S",
                   help="ticks per second the feed generates; 0 = as fast as the engine takes them "
                        "(default: 100000)")
    g.add_argument("--seed", type=non_negative(int), default=7,
                   help="random seed of the simulated feed (default: 7)")
    g.add_argument("--count", type=non_negative(int), default=0, metavar="TICKS",
                   help="ticks to generate in all, then the data ends; 0 = no end (default: 0)")
    g.add_argument("--quote-ratio", type=float, default=0.2, metavar="R",
                   help="share of ticks that are quotes, 0 to 1 (default: 0.2)")


def add_feed_options(p: argparse.ArgumentParser) -> None:
    """--feed and the options of recorded data."""
    g = p.add_argument_group("feed")
    g.add_argument("--feed", type=feed, default=FeedSpec("sim"), metavar="SPEC",
                   help="where ticks come from: 'sim' (a simulated random walk), "
                        "'csv:PATH[,PATH...]' (recorded trades and quotes, plain or gzip CSV; "
                        "several files are merged by timestamp), 'parquet:PATH[,PATH...]' (Parquet "
                        "files or dataset directories), 'dbn:PATH[,PATH...]' (Databento DBN, "
                        ".dbn or .dbn.zst), or NAME:ARG for another feed "
                        "(installed packages add feeds; an unknown NAME lists them) (default: sim)")
    g = p.add_argument_group("recorded data (--feed csv:..., parquet:..., dbn:...)")
    g.add_argument("--speed", type=non_negative(float), default=None, metavar="X",
                   help="replay pace, a factor: 1 = as recorded, 10 = ten times faster, 0 = as "
                        "fast as possible (default: 1)")
    g.add_argument("--loop", action="store_true",
                   help="replay the data again and again, shifted in time so event times keep "
                        "increasing (default: once, then the data ends and the server keeps "
                        "serving)")
    g.add_argument("--symbol", default=None, metavar="NAME",
                   help="the symbol of every row, for files without a symbol column, e.g. "
                        "USDJPY for a TrueFX file (default: from the file's symbol column)")
    g.add_argument("--preset", default=None, choices=_csv_presets(),
                   help="the files' format (default: recognised from the header row)")
    g.add_argument("--on-bad-row", default=None, choices=_bad_row_policies(),
                   help="a malformed row stops the server with an error naming file and line "
                        "(raise), or is skipped and counted (skip) (default: raise)")
    g = p.add_argument_group("live venues (--feed binance:..., coinbase:..., kraken:..., live:...)")
    g.add_argument("--stale-after", type=duration(), default=None, metavar="SECONDS",
                   help="replace a venue connection that delivers no message for this long "
                        "(seconds, or a number and a unit: 30, 2m) (default: 60)")


def add_journal_options(p: argparse.ArgumentParser) -> None:
    """--journal and how it writes and retains."""
    g = p.add_argument_group("journal (durable results, resume after a restart)")
    g.add_argument("--journal", default=None, metavar="DIR",
                   help="append every result to segment files in DIR; on restart the engine "
                        "recovers from them (continues the sequence, cuts a torn tail) and "
                        "subscribers can resume from any journaled sequence number "
                        "(default: no journal)")
    g.add_argument("--durability", default="write", choices=("write", "interval", "fsync"),
                   help="write: each block handed to the OS before subscribers see it (survives "
                        "a process crash); interval: also fsync every --fsync-interval; fsync: "
                        "fsync every block before subscribers see it (survives a power loss) "
                        "(default: write)")
    g.add_argument("--fsync-interval", type=duration(), default=0.1, metavar="DURATION",
                   help="with --durability interval: time between fsyncs, in seconds or with a "
                        "unit, e.g. 20ms (default: 100ms)")
    # The earlier name, in milliseconds: scripts that use it keep working.
    g.add_argument("--fsync-interval-ms", dest="fsync_interval",
                   type=_milliseconds_as_seconds,
                   default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    g.add_argument("--segment-mb", type=positive(float), default=64.0, metavar="MIB",
                   help="start a new segment file past this size in MiB, at least 0.0625 "
                        "(default: 64)")
    g.add_argument("--retain-mb", type=positive(float), default=None, metavar="MIB",
                   help="delete the oldest segments while the journal is larger than this many "
                        "MiB (default: keep everything)")
    g.add_argument("--retain-age", type=duration(), default=None, metavar="AGE",
                   help="delete segments whose last write is older than this: seconds, or with a "
                        "unit: 30m, 1h, 168h (default: keep everything)")
    g.add_argument("--on-journal-error", default="retry", choices=("retry", "exit"),
                   help="when the journal cannot be written (disk full, directory read-only or "
                        "deleted, no file descriptors): streams end UNAVAILABLE, health says "
                        "NOT_SERVING, and retry: keep trying every 0.5 s and take ticks again "
                        "once it can write; exit: stop and exit with status 1 "
                        "(default: retry)")


def add_server_options(p: argparse.ArgumentParser, default_port: int) -> None:
    """--host, --port, --max-streams, --grace."""
    g = p.add_argument_group("gRPC server")
    g.add_argument("--host", default="127.0.0.1",
                   help="address the gRPC server listens on; 0.0.0.0 for every interface "
                        "(default: 127.0.0.1)")
    g.add_argument("--port", type=port, default=default_port,
                   help=f"TCP port to listen on; 0 picks a free port (default: {default_port})")
    g.add_argument("--max-streams", type=positive_int, default=64, metavar="N",
                   help="streaming calls served at once (reflection and health-watch streams "
                        "count too); more get RESOURCE_EXHAUSTED; unary calls and health checks "
                        "are always answered (default: 64)")
    g.add_argument("--max-streams-per-client", type=positive_int,
                   default=DEFAULT_MAX_STREAMS_PER_CLIENT, metavar="N",
                   help="streams one client may hold open: one IP address, or one token when "
                        f"tokens are on; more get RESOURCE_EXHAUSTED (default: {DEFAULT_MAX_STREAMS_PER_CLIENT})")
    g.add_argument("--grace", type=duration(zero=True), default=2.0, metavar="SECONDS",
                   help="on shutdown, how long calls in flight may take, in seconds or with a "
                        "unit (default: 2)")


def policy_list(text: str) -> tuple[str, ...]:
    """--allowed-policies: "skip,disconnect" -> ("skip", "disconnect")."""
    from mdstream.request import POLICIES

    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [p for p in names if p not in POLICIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(POLICIES)}, got {text!r}")
    return names


def add_policy_options(p: argparse.ArgumentParser) -> None:
    """--allowed-policies and --block-deadline (serve)."""
    g = p.add_argument_group("remote subscribers' policies")
    g.add_argument("--allowed-policies", type=policy_list, default=("block", "skip", "disconnect"),
                   metavar="LIST",
                   help="the policies clients may ask for, of block, skip, disconnect; another "
                        "gets PERMISSION_DENIED naming these. A client that asks for none gets "
                        "skip (default: block,skip,disconnect)")
    g.add_argument("--block-deadline", type=duration(zero=True), default=DEFAULT_BLOCK_DEADLINE_S,
                   metavar="DURATION",
                   help="how long a 'block' client may hold the engine back before it is "
                        "disconnected (RESOURCE_EXHAUSTED, SLOW_CONSUMER), in seconds or with a "
                        "unit, e.g. 500ms; 0: no deadline, a stalled client stalls the engine "
                        f"(default: {DEFAULT_BLOCK_DEADLINE_S:g})")


def add_observability_options(p: argparse.ArgumentParser) -> None:
    """--metrics-port, --dashboard-port and where they listen."""
    g = p.add_argument_group("metrics and dashboard")
    g.add_argument("--metrics-port", type=port, default=None, metavar="PORT",
                   help="serve Prometheus metrics at http://HOST:PORT/metrics: engine counters, "
                        "latency histograms and percentiles per stage, subscribers' lag, gRPC bytes and messages "
                        "sent per RPC, subscribers connected; 0 picks a free port (default: off)")
    g.add_argument("--dashboard-port", type=port, default=None, metavar="PORT",
                   help="serve the live web dashboard (throughput, latency, subscribers' lag, a "
                        "price chart) at http://HOST:PORT/; 0 picks a free port (default: off)")
    g.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address the metrics listen on, apart from --host (default: 127.0.0.1, "
                        "loopback only)")
    g.add_argument("--dashboard-host", default="127.0.0.1", metavar="HOST",
                   help="address the dashboard listens on, apart from --host (default: "
                        "127.0.0.1, loopback only)")
    g.add_argument("--metrics-per-symbol", action="store_true",
                   help="add a series per symbol (mdstream_symbol_results{symbol}) to the "
                        "metrics, for at most --metrics-max-symbols symbols (default: off)")
    g.add_argument("--metrics-max-symbols", type=positive_int, default=1000, metavar="N",
                   help="symbols with a series of their own under --metrics-per-symbol, the "
                        "first N by id; the rest add up in mdstream_other_symbol_results "
                        "(default: 1000)")


def add_security_options(p: argparse.ArgumentParser) -> None:
    """TLS, tokens, GetStats detail and reflection (serve)."""
    g = p.add_argument_group("security")
    g.add_argument("--tls-cert", default=None, metavar="PEM",
                   help="serve over TLS with this certificate chain (with --tls-key): gRPC, and "
                        "with serve the metrics and dashboard too (default: plaintext)")
    g.add_argument("--tls-key", default=None, metavar="PEM",
                   help="the private key of --tls-cert (default: none)")
    g.add_argument("--tls-client-ca", default=None, metavar="PEM",
                   help="mutual TLS: clients must present a certificate signed by this CA "
                        "(default: no client certificate)")
    g.add_argument("--tokens", default=None, metavar="FILE",
                   help="bearer tokens clients must send, with the symbols (glob patterns) and "
                        "operations (stream, snapshot, stats, list, trade) and paper accounts each "
                        "allows: a TOML (.toml) or "
                        "JSON file; the environment variable MDSTREAM_TOKEN adds one token "
                        "allowed everything. Health checks need no token (default: no tokens, "
                        "unless MDSTREAM_TOKEN is set)")
    g.add_argument("--detailed-stats", action="store_true",
                   help="without tokens, GetStats lists every subscriber's address, symbols and "
                        "policy to any caller (with tokens: to tokens with the stats right) "
                        "(default: aggregate figures only)")
    g.add_argument("--no-reflection", dest="reflection", action="store_false",
                   help="do not serve gRPC server reflection (default: served)")


def add_target_option(p: argparse.ArgumentParser) -> None:
    """--target and --connect-timeout of the commands that are clients."""
    p.add_argument("--target", default="127.0.0.1:50051",
                   help="HOST:PORT of the server, or several comma-separated (edges serving one "
                        "stream): the first that answers is used (default: 127.0.0.1:50051)")
    p.add_argument("--connect-timeout", type=duration(zero=True), default=5.0, metavar="SECONDS",
                   help="how long to wait for the server, in seconds or with a unit (default: 5)")
    g = p.add_argument_group("connection security")
    g.add_argument("--tls", action="store_true",
                   help="connect over TLS, trusting the system's root CAs (default: plaintext)")
    g.add_argument("--tls-ca", default=None, metavar="PEM",
                   help="connect over TLS, trusting this CA file (implies --tls) (default: none)")
    g.add_argument("--tls-cert", default=None, metavar="PEM",
                   help="mutual TLS: the client's certificate (with --tls-key) (default: none)")
    g.add_argument("--tls-key", default=None, metavar="PEM",
                   help="the private key of --tls-cert (default: none)")
    g.add_argument("--token", default=None, metavar="TOKEN",
                   help="the bearer token to send (default: the environment variable "
                        "MDSTREAM_TOKEN, if set)")


def client_security_kwargs(args: argparse.Namespace) -> dict:
    """The Client keyword arguments of --tls, --tls-ca, --tls-cert, --tls-key and --token."""
    import os

    from mdstream.grpc.auth import TOKEN_ENV

    tls = args.tls_ca or (True if args.tls or args.tls_cert else None)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    return {"tls": tls, "tls_cert": args.tls_cert, "tls_key": args.tls_key, "token": token}
