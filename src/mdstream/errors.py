"""mdstream's exceptions. Every message says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = [
    "MDStreamError",
    "EngineStateError",
    "UnknownSymbolError",
    "InvalidArgumentError",
    "SubscriptionClosedError",
    "SlowConsumerError",
    "ChannelClosedError",
    "TimeoutError",
    "TooManySubscribersError",
    "OutOfRangeError",
    "JournalCorruptError",
    "JournalError",
    "JournalUnavailableError",
    "StreamChangedError",
]

import builtins
import errno as _errno
import os
from typing import Any


class MDStreamError(Exception):
    """Base class of every error mdstream raises."""

    # Set on errors that came over gRPC (mdstream.grpc.errors.translate_error):
    # the grpc.StatusCode and the server's message.
    code: Any
    details: str


class EngineStateError(MDStreamError):
    """The engine is not in a state that allows the call (not started, stopped, ...)."""


class UnknownSymbolError(MDStreamError, KeyError):
    """A symbol name or id the engine does not know (``symbols``: the unknown ones).

    ``hint`` replaces the closing advice (the gRPC server points to ListSymbols).
    """

    def __init__(self, symbols, known=None, hint=None):
        self.symbols = list(symbols)
        names = ", ".join(repr(s) for s in self.symbols)
        msg = f"unknown symbol{'s' if len(self.symbols) > 1 else ''}: {names}"
        if known is not None and len(known) == 0:
            msg += "; the engine has no symbols yet"
        elif known is not None:
            shown = ", ".join(list(known)[:20])
            more = "" if len(known) <= 20 else f", ... ({len(known)} in all)"
            msg += f"; the engine knows: {shown}{more}"
        msg += ". " + (hint or "Declare symbols with Engine(symbols=[...]) or engine.add_symbols([...]).")
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class InvalidArgumentError(MDStreamError, ValueError):
    """An argument has a value mdstream cannot use."""


class SubscriptionClosedError(MDStreamError):
    """The subscription was closed by its owner and cannot be read any more."""


class SlowConsumerError(MDStreamError):
    """A subscription with policy 'disconnect' fell a whole ring behind and was closed."""


class ChannelClosedError(MDStreamError):
    """The channel was closed: nothing more can be pushed, and it has been drained."""


class TimeoutError(MDStreamError, builtins.TimeoutError):
    """A wait with a timeout ran out."""


class TooManySubscribersError(MDStreamError):
    """The engine has as many subscriptions as it was configured to allow."""


class OutOfRangeError(MDStreamError):
    """A sequence number older than anything the engine still holds (ring and journal)."""

    def __init__(self, message: str, oldest: int):
        super().__init__(message)
        self.oldest = oldest


class JournalError(MDStreamError):
    """The journal cannot be used (unwritable directory, other settings, write failure)."""


class JournalCorruptError(JournalError):
    """A journal block that fails its checks. ``torn`` is True for a block cut
    short at the end of a file (what a crash mid-write leaves: recovery cuts
    it); False for damage, which is never served."""

    def __init__(self, path: str, offset: int, reason: str, torn: bool):
        kind = "torn tail" if torn else "damaged journal"
        super().__init__(f"{kind}: {path} at byte offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason
        self.torn = torn


class JournalUnavailableError(JournalError):
    """The journal cannot be written (a full file system, a directory made
    read-only or deleted, no file descriptor left): nothing more is published
    until it can. ``path`` is the file, ``errno`` the OS error, ``retrying``
    whether the engine keeps trying (True: resume later; False: it stopped
    taking ticks for good). Nothing already delivered is lost."""

    def __init__(self, path: str, errno: int, retrying: bool = True, message: str | None = None):
        self.path = path
        self.errno = int(errno)
        self.strerror = os.strerror(self.errno) if self.errno else "unknown error"
        self.retrying = retrying
        if message is None:
            message = f"{journal_error_text(path, self.errno)}; " + (
                "the engine stopped taking ticks and keeps trying to write; resume "
                "(from_seq=last_seq + 1) once the cause is fixed" if retrying else
                "the engine stopped taking ticks for good; fix the cause and restart it")
        super().__init__(message)

    @classmethod
    def from_status(cls, status: dict) -> "JournalUnavailableError":
        """From the core's journal_status() of a writer that failed."""
        err = status.get("error") or status.get("last_error") or 0
        return cls(status.get("error_path", ""), err, bool(status.get("retry", False)))


def journal_error_text(path: str, err: int) -> str:
    """'cannot write the journal file PATH: No space left on device (ENOSPC)'."""
    name = _errno.errorcode.get(err, f"errno {err}")
    return f"cannot write the journal file {path}: {os.strerror(err)} ({name})"


class StreamChangedError(MDStreamError):
    """A resumed stream is not the stream it continues: the server's sequence
    numbers belong to another stream (a server without a journal restarted,
    or a new journal), so ``from_seq`` means something else there.
    ``expected`` and ``actual`` are the two stream ids."""

    def __init__(self, expected: str, actual: str, message: str | None = None):
        self.expected = expected
        self.actual = actual
        super().__init__(message or (
            f"the stream changed: resuming stream {expected!r}, but the server now serves "
            f"stream {actual!r} (restarted without its journal, or with a new one), where "
            "the sequence numbers mean other results; start a new stream (without from_seq)"))
