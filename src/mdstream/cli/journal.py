"""mdstream journal: look into a journal directory and export it to Parquet,
without an engine (read only: safe while a server writes the journal)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal

import numpy as np

from mdstream.cli import options
from mdstream.cli.process import (error, log_warnings_as_lines, set_stop_handlers,
                                  sigterm_as_interrupt, usage_error)
from mdstream.text import printable

__all__ = ["add_parser", "run_info", "run_export"]

#: Symbol names `journal info` prints before "... and N more".
SHOWN_SYMBOLS = 20

EXPORT_DESCRIPTION = (
    "Write a journal's results to Parquet files laid out exactly as `mdstream record --parquet` "
    "writes them (DIR/date=YYYY-MM-DD/kind=trade/part-FIRST-LAST.parquet, the same columns), so "
    "exported and recorded data read the same way. The journal is only read: no engine is "
    "started, its lock is not taken, and a server may be writing it meanwhile (what is complete "
    "is exported). Run again on the same DIR to continue where the export stopped.")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the journal command (info, export) to the subparsers ``sub``."""
    p = sub.add_parser("journal", help="look into a journal directory, export it to Parquet",
                       description="Read a journal directory (mdstream serve --journal DIR) "
                                   "without an engine.")
    commands = p.add_subparsers(dest="journal_command", metavar="COMMAND", required=True)

    info = commands.add_parser("info", help="the sequence range, symbols, segments and size",
                               description="Print a journal's stream id, sequence range, "
                                           "symbols, segments and bytes.")
    info.add_argument("journal", metavar="JOURNAL_DIR", help="the journal's directory")
    info.add_argument("--json", action="store_true", help="print one JSON object instead")
    info.set_defaults(func=run_info)

    export = commands.add_parser("export", help="write a journal's results to Parquet files",
                                 description=EXPORT_DESCRIPTION)
    export.add_argument("journal", metavar="JOURNAL_DIR", help="the journal's directory")
    export.add_argument("--parquet", required=True, metavar="DIR",
                        help="the Parquet directory (created if missing; an earlier export or "
                             "recording of the same stream is continued)")
    export.add_argument("--from-seq", type=options.non_negative(int), default=None, metavar="SEQ",
                        help="the first sequence number to export (default: the oldest held)")
    export.add_argument("--to-seq", type=options.non_negative(int), default=None, metavar="SEQ",
                        help="export up to this sequence number, itself excluded (default: to "
                             "the newest complete result)")
    export.add_argument("--symbols", type=options.symbols, default=None, metavar="LIST",
                        help="comma-separated symbols to export (default: all)")
    export.add_argument("--partition-by", choices=("kind", "symbol"), default="kind",
                        help="the directories under date=...: kind=trade|quote|bar or "
                             "symbol=NAME (default: kind)")
    export.add_argument("--flush-rows", type=options.positive_int, default=100_000, metavar="N",
                        help="write the files when one partition holds N rows (default: 100000)")
    export.add_argument("--datetimes", action="store_true",
                        help="write ts_ns, recv_ns, done_ns as UTC timestamps (ns) instead of "
                             "int64 ns since the epoch")
    export.set_defaults(func=run_export)
    return p


def _open_reader(directory: str):
    from mdstream.journal import JournalReader

    return JournalReader(directory)


def run_info(args: argparse.Namespace) -> int:
    """mdstream journal info: 0, or 1 with one line when it is not a journal."""
    from mdstream.errors import JournalError

    log_warnings_as_lines()
    try:
        info = _open_reader(args.journal).info()
    except JournalError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"cannot read the journal {args.journal}: {exc}")
    if args.json:
        print(json.dumps(dataclasses.asdict(info)))
        return 0
    if info.last_seq is None:
        held = "no results"
    else:
        held = f"seq {info.first_seq:,} to {info.last_seq:,} ({info.results:,} results)"
    names = ", ".join(printable(n) for n in info.symbols[:SHOWN_SYMBOLS])
    if len(info.symbols) > SHOWN_SYMBOLS:
        names += f", ... and {len(info.symbols) - SHOWN_SYMBOLS:,} more"
    print(f"journal    {printable(info.directory)}")
    print(f"stream id  {info.stream_id or '-'}")
    print(f"results    {held}")
    print(f"segments   {info.segments:,} ({info.segment_bytes:,} bytes), "
          f"{info.state_files:,} state files; {info.bytes:,} bytes in all")
    print(f"symbols    {len(info.symbols):,}{': ' + names if names else ''}")
    if info.torn_tail:
        print(f"torn tail  {printable(info.torn_tail)} (a write in progress, or a crash's: "
              "the next engine start cuts it)")
    return 0


def _start(args, reader, recorder) -> int | None:
    """The sequence number the export starts at; raises CommandError when
    continuing the directory would leave a gap."""
    from mdstream.cli.process import CommandError

    start = args.from_seq
    resume = recorder.resume_seq
    if resume is None:
        return start
    if start is not None and start > resume:
        raise CommandError(
            f"{args.parquet} holds results up to seq {resume - 1:,}: exporting from seq "
            f"{start:,} would leave a gap; export from seq {resume:,} or into a new directory")
    first = reader.first_seq
    if first is not None and first > resume:
        raise CommandError(
            f"{args.parquet} holds results up to seq {resume - 1:,}, but {args.journal} starts "
            f"at seq {first:,} (retention removed the rest): export into a new directory")
    return resume


def _symbol_ids(reader, names):
    """The ids of the symbols to export (None: all); CommandError naming the
    unknown ones."""
    from mdstream.cli.process import CommandError

    if names is None:
        return None
    known = reader.symbols
    unknown = [n for n in names if n not in known]
    if unknown:
        shown = ", ".join(printable(n) for n in known[:SHOWN_SYMBOLS])
        raise CommandError(f"{_listed(unknown)}: not a symbol of {printable(str(reader.directory))} "
                           f"(its symbols: {shown}{', ...' if len(known) > SHOWN_SYMBOLS else ''})")
    return np.array([known.index(n) for n in names], dtype=np.int32)


def _listed(names: list[str]) -> str:
    """At most ten names, printable, and how many more."""
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ", ".join(printable(n) for n in names[:10]) + more


def run_export(args: argparse.Namespace) -> int:
    """mdstream journal export: 0 when done (or interrupted: what was read
    is written), 1 with one line on an error, 2 for options that do not go
    together."""
    from mdstream.batch import ResultBatch
    from mdstream.cli.process import CommandError
    from mdstream.errors import JournalError, MDStreamError, OutOfRangeError, StreamChangedError

    log_warnings_as_lines()
    if args.to_seq is not None and args.from_seq is not None and args.to_seq < args.from_seq:
        return usage_error("journal export",
                           f"--to-seq {args.to_seq} is below --from-seq {args.from_seq}")
    try:
        reader = _open_reader(args.journal)
        keep = _symbol_ids(reader, args.symbols)
    except (JournalError, CommandError) as exc:
        return error(str(exc))
    try:
        from mdstream.record import ParquetRecorder

        recorder = ParquetRecorder(args.parquet, partition_by=args.partition_by,
                                   flush_rows=args.flush_rows, flush_interval=0,
                                   datetimes=args.datetimes)
    except ImportError as exc:
        return error(str(exc))
    except MDStreamError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"cannot open {args.parquet}: {exc}")
    before = recorder.stats()
    reason, failed = "done", None
    sigterm_as_interrupt()
    try:
        recorder.check_stream(reader.stream_id)     # another journal's export: other seqs
        start = _start(args, reader, recorder)
        if recorder.resume_seq is not None:
            print(f"exporting to {printable(args.parquet)}: continuing at seq {start:,}", flush=True)
        if args.to_seq is not None and start is not None and start > args.to_seq:
            start = args.to_seq              # nothing left to export in the range
        for batch in reader.batches(start, args.to_seq):
            if keep is not None:
                # The checkpoint still covers the rows left out (position), as `record` does.
                rows = batch.rows[np.isin(batch.rows["symbol_id"], keep)]
                recorder.write(ResultBatch(rows, batch.symbols), int(batch.rows["seq"][-1]))
            else:
                recorder.write(batch)
    except KeyboardInterrupt:
        reason = "interrupted"
    except (CommandError, OutOfRangeError, JournalError, StreamChangedError) as exc:
        failed = str(exc)
    finally:
        previous = set_stop_handlers(signal.SIG_IGN)     # the last write is not interrupted
        try:
            recorder.close()
        finally:
            set_stop_handlers(previous)
    s = recorder.stats()
    rows = s["rows"] - before["rows"]
    if rows:
        print(f"exported {rows:,} results to {printable(args.parquet)} in "
              f"{s['files'] - before['files']:,} files (last seq {s['last_seq']:,}); {reason}",
              flush=True)
    elif failed is None:
        held = f" ({printable(args.parquet)} holds up to seq {s['last_seq']:,})" \
            if s["last_seq"] >= 0 else ""
        print(f"nothing to export from {printable(args.journal)} in that range{held}; {reason}",
              flush=True)
    if failed is not None:
        return error(failed)
    return 0
