"""mdstream stats: the live terminal view of a server's statistics (GetStats)."""

from __future__ import annotations

import argparse
import sys

from mdstream.cli import options
from mdstream.cli.process import error, sigterm_as_interrupt

__all__ = ["add_parser", "run"]

DESCRIPTION = (
    "Show a server's statistics (the GetStats RPC) in the terminal, refreshed in place: "
    "throughput (now and on average), latency percentiles per stage of the data path, each "
    "subscriber with its lag, the channels and the journal. Ctrl-C to leave. With --once, print "
    "one table and exit (for scripts).")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the stats command to the subparsers ``sub``."""
    p = sub.add_parser(
        "stats", help="live view of a server's statistics (rates, latency, subscribers)",
        description=DESCRIPTION)
    options.add_target_option(p)
    p.add_argument("--interval", type=options.duration(), default=1.0, metavar="SECONDS",
                   help="time between refreshes, in seconds or with a unit (default: 1)")
    p.add_argument("--once", action="store_true",
                   help="print the statistics once and exit")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """mdstream stats: the live view until Ctrl-C (or one table with --once)."""
    from rich.console import Console

    from mdstream.errors import MDStreamError
    from mdstream.grpc.client import Client, RemoteError
    from mdstream.observe.stats_view import run as run_view

    sigterm_as_interrupt()
    # Not a terminal (a pipe, a file): wide enough that the tables are not squeezed.
    console = Console() if sys.stdout.isatty() else Console(width=160, color_system=None)
    try:
        client = Client(args.target, **options.client_security_kwargs(args))
    except MDStreamError as exc:          # a TLS file that cannot be read
        return error(str(exc))
    try:
        client.wait_ready(args.connect_timeout)
        run_view(client.get_stats, args.target, interval=args.interval, once=args.once,
                 console=console)
    except RemoteError as exc:
        if exc.code.name == "UNAVAILABLE":
            return error(f"cannot reach an mdstream server at {args.target}: {exc.details}")
        if exc.code.name == "UNIMPLEMENTED":
            return error(f"the server at {args.target} does not serve GetStats (an older "
                         "mdstream?)")
        return error(str(exc))
    except MDStreamError as exc:
        return error(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0
