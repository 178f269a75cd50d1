"""The layout of an mdstream stream in NATS JetStream: subjects, headers, message ids.

One JetStream stream (default name ``MDSTREAM``) holds the results of one
engine. Each message is one ``mdstream.v1.ResultBatch`` frame (the bytes
StreamBatches sends, encoded by the core) with the results of **one symbol**
from one engine batch, on the subject::

    <prefix>.<SYMBOL>           e.g. mdstream.AAPL, mdstream.BTC-USDT, mdstream.BRK%2EB

so NATS clients filter with wildcards (``mdstream.>``, ``mdstream.AAPL``) and
JetStream keeps the last message per subject (the snapshot of that symbol).
A symbol name is a subject token as it is when it only holds ``A-Z a-z 0-9
_ - :`` and other printable non-space ASCII except ``. * > %``; every other
byte of its UTF-8 form is written ``%XX`` (RFC 3986 percent-encoding), so
``BRK.B`` is ``BRK%2EB`` and a name never splits into two tokens.

Headers of every message (all values decimal text):

=========================  ==============================================
``Mdstream-First-Seq``     engine sequence number of the first row
``Mdstream-Last-Seq``      engine sequence number of the last row
``Mdstream-Batch-First``   first seq of the engine batch the message is part of
``Mdstream-Batch-Last``    last seq of that batch
``Mdstream-Parts``         messages (symbols) in that batch
``Mdstream-Part``          this message's index in the batch (0-based, by symbol id)
``Mdstream-Stream-Id``     the engine's stream id (``Engine.stream_id``)
``Nats-Msg-Id``            ``<stream_id>:<first>:<last>:<symbol>`` (JetStream's
                           duplicate window makes a republish idempotent)
=========================  ==============================================

Sources: subject tokens and the characters they may hold,
https://docs.nats.io/nats-concepts/subjects; ``Nats-Msg-Id`` and the
duplicate window, https://docs.nats.io/nats-concepts/jetstream/headers and
https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication;
the payload, ``ResultBatch`` in proto/mdstream/v1/mdstream.proto.

The engine batches cover contiguous, increasing ranges of sequence numbers,
and the messages of one batch are stored one after the other, so the
messages in JetStream order have non-decreasing ``Mdstream-Batch-Last``: an
edge finds where engine seq N is stored by a binary search over it.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from dataclasses import dataclass

from mdstream.errors import InvalidArgumentError

__all__ = ["DEFAULT_STREAM", "DEFAULT_SUBJECT_PREFIX", "FIRST_SEQ", "LAST_SEQ", "BATCH_FIRST",
           "BATCH_LAST", "PARTS", "PART", "STREAM_ID", "MSG_ID", "symbol_token", "token_symbol",
           "subject_of", "symbol_of", "msg_id", "MessageSeqs", "check_prefix", "check_stream_name"]

#: Default JetStream stream name (``mdstream serve --publish-stream``).
DEFAULT_STREAM = "MDSTREAM"
#: Default subject prefix (``mdstream serve --publish-subject-prefix``).
DEFAULT_SUBJECT_PREFIX = "mdstream"

FIRST_SEQ = "Mdstream-First-Seq"
LAST_SEQ = "Mdstream-Last-Seq"
BATCH_FIRST = "Mdstream-Batch-First"
BATCH_LAST = "Mdstream-Batch-Last"
PARTS = "Mdstream-Parts"
PART = "Mdstream-Part"
STREAM_ID = "Mdstream-Stream-Id"
MSG_ID = "Nats-Msg-Id"

# Printable ASCII but space, '.', '*', '>', '%' (the escape) stays as it is.
_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F) if chr(c) not in ".*>%")
_PREFIX = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
_STREAM = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@functools.lru_cache(maxsize=65536)
def symbol_token(symbol: str) -> str:
    """The subject token of a symbol name (percent-encoded where needed)."""
    if all(c in _SAFE for c in symbol):
        return symbol
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
                   for c in symbol)


def token_symbol(token: str) -> str:
    """The symbol name of a subject token (the inverse of symbol_token)."""
    return urllib.parse.unquote(token)


def subject_of(prefix: str, symbol: str) -> str:
    """``<prefix>.<token>``: the subject of a symbol's messages."""
    return f"{prefix}.{symbol_token(symbol)}"


def symbol_of(prefix: str, subject: str) -> str:
    """The symbol of a subject under ``prefix`` (InvalidArgumentError otherwise)."""
    head = prefix + "."
    if not subject.startswith(head) or "." in subject[len(head):]:
        raise InvalidArgumentError(f"subject {subject!r} is not one of {prefix}.<SYMBOL>")
    return token_symbol(subject[len(head):])


def msg_id(stream_id: str, first_seq: int, last_seq: int, symbol: str) -> str:
    """The Nats-Msg-Id of a message: the same rows always get the same id."""
    return f"{stream_id}:{first_seq}:{last_seq}:{symbol_token(symbol)}"


def check_prefix(prefix: str) -> str:
    """A subject prefix: dot-separated tokens of letters, digits, '_' and '-'."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise InvalidArgumentError(
            f"subject prefix must be dot-separated tokens of letters, digits, '_' or '-' "
            f"(no wildcards), got {prefix!r}")
    return prefix


def check_stream_name(name: str) -> str:
    """A JetStream stream name: 1-64 letters, digits, '_' or '-'."""
    if not isinstance(name, str) or not _STREAM.match(name):
        raise InvalidArgumentError(
            f"JetStream stream name must be 1-64 letters, digits, '_' or '-', got {name!r}")
    return name


@dataclass(frozen=True)
class MessageSeqs:
    """The sequence numbers a message's headers carry (see the module doc)."""

    first: int
    last: int
    batch_first: int
    batch_last: int
    parts: int
    part: int
    stream_id: str

    @classmethod
    def of(cls, headers: dict | None) -> "MessageSeqs":
        """Read them from a message's headers; InvalidArgumentError naming
        the header when one is missing or not a number (not an mdstream message)."""
        headers = headers or {}
        try:
            return cls(int(headers[FIRST_SEQ]), int(headers[LAST_SEQ]),
                       int(headers[BATCH_FIRST]), int(headers[BATCH_LAST]),
                       int(headers[PARTS]), int(headers[PART]), headers.get(STREAM_ID, ""))
        except KeyError as exc:
            raise InvalidArgumentError(f"not an mdstream message: no {exc.args[0]} header") \
                from None
        except ValueError as exc:
            raise InvalidArgumentError(f"not an mdstream message: bad header ({exc})") from None

    def headers(self) -> dict[str, str]:
        return {FIRST_SEQ: str(self.first), LAST_SEQ: str(self.last),
                BATCH_FIRST: str(self.batch_first), BATCH_LAST: str(self.batch_last),
                PARTS: str(self.parts), PART: str(self.part), STREAM_ID: self.stream_id}
