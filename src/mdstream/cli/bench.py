"""mdstream bench: hands its arguments over to the benchmark runner."""

from __future__ import annotations

import argparse

from mdstream.cli.process import error

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the bench command to the subparsers ``sub`` (for the top-level help;
    main() hands everything after 'bench' to the runner unparsed)."""
    p = sub.add_parser(
        "bench", help="run the benchmark suite (options: mdstream bench --help)",
        description="Run mdstream's benchmarks; the remaining arguments go to the benchmark "
                    "runner (see 'mdstream bench --help').", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the benchmark runner")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run mdstream.benchmarking.main(args.args); returns its exit status."""
    try:
        from mdstream import benchmarking
    except ImportError as exc:
        return error(f"the benchmark runner is not available in this installation ({exc})")
    rc = benchmarking.main(list(args.args))
    return int(rc or 0)
