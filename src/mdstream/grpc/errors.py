"""Errors across the wire, both ways, by the table of mdstream.grpc.contract.

Server side: :func:`error_status` turns an mdstream exception into a
``grpc.Status`` that carries a ``google.rpc.Status`` with an ``ErrorInfo``
(reason, domain ``mdstream.dev``, metadata) in ``grpc-status-details-bin``,
plus the trailing metadata keys of the first servers (``mdstream-error``,
``mdstream-unknown-symbols-bin``, ...), so that older clients keep working.

Client side: :func:`translate_error` reads the rich status first
(``rpc_status.from_call``), the legacy keys otherwise, and returns the
mdstream exception (with the gRPC status in ``.code`` and the server's
message in ``.details``), or a :class:`RemoteError`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from typing import Iterator

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from mdstream.errors import InvalidArgumentError, MDStreamError
from mdstream.grpc.contract import (
    ERROR_DOMAIN,
    LEGACY_ERROR_KEY,
    ErrorRule,
    legacy_metadata,
    metadata_from_legacy,
    rule_for_error,
    rule_for_reason,
)

__all__ = ["RemoteError", "translate_error", "error_status", "error_info", "abort_on_error"]

log = logging.getLogger("mdstream.grpc.server")


class RemoteError(MDStreamError):
    """The server ended a call with an error status that has no closer mdstream error.

    ``code`` is the grpc.StatusCode and ``details`` the server's message
    (UNAVAILABLE: the server is not there, or is shutting down; DATA_LOSS:
    its journal cannot be read). ``reason`` is the ErrorInfo reason the
    server sent (e.g. ``SERVER_SHUTDOWN``), or None.
    """

    def __init__(self, code: grpc.StatusCode, details: str, reason: str | None = None):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.reason = reason


class _Status(collections.namedtuple("_Status", ("code", "details", "trailing_metadata")),
              grpc.Status):
    pass


def error_status(exc: BaseException) -> tuple[grpc.Status, ErrorRule] | None:
    """The status that ends a call failed with ``exc`` (for
    ``context.abort_with_status``), with its rule; None for an exception the
    contract does not map (the call then fails with UNKNOWN)."""
    rule = rule_for_error(exc)
    if rule is None:
        return None
    message = rule.message(exc)
    metadata = rule.metadata(exc)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=rule.reason, domain=ERROR_DOMAIN,
                                            metadata=metadata))
    rich = rpc_status.to_status(status_pb2.Status(code=rule.code.value[0], message=message,
                                                  details=[detail]))
    return _Status(rich.code, rich.details,
                   tuple(rich.trailing_metadata) + legacy_metadata(rule, metadata)), rule


@contextlib.contextmanager
def abort_on_error(context) -> Iterator[None]:
    """A servicer's call body: an mdstream error raised inside ends the call
    with its status (the table in contract.py); others go to grpc, which
    answers UNKNOWN."""
    try:
        yield
    except MDStreamError as exc:
        found = error_status(exc)
        if found is None:
            raise
        status, rule = found
        if rule.code == grpc.StatusCode.DATA_LOSS:
            log.error("a resumed stream could not be served from the journal: %s", exc)
        context.abort_with_status(status)


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo of a failed call's google.rpc.Status, if it has one."""
    try:
        status = rpc_status.from_call(error)
    except (ValueError, TypeError, AttributeError):   # no or mismatched details
        return None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def _trailing(error: grpc.RpcError) -> dict:
    try:
        return {k: v for k, v in (error.trailing_metadata() or ())}
    except Exception:  # noqa: BLE001 - a failed call may have none
        return {}


def translate_error(error: grpc.RpcError) -> MDStreamError:
    """The mdstream exception that a failed call's status stands for.

    UNKNOWN_SYMBOL: UnknownSymbolError (``symbols``); INVALID_ARGUMENT:
    InvalidArgumentError; SLOW_CONSUMER: SlowConsumerError;
    TOO_MANY_SUBSCRIBERS: TooManySubscribersError; OUT_OF_RANGE:
    OutOfRangeError (``oldest``); JOURNAL_CORRUPT: JournalCorruptError
    (``path``, ``offset``); JOURNAL_UNAVAILABLE: JournalUnavailableError
    (``path``, ``errno``, ``retrying``; UNAVAILABLE, so resuming streams
    retry); STREAM_CHANGED: StreamChangedError (``expected``, ``actual``);
    anything else: RemoteError. Each has the
    grpc.StatusCode in ``code`` and the server's message in ``details``.
    """
    code = error.code()
    details = error.details() or ""
    info = error_info(error)
    if info is not None and info.domain == ERROR_DOMAIN:
        rule, meta = rule_for_reason(info.reason), dict(info.metadata)
    else:
        trailing = _trailing(error)
        rule = rule_for_reason(legacy=trailing.get(LEGACY_ERROR_KEY))
        meta = metadata_from_legacy(trailing)
    if rule is not None and rule.code != code:
        rule = None                 # a status that does not fit its reason: not ours
    if rule is not None and rule.rebuild is not None:
        exc = rule.rebuild(details, meta)
    elif code == grpc.StatusCode.INVALID_ARGUMENT:
        exc = InvalidArgumentError(details)
    else:
        return RemoteError(code, details, rule.reason if rule is not None else None)
    exc.code = code
    exc.details = details
    return exc
