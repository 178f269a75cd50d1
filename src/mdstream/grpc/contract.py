"""The wire contract of mdstream's gRPC service, in one place.

- the service names (``mdstream.v1.MDStream``, and the original project's
  ``mdstream.MDStream``, which serves StreamResults only);
- the policy enum, both ways (``POLICY_TO_PB``, ``PB_TO_POLICY``), and the
  server's rules for remote subscribers: the policy a request that leaves it
  unset gets (``REMOTE_DEFAULT_POLICY``, skip), the policies a server allows
  (``check_policy``) and the deadline of a remote 'block' subscriber
  (``DEFAULT_BLOCK_DEADLINE_S``);
- the frame limits and the units of the wire (microseconds, milliseconds);
- the one conversion of a request, used by the clients and the server:
  ``request_to_proto(StreamRequest)`` and ``request_from_proto(SubscribeRequest)``;
- the one table from mdstream exceptions to gRPC statuses and back
  (``ERROR_RULES``): a gRPC status code, an ``ErrorInfo`` reason with its
  metadata (``google.rpc.Status`` details), and the trailing metadata keys
  the first servers sent (``mdstream-error`` ...), still sent and read.

Durations are seconds in the Python API (StreamRequest); they are converted
to and from the wire's microseconds and milliseconds here only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import grpc

from mdstream.errors import (
    EngineStateError,
    InvalidArgumentError,
    JournalCorruptError,
    JournalError,
    JournalUnavailableError,
    MDStreamError,
    OutOfRangeError,
    SlowConsumerError,
    StreamChangedError,
    TooManySubscribersError,
    UnknownSymbolError,
)
from mdstream.request import (
    DEFAULT_BLOCK_DEADLINE_S,
    DEFAULT_HEARTBEAT_INTERVAL_S,
    DEFAULT_TICKS_PER_FRAME,
    HEARTBEAT_INTERVAL_RANGE_S,
    MAX_TICKS_PER_FRAME,
    MAX_WAIT_S,
    POLICIES,
    Policy,
    StreamRequest,
)
from mdstream.v1 import mdstream_pb2 as pb

__all__ = [
    "SERVICE_NAME", "LEGACY_SERVICE_NAME", "METHOD_PREFIX",
    "POLICIES", "POLICY_TO_PB", "PB_TO_POLICY",
    "DEFAULT_TICKS_PER_FRAME", "MAX_TICKS_PER_FRAME", "MAX_WAIT_US",
    "DEFAULT_HEARTBEAT_MS", "HEARTBEAT_RANGE_MS",
    "request_to_proto", "request_from_proto",
    "ERROR_DOMAIN", "ErrorRule", "ERROR_RULES", "rule_for_error", "rule_for_reason",
    "ServerShutdownError", "bind_methods",
    "REMOTE_DEFAULT_POLICY", "CHANNEL_OPTIONS", "DEFAULT_MAX_WAIT_S", "channel_options",
    "DEFAULT_BLOCK_DEADLINE_S", "PolicyNotAllowedError",
    "check_policy", "allowed_policies",
    "UnauthenticatedError", "PermissionDeniedError", "MAX_REQUEST_SYMBOLS",
    "MAX_REQUEST_BYTES", "ECHO_LIMIT", "check_symbol_count", "shown_names",
    "NoPaperVenueError", "UnknownAccountError", "NO_PAPER_VENUE_MESSAGE", "request_error_fields",
]

#: "mdstream.v1.MDStream": the service (its methods are METHOD_PREFIX + name).
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MDStream"].full_name
METHOD_PREFIX = f"/{SERVICE_NAME}/"
#: The original project's service: StreamResults only, same messages on the wire.
LEGACY_SERVICE_NAME = "mdstream.MDStream"

#: A client's frames wait up to 2 ms to fill: ticks batch up at high rates,
#: and the latency stays low when they trickle in.
DEFAULT_MAX_WAIT_S = 0.002

#: Channel options of both clients (sync and asyncio).
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    # After losing the server, grpc tries to reconnect the channel after 1 s,
    # then ever longer (up to 120 s), and calls fail at once in between: a
    # resuming stream (resume=True) would wait for that, not for its own
    # backoff. Retry sooner, and at least every second.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def channel_options(defaults: list, options: Sequence) -> list:
    """The defaults, with the caller's options replacing those of the same name."""
    given = {name for name, _ in options}
    return [o for o in defaults if o[0] not in given] + list(options)



#: Policy name -> SubscribeRequest.Policy value.
POLICY_TO_PB: dict[Policy, pb.Policy] = {"block": pb.POLICY_BLOCK, "skip": pb.POLICY_SKIP,
                "disconnect": pb.POLICY_DISCONNECT}
#: The policy of a remote request that leaves it unset (POLICY_UNSPECIFIED):
#: a remote subscriber never holds the engine back unless it asks to.
REMOTE_DEFAULT_POLICY: Policy = "skip"
#: SubscribeRequest.Policy value -> policy name (unset: REMOTE_DEFAULT_POLICY).
PB_TO_POLICY: dict[int, Policy] = {pb.POLICY_UNSPECIFIED: REMOTE_DEFAULT_POLICY,
                **{v: k for k, v in POLICY_TO_PB.items()}}
assert set(POLICY_TO_PB) == set(POLICIES)


class PolicyNotAllowedError(InvalidArgumentError):
    """The server does not let remote subscribers use this policy
    (PERMISSION_DENIED / POLICY_NOT_ALLOWED); ``allowed`` names the ones it does."""

    def __init__(self, message: str, allowed=()):
        super().__init__(message)
        self.allowed = tuple(allowed)


def allowed_policies(policies) -> tuple[str, ...]:
    """A server's allowed policies, checked: names of POLICIES (a list or
    "skip,disconnect"), at least one. Raises InvalidArgumentError."""
    if isinstance(policies, str):
        policies = [p.strip() for p in policies.split(",") if p.strip()]
    names = tuple(dict.fromkeys(policies))
    unknown = [p for p in names if p not in POLICIES]
    if unknown or not names:
        raise InvalidArgumentError(
            f"allowed policies must be some of {', '.join(POLICIES)}, got {list(policies)}")
    return names


def check_policy(request: StreamRequest, allowed: tuple[str, ...]) -> StreamRequest:
    """The request if its policy is among ``allowed``; else PolicyNotAllowedError."""
    if request.policy not in allowed:
        raise PolicyNotAllowedError(
            f"policy '{request.policy}' is not allowed by this server: use "
            f"{' or '.join(allowed)} (mdstream serve --allowed-policies)", allowed)
    return request

class UnauthenticatedError(MDStreamError):
    """The call carries no token, or one the server does not know
    (UNAUTHENTICATED / UNAUTHENTICATED)."""


class PermissionDeniedError(MDStreamError):
    """The caller's token does not allow this operation or these symbols
    (PERMISSION_DENIED / NOT_ENTITLED); ``operation`` names what was refused."""

    def __init__(self, message: str, operation: str = ""):
        super().__init__(message)
        self.operation = operation


#: What a server without a paper venue answers to Trade, GetOrders and GetPositions.
NO_PAPER_VENUE_MESSAGE = ("this server has no paper venue; start it with mdstream serve "
                          "--paper-venue")


class NoPaperVenueError(MDStreamError):
    """The server has no paper venue: it takes no orders (FAILED_PRECONDITION /
    NO_PAPER_VENUE)."""


class UnknownAccountError(InvalidArgumentError):
    """A trading call names an account the paper venue does not have
    (NOT_FOUND / UNKNOWN_ACCOUNT); ``account`` is its name."""

    def __init__(self, message: str, account: str = ""):
        super().__init__(message)
        self.account = account


#: The symbols one request may name (SubscribeRequest, SnapshotRequest).
MAX_REQUEST_SYMBOLS = 10_000
#: The largest request message a server takes (grpc.max_receive_message_length).
MAX_REQUEST_BYTES = 1 << 20
#: The names an error echoes back at most (the rest are counted).
ECHO_LIMIT = 10
_ECHO_NAME_CHARS = 64


def shown_names(names, limit: int = ECHO_LIMIT) -> tuple[list[str], int]:
    """The first ``limit`` names (each cut to 64 characters) and how many more there are."""
    names = list(names)
    return ([n if len(n) <= _ECHO_NAME_CHARS else n[:_ECHO_NAME_CHARS] + "..."
             for n in (str(x) for x in names[:limit])], max(0, len(names) - limit))


def check_symbol_count(symbols) -> None:
    """InvalidArgumentError when a request names more than MAX_REQUEST_SYMBOLS symbols."""
    if symbols is not None and len(symbols) > MAX_REQUEST_SYMBOLS:
        raise InvalidArgumentError(
            f"a request may name at most {MAX_REQUEST_SYMBOLS:,} symbols, got {len(symbols):,}")


#: SubscribeRequest.max_wait_us: 0 to one second, in microseconds.
MAX_WAIT_US = round(MAX_WAIT_S * 1e6)
#: SubscribeRequest.heartbeat_interval_ms: 0 means this default.
DEFAULT_HEARTBEAT_MS = round(DEFAULT_HEARTBEAT_INTERVAL_S * 1000)
HEARTBEAT_RANGE_MS = tuple(round(s * 1000) for s in HEARTBEAT_INTERVAL_RANGE_S)


# -- requests -------------------------------------------------------------------

def request_to_proto(request: StreamRequest) -> pb.SubscribeRequest:
    """The SubscribeRequest message of a StreamRequest (seconds become
    microseconds and milliseconds; ``from_seq`` is set only when given).

    Raises InvalidArgumentError (with ``code`` INVALID_ARGUMENT, as the
    server would answer) for a frame larger than MAX_TICKS_PER_FRAME.
    """
    try:
        request.check_frame_limit()
    except InvalidArgumentError as exc:
        exc.code = grpc.StatusCode.INVALID_ARGUMENT
        exc.details = str(exc)
        raise
    msg = pb.SubscribeRequest(
        symbols=request.symbols or (),
        policy=pb.POLICY_UNSPECIFIED if request.policy is None else POLICY_TO_PB[request.policy],
        max_ticks_per_frame=request.max_ticks_per_frame,
        max_wait_us=round(request.max_wait * 1e6),
        heartbeat_interval_ms=round(request.heartbeat_interval * 1000),
        snapshot=request.snapshot,
        # mdstream's clients absorb StreamResults heartbeats (ResultStream.heartbeat).
        result_heartbeats=True,
        fields=request.fields or (),
        kinds=[KIND_TO_PB[k] for k in request.kinds or ()],
        conflate_ms=round(request.conflate * 1000) if request.conflate else 0)
    for bound in ("min_size", "min_price", "max_price"):
        if getattr(request, bound) is not None:
            setattr(msg, bound, getattr(request, bound))
    if request.from_seq is not None:
        msg.from_seq = request.from_seq
    return msg


def request_from_proto(msg: pb.SubscribeRequest) -> StreamRequest:
    """The StreamRequest of a SubscribeRequest message; 0 (or unset) means
    the default for max_ticks_per_frame, heartbeat_interval_ms and policy
    (REMOTE_DEFAULT_POLICY, skip; not the in-process default, block).

    Raises InvalidArgumentError naming the wire field and its range (the
    server answers INVALID_ARGUMENT with that message). Whether the symbols
    exist is the engine's to say (UnknownSymbolError).
    """
    policy = PB_TO_POLICY.get(msg.policy)
    if policy is None:
        raise InvalidArgumentError(
            f"invalid policy {msg.policy}: use POLICY_BLOCK (1), POLICY_SKIP (2) or "
            f"POLICY_DISCONNECT (3), or leave it unset for {REMOTE_DEFAULT_POLICY}")
    if msg.max_wait_us > MAX_WAIT_US:
        raise InvalidArgumentError(
            f"max_wait_us {msg.max_wait_us} is too large: use 0 to {MAX_WAIT_US} microseconds")
    hb = msg.heartbeat_interval_ms or DEFAULT_HEARTBEAT_MS
    lo, hi = HEARTBEAT_RANGE_MS
    if not lo <= hb <= hi:
        raise InvalidArgumentError(
            f"heartbeat_interval_ms {hb} is out of range: use {lo} to {hi} "
            f"(or 0 for the default {DEFAULT_HEARTBEAT_MS})")
    check_symbol_count(msg.symbols)
    from_seq = msg.from_seq if msg.HasField("from_seq") else None
    request = StreamRequest(tuple(msg.symbols) or None, policy,
                            msg.max_ticks_per_frame or DEFAULT_TICKS_PER_FRAME,
                            msg.max_wait_us / 1e6, hb / 1000.0, from_seq, msg.snapshot,
                            tuple(msg.fields) or None, _kinds_from_proto(msg.kinds),
                            msg.min_size if msg.HasField("min_size") else None,
                            msg.min_price if msg.HasField("min_price") else None,
                            msg.max_price if msg.HasField("max_price") else None,
                            msg.conflate_ms / 1000.0 if msg.conflate_ms else None)
    return request.check_frame_limit()


#: Kind enum value of mdstream.proto -> StreamRequest kind name.
PB_TO_KIND = {pb.KIND_TRADE: "trade", pb.KIND_QUOTE: "quote", pb.KIND_BAR: "bar"}
KIND_TO_PB = {name: value for value, name in PB_TO_KIND.items()}


def _kinds_from_proto(kinds) -> tuple[str, ...] | None:
    unknown = [k for k in kinds if k not in PB_TO_KIND]
    if unknown:
        raise InvalidArgumentError(
            f"unknown kind {', '.join(map(str, unknown))}: use KIND_TRADE (0), KIND_QUOTE (1) "
            "or KIND_BAR (2), or leave kinds empty for every kind")
    return tuple(PB_TO_KIND[k] for k in kinds) or None


# -- errors ---------------------------------------------------------------------

#: The domain of every ErrorInfo mdstream sends.
ERROR_DOMAIN = "mdstream.dev"

#: Trailing metadata of the first servers (still sent, and read when a
#: status has no ErrorInfo): the error's kind, and its particulars.
LEGACY_ERROR_KEY = "mdstream-error"
LEGACY_KEYS = {                  # ErrorInfo metadata key -> legacy trailing metadata key
    "symbols": "mdstream-unknown-symbols-bin",     # JSON list of names (binary header)
    "oldest_seq": "mdstream-oldest-seq",
    "path": "mdstream-journal-path",
    "offset": "mdstream-journal-offset",
}


class ServerShutdownError(MDStreamError):
    """The server is shutting down (sent as UNAVAILABLE / SERVER_SHUTDOWN)."""


def _no_metadata(exc) -> dict:
    return {}


def _unknown_symbol_message(exc: UnknownSymbolError) -> str:
    """A short message: a few unknown names, the count of the rest, and
    (from the engine's message) what it knows, cut to a bounded length."""
    shown, more = shown_names(exc.symbols)
    names = ", ".join(repr(s) for s in shown) + (f" and {more:,} more" if more else "")
    text = f"unknown symbol{'s' if len(exc.symbols) > 1 else ''}: {names}"
    known = str(exc).partition("; the engine knows: ")[2]
    if known:
        text += "; the engine knows: " + (known if len(known) <= 600 else known[:600] + "...")
    elif "; the engine has no symbols yet" in str(exc):
        text += "; the engine has no symbols yet"
    elif str(exc).endswith("ListSymbols gives the list."):
        text += ". ListSymbols gives the list."
    return text


def _unknown_symbol_metadata(exc: UnknownSymbolError) -> dict:
    shown, more = shown_names(exc.symbols)
    meta = {"symbols": ",".join(shown)}
    if more:
        meta["more"] = str(more)
    return meta


def _journal_corrupt_message(exc: JournalCorruptError) -> str:
    # The file's name only: the server's paths stay in its log.
    return (f"damaged journal: segment {_file_name(exc.path)} at byte offset {exc.offset}: "
            f"{exc.reason}; it is not served")


def _file_name(path) -> str:
    import os

    return os.path.basename(str(path))


def _without_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (a file's name)."""
    import re

    return re.sub(r"(?<![\w.])/(?:[^\s:;,'\"/]+/)*([^\s:;,'\"/]+)", r"\1", text)


def _unknown_symbol(details: str, meta: dict) -> MDStreamError:
    exc = UnknownSymbolError([s for s in meta.get("symbols", "").split(",") if s])
    exc.args = (details,)            # the server's message names what it knows
    return exc


def _journal_corrupt(details: str, meta: dict) -> MDStreamError:
    # The server's journal is damaged at this file and offset; the message
    # is the server's (it names both).
    exc = JournalCorruptError(meta.get("path", "?"), int(meta.get("offset", -1)), details, False)
    exc.args = (f"DATA_LOSS from the server: {details}",)
    return exc


def _journal_unavailable(details: str, meta: dict) -> MDStreamError:
    # The server's journal cannot be written (the message names the file and
    # the OS error): UNAVAILABLE, so a resuming stream tries again later.
    try:
        err = int(meta.get("errno", 0))
    except ValueError:
        err = 0
    return JournalUnavailableError(meta.get("path", "?"), err, meta.get("retrying") == "true",
                                   details)


@dataclass(frozen=True)
class ErrorRule:
    """How one mdstream exception crosses the wire.

    Server side: an exception that is an instance of ``error`` ends the call
    with ``code`` and the message ``message(exc)``, an ErrorInfo of
    ``reason`` (domain ERROR_DOMAIN) with metadata ``metadata(exc)`` (str ->
    str), and the legacy key ``mdstream-error: legacy``. Client side:
    ``rebuild(details, metadata)`` makes the exception again (None: the
    client raises a RemoteError with the status code).
    """

    error: type
    code: grpc.StatusCode
    reason: str
    legacy: str
    message: Callable[[Any], str]          # takes an instance of ``error``
    rebuild: Callable[[str, dict], MDStreamError] | None
    metadata: Callable[[Any], dict] = _no_metadata


#: In matching order (a subclass before its base class):
#:
#: ======================== ================== ===================== =====================
#: exception                status             ErrorInfo reason      ErrorInfo metadata
#: ======================== ================== ===================== =====================
#: UnknownSymbolError       INVALID_ARGUMENT   UNKNOWN_SYMBOL        symbols ("A,B", the first
#:                                                                   ten), more (the rest's count)
#: UnauthenticatedError     UNAUTHENTICATED    UNAUTHENTICATED
#: UnknownAccountError      NOT_FOUND          UNKNOWN_ACCOUNT       account
#: NoPaperVenueError        FAILED_PRECONDITION NO_PAPER_VENUE
#: PermissionDeniedError    PERMISSION_DENIED  NOT_ENTITLED          operation
#: PolicyNotAllowedError    PERMISSION_DENIED  POLICY_NOT_ALLOWED    allowed ("skip,disconnect")
#: InvalidArgumentError     INVALID_ARGUMENT   INVALID_ARGUMENT
#: SlowConsumerError        RESOURCE_EXHAUSTED SLOW_CONSUMER
#: TooManySubscribersError  RESOURCE_EXHAUSTED TOO_MANY_SUBSCRIBERS
#: OutOfRangeError          OUT_OF_RANGE       OUT_OF_RANGE          oldest_seq
#: JournalUnavailableError  UNAVAILABLE        JOURNAL_UNAVAILABLE   path (the file name), errno, error, retrying
#: StreamChangedError       FAILED_PRECONDITION STREAM_CHANGED       expected, actual
#: JournalCorruptError      DATA_LOSS          JOURNAL_CORRUPT       path (the file name), offset
#: JournalError             DATA_LOSS          DATA_LOSS
#: ServerShutdownError      UNAVAILABLE        SERVER_SHUTDOWN
#: EngineStateError         UNAVAILABLE        ENGINE_STATE
#: ======================== ================== ===================== =====================
ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(UnknownSymbolError, grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_SYMBOL",
              "UnknownSymbolError", _unknown_symbol_message, _unknown_symbol,
              _unknown_symbol_metadata),
    ErrorRule(UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED",
              "UnauthenticatedError", str, lambda d, m: UnauthenticatedError(d)),
    ErrorRule(UnknownAccountError, grpc.StatusCode.NOT_FOUND, "UNKNOWN_ACCOUNT",
              "UnknownAccountError", str,
              lambda d, m: UnknownAccountError(d, m.get("account", "")),
              lambda e: {"account": shown_names([e.account])[0][0]}),
    ErrorRule(NoPaperVenueError, grpc.StatusCode.FAILED_PRECONDITION, "NO_PAPER_VENUE",
              "NoPaperVenueError", str, lambda d, m: NoPaperVenueError(d)),
    ErrorRule(PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED, "NOT_ENTITLED",
              "PermissionDeniedError", str,
              lambda d, m: PermissionDeniedError(d, m.get("operation", "")),
              lambda e: {"operation": e.operation}),
    ErrorRule(PolicyNotAllowedError, grpc.StatusCode.PERMISSION_DENIED, "POLICY_NOT_ALLOWED",
              "PolicyNotAllowedError", str,
              lambda d, m: PolicyNotAllowedError(
                  d, [p for p in m.get("allowed", "").split(",") if p]),
              lambda e: {"allowed": ",".join(e.allowed)}),
    ErrorRule(InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
              "InvalidArgumentError", str, lambda d, m: InvalidArgumentError(d)),
    ErrorRule(SlowConsumerError, grpc.StatusCode.RESOURCE_EXHAUSTED, "SLOW_CONSUMER",
              "SlowConsumerError", lambda e: f"too slow: {e}", lambda d, m: SlowConsumerError(d)),
    ErrorRule(TooManySubscribersError, grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_SUBSCRIBERS",
              "TooManySubscribersError", lambda e: f"too many subscribers: {e}",
              lambda d, m: TooManySubscribersError(d)),
    ErrorRule(OutOfRangeError, grpc.StatusCode.OUT_OF_RANGE, "OUT_OF_RANGE", "OutOfRangeError",
              str, lambda d, m: OutOfRangeError(d, int(m.get("oldest_seq", -1))),
              lambda e: {"oldest_seq": str(e.oldest)}),
    ErrorRule(JournalUnavailableError, grpc.StatusCode.UNAVAILABLE, "JOURNAL_UNAVAILABLE",
              "JournalUnavailableError", lambda e: _without_paths(str(e)), _journal_unavailable,
              lambda e: {"path": _file_name(e.path), "errno": str(e.errno), "error": e.strerror,
                         "retrying": "true" if e.retrying else "false"}),
    ErrorRule(StreamChangedError, grpc.StatusCode.FAILED_PRECONDITION, "STREAM_CHANGED",
              "StreamChangedError", str,
              lambda d, m: StreamChangedError(m.get("expected", ""), m.get("actual", ""), d),
              lambda e: {"expected": e.expected, "actual": e.actual}),
    ErrorRule(JournalCorruptError, grpc.StatusCode.DATA_LOSS, "JOURNAL_CORRUPT",
              "JournalCorruptError", _journal_corrupt_message, _journal_corrupt,
              lambda e: {"path": _file_name(e.path), "offset": str(e.offset)}),
    ErrorRule(JournalError, grpc.StatusCode.DATA_LOSS, "DATA_LOSS", "JournalError",
              lambda e: f"the journal cannot be read: {_without_paths(str(e))}", None),
    ErrorRule(ServerShutdownError, grpc.StatusCode.UNAVAILABLE, "SERVER_SHUTDOWN",
              "ServerShutdown", str, None),
    ErrorRule(EngineStateError, grpc.StatusCode.UNAVAILABLE, "ENGINE_STATE", "EngineStateError",
              lambda e: f"the engine cannot serve: {e}", None),
)

_BY_REASON = {r.reason: r for r in ERROR_RULES}
_BY_LEGACY = {r.legacy: r for r in ERROR_RULES}


def rule_for_error(exc: BaseException) -> ErrorRule | None:
    """The rule of a server-side exception (None: not an error of the contract)."""
    for rule in ERROR_RULES:
        if isinstance(exc, rule.error):
            return rule
    return None


def request_error_fields(exc: BaseException) -> tuple[grpc.StatusCode, str, str] | None:
    """A Trade request's error as (code, ErrorInfo reason, message) for its
    RequestError message, by the same table as a call's status (None: not an
    error of the contract). One difference: an unknown symbol in an order is
    NOT_FOUND (in a subscription it is INVALID_ARGUMENT)."""
    rule = rule_for_error(exc)
    if rule is None:
        return None
    code = grpc.StatusCode.NOT_FOUND if rule.error is UnknownSymbolError else rule.code
    return code, rule.reason, rule.message(exc)


def rule_for_reason(reason: str | None = None, legacy: str | None = None) -> ErrorRule | None:
    """The rule of an ErrorInfo reason, or else of a legacy ``mdstream-error`` kind."""
    if reason is not None and reason in _BY_REASON:
        return _BY_REASON[reason]
    return _BY_LEGACY.get(legacy) if legacy is not None else None


def legacy_metadata(rule: ErrorRule, metadata: dict) -> tuple:
    """The trailing metadata the first servers sent for this error."""
    out: list[tuple[str, str | bytes]] = [(LEGACY_ERROR_KEY, rule.legacy)]
    for key, value in metadata.items():
        legacy = LEGACY_KEYS.get(key)
        if legacy is None:
            continue
        if legacy.endswith("-bin"):
            out.append((legacy, json.dumps(value.split(",") if value else []).encode()))
        else:
            out.append((legacy, value))
    return tuple(out)


def metadata_from_legacy(trailing: dict) -> dict:
    """ErrorInfo-style metadata read back from the legacy trailing keys."""
    out = {}
    for key, legacy in LEGACY_KEYS.items():
        if legacy in trailing:
            value = trailing[legacy]
            out[key] = ",".join(json.loads(value)) if legacy.endswith("-bin") else str(value)
    return out


# -- client stubs -----------------------------------------------------------------

def _with_metadata(method, metadata: tuple):
    """A multicallable that sends ``metadata`` with every call."""
    def call(request, **kwargs):
        return method(request, metadata=metadata, **kwargs)
    return call


def bind_methods(client, channel, metadata: tuple = ()) -> None:
    """The service's methods on a channel (a grpc or a grpc.aio one: same
    calls), as ``client._stream_batches`` (frames stay bytes: the codec
    decodes them), ``_stream_results``, ``_get_snapshot``, ``_get_stats``,
    ``_list_symbols``, ``_trade``, ``_get_orders`` and ``_get_positions``; each sends ``metadata`` (pairs) with its calls."""
    client._stream_batches = channel.unary_stream(
        METHOD_PREFIX + "StreamBatches", request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=None)
    client._stream_results = channel.unary_stream(
        METHOD_PREFIX + "StreamResults", request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=pb.Result.FromString)
    client._get_snapshot = channel.unary_unary(
        METHOD_PREFIX + "GetSnapshot", request_serializer=pb.SnapshotRequest.SerializeToString,
        response_deserializer=pb.Snapshot.FromString)
    client._get_stats = channel.unary_unary(
        METHOD_PREFIX + "GetStats", request_serializer=pb.StatsRequest.SerializeToString,
        response_deserializer=pb.Stats.FromString)
    client._list_symbols = channel.unary_unary(
        METHOD_PREFIX + "ListSymbols", request_serializer=pb.ListSymbolsRequest.SerializeToString,
        response_deserializer=pb.ListSymbolsResponse.FromString)
    client._trade = channel.stream_stream(
        METHOD_PREFIX + "Trade", request_serializer=pb.TradeRequest.SerializeToString,
        response_deserializer=pb.TradeResponse.FromString)
    client._get_orders = channel.unary_unary(
        METHOD_PREFIX + "GetOrders", request_serializer=pb.OrdersRequest.SerializeToString,
        response_deserializer=pb.OrdersResponse.FromString)
    client._get_positions = channel.unary_unary(
        METHOD_PREFIX + "GetPositions", request_serializer=pb.PositionsRequest.SerializeToString,
        response_deserializer=pb.PositionsResponse.FromString)
    if metadata:          # e.g. the authorization header of a token
        for name in ("_stream_batches", "_stream_results", "_get_snapshot", "_get_stats",
                     "_list_symbols", "_trade", "_get_orders", "_get_positions"):
            setattr(client, name, _with_metadata(getattr(client, name), tuple(metadata)))
