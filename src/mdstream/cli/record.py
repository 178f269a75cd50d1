"""mdstream record: subscribe to a server and write the results to Parquet files."""

from __future__ import annotations

import argparse
import signal

from mdstream.cli import options
from mdstream.cli.logs import add_logging_options, setup_logging
from mdstream.cli.settings import add_config_options
from mdstream.cli.process import error, set_stop_handlers, usage_error
from mdstream.request import POLICIES

__all__ = ["add_parser", "run"]

DESCRIPTION = (
    "Subscribe to an mdstream server and write every result to rolling Parquet files under DIR, "
    "Hive-style: DIR/date=YYYY-MM-DD/kind=trade/part-FIRST-LAST.parquet (the event date in UTC; "
    "symbol=NAME with --partition-by symbol). Run again on the same DIR to continue where it "
    "stopped (from the last recorded sequence number + 1: no gap, no duplicate, as far as the "
    "server's ring or journal reaches back). Ctrl-C or SIGTERM writes what is buffered and "
    "prints a summary.")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the record command to the subparsers ``sub``."""
    p = sub.add_parser("record", help="record a server's results to Parquet files",
                       description=DESCRIPTION)
    options.add_target_option(p)
    p.add_argument("--parquet", required=True, metavar="DIR",
                   help="the recording's directory (created if missing; an existing recording "
                        "is continued); required, as a flag, in the --config file or as "
                        "MDSTREAM_PARQUET")
    p.add_argument("--symbols", type=options.symbols, default=None, metavar="LIST",
                   help="comma-separated symbols to record (default: all)")
    p.add_argument("--policy", choices=POLICIES, default=None,
                   help="what the server does if the recorder falls behind: block, skip (a gap, "
                        "logged and kept in DIR/_gaps/) or disconnect (default: the server's, "
                        "skip unless its operator chose otherwise)")
    p.add_argument("--partition-by", choices=("kind", "symbol"), default="kind",
                   help="the directories under date=...: kind=trade|quote|bar or symbol=NAME "
                        "(default: kind)")
    p.add_argument("--flush-rows", type=options.positive_int, default=100_000, metavar="N",
                   help="write the files when one partition holds N rows (default: 100000)")
    p.add_argument("--max-buffered-rows", type=options.positive_int, default=1_000_000,
                   metavar="N",
                   help="write the files when all partitions together hold N rows: the memory "
                        "bound, about 200 bytes a row (default: 1000000)")
    p.add_argument("--flush-interval", type=options.duration(zero=True), default=10.0,
                   metavar="DURATION",
                   help="write the files this long after the last write, in seconds or with a "
                        "unit; 0 = only by rows and at the end (default: 10s)")
    p.add_argument("--duration", type=options.duration(zero=True), default=0.0,
                   metavar="SECONDS",
                   help="stop after this long, in seconds or with a unit; 0 = until the stream "
                        "ends or Ctrl-C (default: 0)")
    p.add_argument("--from-seq", type=options.non_negative(int), default=None, metavar="SEQ",
                   help="for a new recording: start at this sequence number (replayed from the "
                        "server's ring or journal); 0 = from the first result (default: the "
                        "next result). An existing recording always continues at its last "
                        "sequence number + 1")
    p.add_argument("--datetimes", action="store_true",
                   help="write ts_ns, recv_ns, done_ns as UTC timestamps (ns) instead of int64 "
                        "ns since the epoch")
    add_logging_options(p)
    add_config_options(p)          # and settings_parser=p
    p.set_defaults(func=run)
    return p


def _stop_on_signals(recorder) -> dict:
    """Ctrl-C and SIGTERM end the recording: at once (KeyboardInterrupt)
    while waiting for the stream, after the write in hand otherwise."""
    def handler(signum, frame):
        recorder.stop()
        if not recorder.busy:
            raise KeyboardInterrupt
    return set_stop_handlers(handler)


def run(args: argparse.Namespace) -> int:
    """mdstream record: returns the exit status (0 after Ctrl-C, SIGTERM,
    --duration or the end of the stream)."""
    from mdstream.errors import MDStreamError
    from mdstream.grpc.client import Client, RemoteError
    from mdstream.grpc.reconnect import ReconnectError
    from mdstream.record import ParquetRecorder

    setup_logging(args.log_level, args.log_format)
    try:
        recorder = ParquetRecorder(args.parquet, partition_by=args.partition_by,
                                   flush_rows=args.flush_rows,
                                   max_buffered_rows=args.max_buffered_rows,
                                   flush_interval=args.flush_interval, datetimes=args.datetimes)
    except ImportError as exc:
        return error(str(exc))
    except MDStreamError as exc:
        return usage_error("record", exc)
    except OSError as exc:
        return error(f"cannot open the recording {args.parquet}: {exc}")
    found = recorder.recovery
    from_seq = recorder.resume_seq
    if from_seq is not None:
        note = f" (--from-seq {args.from_seq} ignored)" if args.from_seq is not None else ""
        removed = (f"; removed {found.removed_files} files of an unfinished write"
                   if found.removed_files else "")
        print(f"recording to {args.parquet}: continuing at seq {from_seq:,} "
              f"({found.rows:,} rows in {found.files:,} files recorded){removed}{note}",
              flush=True)
    else:
        from_seq = args.from_seq
        start = "the next result" if from_seq is None else f"seq {from_seq:,}"
        print(f"recording to {args.parquet}: a new recording from {start}", flush=True)
    previous = _stop_on_signals(recorder)
    client = Client(args.target)
    stream = None
    failed = None
    reason = "interrupted"
    try:
        client.wait_ready(args.connect_timeout)
        stream = client.stream_batches(args.symbols, args.policy, from_seq=from_seq,
                                       resume=True, heartbeats=True)
        reason = recorder.consume(stream, duration=args.duration or None)
        if reason == "duration reached":
            reason = f"--duration {args.duration:g} s reached"
        elif reason == "stopped":
            reason = "interrupted"
    except KeyboardInterrupt:
        pass
    except RemoteError as exc:
        if exc.code.name == "UNAVAILABLE" and not isinstance(exc, ReconnectError) \
                and recorder.stats()["buffered"] == 0 and recorder.last_seq == found.last_seq:
            failed = f"cannot reach an mdstream server at {args.target}: {exc.details}"
        else:
            failed = f"the stream failed: {exc}"
        reason = "the stream failed"
    except MDStreamError as exc:
        failed = str(exc)
        reason = "the stream failed"
    finally:
        if stream is not None:
            stream.cancel()
        set_stop_handlers(signal.SIG_IGN)      # the last write is not interrupted
        try:
            recorder.close()
        finally:
            if previous:
                set_stop_handlers(previous)
            client.close()
    s = recorder.stats()
    print(f"summary: {s['rows'] - found.rows:,} rows in {s['files'] - found.files:,} files "
          f"this run ({s['rows']:,} rows, {s['files']:,} files in all), last seq {s['last_seq']:,}, "
          f"{s['gaps'] - found.gaps:,} gaps ({s['missed'] - found.missed:,} missed); {reason}",
          flush=True)
    if failed is not None:
        return error(failed)
    return 0
