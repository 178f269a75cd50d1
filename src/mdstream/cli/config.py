"""Parsed options -> a NodeConfig (serve, demo) or a JournalConfig."""

from __future__ import annotations

import argparse

from mdstream.cli.options import DEFAULT_SYMBOLS_TEXT, symbols
from mdstream.cli.process import CommandError
from mdstream.node import CSVFeedConfig, NodeConfig, SimulatedFeedConfig
from mdstream.request import DEFAULT_MAX_STREAMS_PER_CLIENT

__all__ = ["node_config", "journal_config", "check_feed_options"]


def check_feed_options(args: argparse.Namespace) -> None:
    """Options of one feed given with the other are mistakes: CommandError."""
    feed = getattr(args, "feed", None)
    if feed is None or feed.kind == "sim":
        given = [opt for opt, value in (("--speed", getattr(args, "speed", None)),
                                        ("--loop", getattr(args, "loop", False) or None),
                                        ("--symbol", getattr(args, "symbol", None)),
                                        ("--preset", getattr(args, "preset", None)),
                                        ("--on-bad-row", getattr(args, "on_bad_row", None)))
                 if value is not None]
        if given:
            raise CommandError(f"{', '.join(given)}: options of recorded data; add "
                               "--feed csv:PATH to replay a file")
    elif args.symbols is not None:
        raise CommandError("--symbols is an option of the simulated feed; a CSV replay takes its "
                           "symbols from the files (or --symbol NAME for files without a "
                           "symbol column)")


def journal_config(args: argparse.Namespace):
    """The JournalConfig of --journal and its options, or None without --journal.

    Raises InvalidArgumentError for values the JournalConfig refuses.
    """
    from mdstream.journal import JournalConfig

    if getattr(args, "journal", None) is None:
        return None
    return JournalConfig(
        args.journal, durability=args.durability,
        fsync_interval=args.fsync_interval,
        segment_bytes=int(args.segment_mb * (1 << 20)),
        retain_bytes=None if args.retain_mb is None else int(args.retain_mb * (1 << 20)),
        retain_age_s=args.retain_age,
        on_error="stop" if getattr(args, "on_journal_error", "retry") == "exit" else "retry")


def _feed_config(args: argparse.Namespace):
    spec = getattr(args, "feed", None)
    if spec is not None and spec.kind == "csv":
        return CSVFeedConfig(tuple(spec.paths), speed=1.0 if args.speed is None else args.speed,
                             loop=args.loop, symbol=args.symbol, preset=args.preset,
                             on_bad_row=args.on_bad_row or "raise")
    return SimulatedFeedConfig(symbols=tuple(args.symbols or symbols(DEFAULT_SYMBOLS_TEXT)),
                               rate=args.rate, seed=args.seed, count=args.count,
                               quote_ratio=args.quote_ratio)


def node_config(args: argparse.Namespace) -> NodeConfig:
    """The NodeConfig of a command's parsed options (serve, demo).

    Raises CommandError for options that do not go together, and
    InvalidArgumentError (an MDStreamError) for values the node refuses.
    """
    check_feed_options(args)
    return NodeConfig(
        feed=_feed_config(args), workers=args.workers, ring_size=args.ring_size,
        bars=tuple(args.bars or ()), journal=journal_config(args),
        host=args.host, port=args.port, max_streams=args.max_streams, grace=args.grace,
        metrics_port=getattr(args, "metrics_port", None),
        dashboard_port=getattr(args, "dashboard_port", None),
        metrics_host=getattr(args, "metrics_host", "127.0.0.1"),
        dashboard_host=getattr(args, "dashboard_host", "127.0.0.1"),
        metrics_per_symbol=getattr(args, "metrics_per_symbol", False),
        metrics_max_symbols=getattr(args, "metrics_max_symbols", 1000),
        max_streams_per_client=getattr(args, "max_streams_per_client",
                                       DEFAULT_MAX_STREAMS_PER_CLIENT),
        **security_settings(args))


def security_settings(args: argparse.Namespace) -> dict:
    """The NodeConfig's TLS, token, stats and reflection settings of serve's
    options (MDSTREAM_TOKEN: one token allowed everything)."""
    import os

    from mdstream.grpc.auth import TOKEN_ENV

    if not hasattr(args, "tls_client_ca"):          # a command without them (demo)
        return {}
    return {"tls_cert": args.tls_cert, "tls_key": args.tls_key,
            "tls_client_ca": args.tls_client_ca, "tokens": args.tokens,
            "token": os.environ.get(TOKEN_ENV, "").strip() or None,
            "detailed_stats": args.detailed_stats, "reflection": args.reflection}
