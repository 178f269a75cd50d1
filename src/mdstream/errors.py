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
]

import builtins


class MDStreamError(Exception):
    """Base class of every error mdstream raises."""


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
        if known is not None:
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
