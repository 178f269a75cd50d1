"""The ``mdstream`` command's parser and entry point.

    mdstream serve --port 50051 --symbols AAPL,MSFT --rate 100000
    mdstream serve --publish nats://127.0.0.1:4222  # and: mdstream edge --source nats://... --port 50052
    mdstream serve --feed csv:trades.csv --speed 10 --bars 1s,1m --journal /var/lib/mdstream \\
                   --metrics-port 9100 --dashboard-port 8080
    mdstream subscribe --target 127.0.0.1:50051 --symbols AAPL --limit 10
    mdstream stats --target 127.0.0.1:50051        # live view; --once for one table
    mdstream serve --paper-venue --accounts accounts.toml   # and take orders:
    mdstream order --account paper --symbol AAPL buy 100 --limit 189.50
    mdstream positions --account paper
    mdstream journal export --parquet data/ /var/lib/mdstream   # a journal to Parquet
    mdstream demo                      # engine + server + client, 10 s
    mdstream bench ...                 # the benchmark suite

Every subcommand has --help. Errors a user can fix (a port in use, a server
that is not there, an unknown symbol) are one line on stderr and a non-zero
exit status, not a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from mdstream.cli import (bench, demo, edge, journal, order, record, serve, settings, stats,
                          subscribe)
from mdstream.cli.process import EXIT_USAGE

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the mdstream command (one subparser per command;
    ``args.func(args)`` runs the command chosen)."""
    parser = argparse.ArgumentParser(
        prog="mdstream",
        description="mdstream: a market-data streaming engine with a compiled core, served over gRPC.",
        epilog="Run 'mdstream COMMAND --help' for the options of a command.")
    from mdstream import __version__
    parser.add_argument("--version", action="version", version=f"mdstream {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (serve, edge, subscribe, record, journal, stats, order, demo, bench):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the mdstream command: runs the command of ``argv``
    (default: sys.argv[1:]) and returns the exit status: 0, 1 for an error
    (one line on stderr), 2 for a usage error, 130 on Ctrl-C. Usage errors
    of argparse raise SystemExit(2), and --help SystemExit(0)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        # Everything after 'bench' (--help included) belongs to the benchmark runner.
        return bench.run(argparse.Namespace(args=argv[1:]))
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    command_parser = getattr(args, "settings_parser", None)
    if command_parser is not None:
        # A command with settings: flags > MDSTREAM_* environment > --config file > defaults.
        try:
            args, sources = settings.resolve(command_parser, argv[1:])
        except settings.SettingsError as exc:
            # A usage error like a bad flag (status 2), in one line: the usage
            # text says nothing about a file or a variable.
            command_parser.exit(EXIT_USAGE, f"{command_parser.prog}: error: {exc}\n")
        if args.print_config:
            print(settings.format_config(args, command_parser, sources), end="", flush=True)
            return 0
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
