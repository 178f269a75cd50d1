"""The calls of a client without their I/O, shared by Client and AsyncClient.

Each call is a request built from the Python arguments and a reader of the
answer; the sync client sends them with grpc, the asyncio one with grpc.aio,
and neither converts anything itself. ``ClientSetup`` is the part of the
constructor both share (security, channel options, the health method);
``ClientCore`` the state both keep (one channel per target, failing over,
the choice of stream class).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence, Union

import grpc
from grpc_health.v1 import health_pb2

from mdstream.errors import InvalidArgumentError
from mdstream.errors import MDStreamError
from mdstream.grpc.connect import ClientState, ConnectError
from mdstream.grpc.contract import CHANNEL_OPTIONS, bind_methods, channel_options, request_to_proto
from mdstream.grpc.frames import symbol_names
from mdstream.grpc.reconnect import Reconnect
from mdstream.grpc.tls import client_security
from mdstream.request import (DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_TICKS_PER_FRAME, Policy,
                              StreamRequest, field_list, kind_list, symbol_list)
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["ClientSetup", "ClientCore", "Resume", "Symbols", "stream_request", "resume_policy",
           "snapshot_request", "read_symbols", "HEALTH_CHECK", "health_request", "read_health",
           "DEFAULT_TIMEOUT_S"]

#: Seconds a unary call (snapshot, list_symbols, get_stats, health) may take.
DEFAULT_TIMEOUT_S = 10.0

#: What ``symbols=`` takes: names, "AAPL,MSFT", or None for every symbol.
Symbols = Union[Iterable[str], str, None]
#: What ``resume=`` takes: False, True (the default Reconnect) or a Reconnect.
Resume = Union[bool, Reconnect]

#: The standard health service's Check method (grpc.health.v1).
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


@dataclass(frozen=True)
class ClientSetup:
    """What a client's constructor arguments mean: the channel credentials
    (None: plaintext), the metadata sent with every call (a token) and the
    channel options (the clients' defaults, the caller's replacing them)."""

    target: str
    credentials: grpc.ChannelCredentials | None
    metadata: tuple[tuple[str, str], ...]
    options: list[tuple[str, Any]]
    #: Every server given (``target`` is the one in use): edges serving one stream.
    targets: tuple[str, ...] = ()

    @classmethod
    def of(cls, target: str | Sequence[str], options: Sequence[tuple[str, Any]] = (), *,
           credentials: grpc.ChannelCredentials | None = None, tls: bool | str | None = None,
           tls_cert: str | None = None, tls_key: str | None = None,
           token: str | None = None, extra_defaults: Sequence[tuple[str, Any]] = ()
           ) -> "ClientSetup":
        """``target``: "host:port", or several as a list or comma-separated.
        Raises InvalidArgumentError for an empty target, unreadable TLS files
        or a token that is not a single line."""
        given = target.split(",") if isinstance(target, str) else list(target)
        targets = tuple(t.strip() for t in given if t and t.strip())
        if not targets:
            raise InvalidArgumentError("the target is empty: give \"host:port\" (or several, "
                                       "comma-separated)")
        creds, metadata = client_security(credentials, tls, tls_cert, tls_key, token)
        return cls(targets[0], creds, tuple(metadata),
                   channel_options([*extra_defaults, *CHANNEL_OPTIONS], options), targets)

    def next_target(self) -> "ClientSetup | None":
        """The same setup for the next target in turn (None: only one)."""
        if len(self.targets) < 2:
            return None
        following = self.targets[(self.targets.index(self.target) + 1) % len(self.targets)]
        return replace(self, target=following)

    @property
    def tls(self) -> bool:
        """Whether the channel uses TLS."""
        return self.credentials is not None

    def describe(self) -> str:
        """"tls" or "plaintext", and "token" when one is sent (never the token)."""
        return ("tls" if self.tls else "plaintext") + (" token" if self.metadata else "")


class ClientCore:
    """What Client and AsyncClient keep alike, without I/O: the targets, one
    channel per target (made by ``_make_channel``: grpc's or grpc.aio's),
    the service's methods bound to the one in use, failing over, and the
    stream class a stream call returns (``_batch_stream`` ... : each
    client's own)."""

    #: "mdstream.Client" or "mdstream.AsyncClient", for repr().
    _name: str
    #: The stream classes: plain and resuming, for StreamBatches and StreamResults.
    _batch_stream: Callable[..., Any]
    _resuming_batch_stream: Callable[..., Any]
    _result_stream: Callable[..., Any]
    _resuming_result_stream: Callable[..., Any]

    # The service's methods on the channel (contract.bind_methods).
    _stream_batches: Callable[..., Any]
    _stream_results: Callable[..., Any]
    _get_snapshot: Callable[..., Any]
    _get_stats: Callable[..., Any]
    _list_symbols: Callable[..., Any]
    _trade: Callable[..., Any]
    _get_orders: Callable[..., Any]
    _get_positions: Callable[..., Any]

    def _start(self, setup: ClientSetup, timeout: float) -> None:
        """The constructor's part both clients share."""
        self.timeout = timeout
        #: Every server given; calls go to ``target`` (see fail_over).
        self.targets: list[str] = list(setup.targets)
        self._status = ClientState(setup)
        self._channels: dict[str, Any] = {}
        self._use(setup)
        self.streams_opened = 0

    def _make_channel(self, setup: ClientSetup) -> Any:
        """A new channel to ``setup.target`` (grpc's or grpc.aio's)."""
        raise NotImplementedError

    def _use(self, setup: ClientSetup) -> None:
        """Send calls to ``setup.target`` from now on (one channel per target, kept)."""
        self._setup = self._status.setup = setup
        self.target = setup.target
        if setup.target not in self._channels:
            self._channels[setup.target] = self._make_channel(setup)
        self._channel = self._channels[setup.target]
        bind_methods(self, self._channel, setup.metadata)
        self._health = self._channel.unary_unary(
            HEALTH_CHECK, request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)

    @property
    def state(self) -> str:
        """"new", "connected", "unreachable: <cause>" or "closed" (see ClientState)."""
        return self._status.state

    def fail_over(self) -> bool:
        """Send calls to the next target from now on (False: there is only
        one); streams already open stay where they are. A ``resume=True``
        stream calls it when its server fails, and resumes on the next."""
        following = self._setup.next_target()
        if following is None:
            return False
        self._use(following)
        return True

    def _failed_probe(self, exc: grpc.RpcError, fail_fast: bool, untried: int) -> int | None:
        """wait_ready's step after a failed health check, with ``untried``
        targets not yet given up: None if a server answered all the same
        (ready); else the targets still untried: one fewer after failing
        over to the next (try it at once), the same to wait a moment and try
        again. Raises the ConnectError (``fail_fast``) once every target
        has failed so."""
        try:
            if self._status.probe_failed(exc, fail_fast):
                return None
        except ConnectError:
            untried -= 1
            if untried <= 0 or not self.fail_over():
                raise
        return untried

    def __repr__(self) -> str:
        return (f"<{self._name} {self.target} {self._setup.describe()} {self.state} "
                f"streams_opened={self.streams_opened}>")

    def _error(self, exc: grpc.RpcError) -> MDStreamError:
        return self._status.error(exc)

    def _open_batches(self, request: StreamRequest, message: pb.SubscribeRequest,
                      resume: Resume, heartbeats: bool, snapshot: bool,
                      timeout: float | None) -> Any:
        """A stream_batches call's stream (resuming or not), counted."""
        self.streams_opened += 1
        reconnect = resume_policy(resume)
        if reconnect is not None:
            return self._resuming_batch_stream(self, request, reconnect, heartbeats=heartbeats)
        return self._batch_stream(self._stream_batches(message, timeout=timeout), heartbeats,
                                  snapshot, errors=self._error, fields=request.fields)

    def _open_results(self, request: StreamRequest, message: pb.SubscribeRequest,
                      resume: Resume, timeout: float | None) -> Any:
        """A stream_results call's stream (resuming or not), counted."""
        self.streams_opened += 1
        reconnect = resume_policy(resume)
        if reconnect is not None:
            return self._resuming_result_stream(self, request, reconnect)
        return self._result_stream(self._stream_results(message, timeout=timeout),
                                   errors=self._error)


def stream_request(symbols: Symbols, policy: Policy | None, *,
                   max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME, max_wait: float = 0.0,
                   heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL_S,
                   from_seq: int | None = None, snapshot: bool = False, resume: Resume = False,
                   timeout: float | None = None,
                   fields: Iterable[str] | str | None = None,
                   kinds: Iterable[str] | str | None = None, min_size: float | None = None,
                   min_price: float | None = None, max_price: float | None = None,
                   conflate: float | None = None
                   ) -> tuple[StreamRequest, pb.SubscribeRequest]:
    """A stream call's request, checked against the wire's limits: the
    StreamRequest and its SubscribeRequest message. Raises InvalidArgumentError
    (settings out of range, ``timeout`` with ``resume``, an unknown field:
    the message lists the valid ones)."""
    request = StreamRequest(symbol_list(symbols), policy, max_ticks_per_frame, max_wait,
                            heartbeat_interval, from_seq, snapshot, field_list(fields),
                            kind_list(kinds), min_size, min_price, max_price, conflate)
    message = request_to_proto(request)
    if resume and timeout is not None:
        raise InvalidArgumentError("timeout cannot be combined with resume")
    return request, message


def resume_policy(resume: Resume) -> Reconnect | None:
    """The Reconnect of ``resume=`` (None: the stream does not resume)."""
    if isinstance(resume, Reconnect):
        return resume
    return Reconnect() if resume else None


def snapshot_request(symbols: Symbols) -> pb.SnapshotRequest:
    """GetSnapshot's request ("AAPL,MSFT" is two names; None: every symbol)."""
    if isinstance(symbols, str):
        symbols = [s for s in symbols.split(",") if s]
    return pb.SnapshotRequest(symbols=list(symbols or ()))


def read_symbols(resp: pb.ListSymbolsResponse) -> list[str]:
    """ListSymbols' answer: the names by id (a token limited to some symbols
    sees those only, with no holes)."""
    return [name for name in symbol_names(resp) if name]


def health_request(service: str = "") -> health_pb2.HealthCheckRequest:
    """The health Check of ``service`` ("": the server as a whole;
    "mdstream.v1.MDStream": the market-data service)."""
    return health_pb2.HealthCheckRequest(service=service)


def read_health(resp: health_pb2.HealthCheckResponse) -> str:
    """"SERVING", "NOT_SERVING" (e.g. its journal cannot be written),
    "SERVICE_UNKNOWN" or "UNKNOWN"."""
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))
