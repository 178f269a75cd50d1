"""Exit statuses, one-line errors and signals of the mdstream command."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from mdstream.text import printable

__all__ = ["EXIT_ERROR", "EXIT_USAGE", "CommandError", "error", "usage_error",
           "sigterm_as_interrupt", "set_stop_handlers", "log_warnings_as_lines"]

EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """An error to print as one line, ending the command with EXIT_ERROR."""


def error(message: str) -> int:
    """Print 'mdstream: error: MESSAGE' on stderr (its control characters
    escaped: it may quote a symbol name); returns EXIT_ERROR."""
    print(f"mdstream: error: {printable(message)}", file=sys.stderr, flush=True)
    return EXIT_ERROR


def usage_error(command: str, message: object) -> int:
    """Print 'mdstream COMMAND: error: MESSAGE' on stderr (control characters
    escaped), as argparse does for a bad flag but without the usage;
    returns EXIT_USAGE."""
    print(f"mdstream {command}: error: {printable(message)}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def sigterm_as_interrupt() -> None:
    """Let SIGTERM stop a command like Ctrl-C does (main thread only)."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


#: The signals that stop a command: Ctrl-C and SIGTERM.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def set_stop_handlers(handler) -> dict:
    """Set ``handler`` (a function, signal.SIG_IGN, or a dict by signal as
    this returns) for Ctrl-C and SIGTERM; returns the handlers replaced, to
    give back with a second call (processes started later inherit an ignored
    signal). Main thread only: elsewhere nothing is set and {} returned. A
    handler None (set outside Python) is left as it is."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in STOP_SIGNALS:
        new = handler.get(sig) if isinstance(handler, dict) else handler
        if new is not None:
            previous[sig] = signal.signal(sig, new)
    return previous


class _LineFormatter(logging.Formatter):
    """Log records as 'mdstream: warning: ...', like the command's own errors,
    with control characters escaped (a message may quote a symbol name or an
    input row: neither may drive the terminal nor start a line of its own)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"mdstream: {record.levelname.lower()}: {printable(record.getMessage())}"


def log_warnings_as_lines() -> None:
    """Warnings of the library (a torn journal tail cut, bad rows skipped) as
    one line each on stderr, like the command's own messages."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
