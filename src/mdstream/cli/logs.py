"""Logging of the commands that run long (serve, record): --log-level and --log-format.

Every line is a ``logging`` record with a UTC timestamp in ISO 8601, on stdout
for ``serve`` (its output is its log, as before: scripts and container
recipes read its 'listening on' line there) and on stderr for ``record``
(whose stdout holds its summary):

    text: 2026-11-30T14:38:54.123Z info mdstream.serve: gRPC server listening on 127.0.0.1:50051
    json: {"ts": "2026-11-30T14:38:54.123Z", "level": "info", "logger": "mdstream.serve",
           "message": "gRPC server listening on 127.0.0.1:50051"}

A JSON line has exactly these keys, plus ``exc`` (the traceback) when one was
logged. Text from outside (a symbol name, an input row) is escaped in text
lines so it can neither drive the terminal nor start a line of its own; JSON
escapes it by itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone

from mdstream.text import printable

__all__ = ["LOG_LEVELS", "LOG_FORMATS", "add_logging_options", "setup_logging", "failer",
           "TextFormatter", "JSONFormatter", "iso_utc"]

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


def iso_utc(seconds: float) -> str:
    """A time.time() value as ISO 8601 UTC with milliseconds: 2026-11-30T14:38:54.123Z."""
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``TS LEVEL LOGGER: MESSAGE``, control characters escaped (one line a record)."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return (f"{iso_utc(record.created)} {record.levelname.lower()} {record.name}: "
                f"{printable(text)}")


class JSONFormatter(logging.Formatter):
    """One JSON object a line: ts (ISO 8601 UTC), level, logger, message [, exc]."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": iso_utc(record.created), "level": record.levelname.lower(),
                "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout (or sys.stderr) is at the time of each
    record, so lines logged while a rich progress display holds the terminal
    (it replaces both) are printed above it instead of through it."""

    def __init__(self, to: str = "stderr"):
        self.to = to
        super().__init__(getattr(sys, to))

    @property
    def stream(self):
        return getattr(sys, self.to)

    @stream.setter
    def stream(self, value) -> None:
        pass


def add_logging_options(p: argparse.ArgumentParser) -> None:
    """--log-level and --log-format (serve, record)."""
    g = p.add_argument_group("logging (timestamps in ISO 8601 UTC)")
    g.add_argument("--log-level", type=str.lower, default="info", choices=LOG_LEVELS,
                   help="the least severe messages logged: debug, info (status lines such as "
                        "'listening on'), warning, error (default: info)")
    g.add_argument("--log-format", type=str.lower, default="text", choices=LOG_FORMATS,
                   help="text: 'TIME LEVEL LOGGER: MESSAGE' lines; json: one JSON object a line "
                        "with ts, level, logger, message (default: text)")


def setup_logging(level: str = "info", fmt: str = "text", to: str = "stderr") -> logging.Handler:
    """Send the log records of mdstream (at ``level`` and above) and of the
    libraries it uses (warnings and above) to ``to`` ("stderr" or "stdout"),
    formatted as ``fmt``.
    Replaces a handler an earlier call added (other handlers stay); returns
    the handler. ValueError for an unknown level or format."""
    if level not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    if to not in ("stderr", "stdout"):
        raise ValueError(f"logs go to stderr or stdout, not {to!r}")
    handler = _StderrHandler(to)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    numeric = getattr(logging, level.upper())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)            # set up again (a second command in one process)
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))
    logging.getLogger("mdstream").setLevel(numeric)
    logging.captureWarnings(True)
    return handler


def failer(log_format: str, log: logging.Logger):
    """How a service command reports the error that ends it: the command's
    one line 'mdstream: error: ...' on stderr, or with --log-format json a
    JSON log record (level error) on ``log``, so a JSON log holds nothing but
    JSON lines. Returns a function of the message that returns the exit status."""
    from mdstream.cli.process import EXIT_ERROR, error

    if log_format != "json":
        return error

    def fail(message: str) -> int:
        log.error("%s", message)
        return EXIT_ERROR
    return fail
