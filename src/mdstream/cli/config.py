"""Parsed options -> a NodeConfig (serve, demo) or a JournalConfig."""

from __future__ import annotations

import argparse

from mdstream.cli.options import DEFAULT_SYMBOLS_TEXT, symbols
from mdstream.cli.process import CommandError
from mdstream.node import NodeConfig
from mdstream.request import DEFAULT_MAX_STREAMS_PER_CLIENT

__all__ = ["node_config", "journal_config", "check_feed_options"]


def check_feed_options(args: argparse.Namespace) -> None:
    """Options of one feed given with the other are mistakes: CommandError."""
    feed = getattr(args, "feed", None)
    if (feed is None or feed.kind == "sim") and getattr(args, "stale_after", None) is not None:
        raise CommandError("--stale-after is an option of live feeds; add --feed "
                           "binance:SYMBOLS (or coinbase:, kraken:, live:...)")
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
        raise CommandError(f"--symbols is an option of the simulated feed; --feed {feed.kind} "
                           "takes its symbols from its own argument or files (a file without a "
                           "symbol column: --symbol NAME)")


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


#: The options a file or live feed may take, as --feed's factory sees them.
_REPLAY_OPTIONS = ("speed", "loop", "symbol", "preset", "on_bad_row", "stale_after")


def _feed_config(args: argparse.Namespace, progress=None):
    """The feed's config from the registry: the simulated feed's options go
    to 'sim', the replay options (those given) to any other feed, which
    refuses those it does not take (InvalidArgumentError). A file replay
    (a FileReplayConfig: CSV, Parquet, DBN) keeps ``progress``
    (a ReplayProgress) up to date, if given."""
    from mdstream.feeds.configs import FileReplayConfig
    from mdstream.feeds.registry import feed_config, feed_factory, unknown_settings

    spec = getattr(args, "feed", None)
    if spec is None or spec.kind == "sim":
        return feed_config(str(spec or "sim"),
                           symbols=args.symbols or symbols(DEFAULT_SYMBOLS_TEXT), rate=args.rate,
                           seed=args.seed, count=args.count, quote_ratio=args.quote_ratio)
    given = {k: getattr(args, k, None) for k in _REPLAY_OPTIONS}
    given = {k: v for k, v in given.items() if v is not None and v is not False}
    unknown = unknown_settings(feed_factory(spec.kind), given)
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise CommandError(f"{flags}: not an option of --feed {spec.kind}")
    config = feed_config(str(spec), **given)
    if progress is not None and isinstance(config, FileReplayConfig):
        config = config.with_progress(progress)
    return config


def node_config(args: argparse.Namespace, progress=None) -> NodeConfig:
    """The NodeConfig of a command's parsed options (serve, demo); a CSV
    replay keeps ``progress`` (a ReplayProgress) up to date, if given.

    Raises CommandError for options that do not go together, and
    InvalidArgumentError (an MDStreamError) for values the node refuses.
    """
    check_feed_options(args)
    return NodeConfig(
        feed=_feed_config(args, progress), workers=args.workers, ring_size=args.ring_size,
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
