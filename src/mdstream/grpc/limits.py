"""What every call meets before its handler: the token (mdstream.grpc.auth)
and the stream slots, in one server interceptor (CallGuard).

- Every streaming RPC (MDStream's streams, the legacy service, health
  Watch, server reflection) takes a stream slot: at most ``max_streams`` at
  once in all, and ``max_per_client`` for one client (its token's name when
  tokens are on, else its IP address). Beyond: RESOURCE_EXHAUSTED
  (TOO_MANY_SUBSCRIBERS) with a message that says which limit.
- Unary calls (GetSnapshot, GetStats, ListSymbols, Health.Check) take no
  stream slot; the server keeps threads for them beyond max_streams
  (UNARY_RESERVE), so they answer however many streams are open.
- With tokens: health needs none; other calls need a known token
  (UNAUTHENTICATED), and one allowed the call's operation (PERMISSION_DENIED).

The guard runs once per call (never per frame).
"""

from __future__ import annotations

import collections
import threading

import grpc

from mdstream.errors import MDStreamError, TooManySubscribersError
from mdstream.grpc.auth import Principal, TokenTable
from mdstream.grpc.contract import LEGACY_SERVICE_NAME, METHOD_PREFIX, PermissionDeniedError
from mdstream.grpc.errors import error_status
from mdstream.request import DEFAULT_MAX_STREAMS_PER_CLIENT

__all__ = ["CallGuard", "StreamSlots", "UNARY_RESERVE", "UNARY_QUEUE", "DEFAULT_MAX_STREAMS_PER_CLIENT",
           "client_key", "METHOD_OPERATIONS"]

#: Handler threads kept beyond max_streams for unary calls and refusals.
UNARY_RESERVE = 16
#: Unary calls that may wait for a thread (beyond: RESOURCE_EXHAUSTED); bursts
#: of snapshots, stats and health checks queue rather than fail.
UNARY_QUEUE = 256

#: MDStream method -> the token operation it needs.
METHOD_OPERATIONS = {
    METHOD_PREFIX + "StreamBatches": "stream",
    METHOD_PREFIX + "StreamResults": "stream",
    f"/{LEGACY_SERVICE_NAME}/StreamResults": "stream",
    METHOD_PREFIX + "GetSnapshot": "snapshot",
    METHOD_PREFIX + "GetStats": "stats",
    METHOD_PREFIX + "ListSymbols": "list",
    METHOD_PREFIX + "Trade": "trade",
    METHOD_PREFIX + "GetOrders": "trade",
    METHOD_PREFIX + "GetPositions": "trade",
}
_HEALTH_PREFIX = "/grpc.health.v1.Health/"


def client_key(peer: str) -> str:
    """The client part of a grpc peer string: 'ipv4:10.0.0.5:51234' -> 'ipv4:10.0.0.5'."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host, sep, _port = rest.rpartition(":")
        return f"{kind}:{host}" if sep else peer
    return peer


class StreamSlots:
    """Counts open streams, in all and per client."""

    def __init__(self, max_streams: int, max_per_client: int | None):
        self.max_streams = int(max_streams)
        self.max_per_client = int(max_per_client) if max_per_client else None
        self._lock = threading.Lock()
        self._open = 0
        self._per_client: collections.Counter = collections.Counter()

    def take(self, client: str) -> None:
        """Take a slot for ``client``; TooManySubscribersError when a limit is reached."""
        with self._lock:
            if self._open >= self.max_streams:
                raise TooManySubscribersError(
                    f"the server serves at most {self.max_streams} streams at once "
                    "(mdstream serve --max-streams); try again later")
            if self.max_per_client is not None and self._per_client[client] >= self.max_per_client:
                raise TooManySubscribersError(
                    f"this client already has {self.max_per_client} streams open, the most one "
                    "client may have (mdstream serve --max-streams-per-client); close one first")
            self._open += 1
            self._per_client[client] += 1

    def give_back(self, client: str) -> None:
        with self._lock:
            self._open -= 1
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]

    @property
    def open(self) -> int:
        with self._lock:
            return self._open


def _abort(context, exc) -> None:
    context.abort_with_status(error_status(exc)[0])  # type: ignore[index]  # exc is mapped


def _refusing(handler, exc):
    """A handler of the same kind as ``handler`` that ends the call with ``exc``'s status."""
    def refuse(request_or_iterator, context):
        _abort(context, exc)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            refuse, request_deserializer=handler.request_deserializer)
    return grpc.unary_unary_rpc_method_handler(
        refuse, request_deserializer=handler.request_deserializer)


class CallGuard(grpc.ServerInterceptor):
    """The server interceptor of tokens and stream slots (see the module)."""

    def __init__(self, slots: StreamSlots, tokens: TokenTable | None = None):
        self.slots = slots
        self.tokens = tokens

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        principal: Principal | None = None
        if self.tokens is not None and not method.startswith(_HEALTH_PREFIX):
            try:
                principal = self.tokens.principal(details.invocation_metadata)
                operation = METHOD_OPERATIONS.get(method)
                if operation is not None:
                    principal.require(operation)
                elif not principal.operations:
                    raise PermissionDeniedError(
                        f"the token '{principal.name}' allows nothing", "reflection")
            except MDStreamError as exc:
                return _refusing(handler, exc)
        if not handler.response_streaming:
            return handler
        return self._counted(handler, principal)

    def _counted(self, handler, principal: Principal | None):
        """The streaming handler, taking a stream slot for its life."""
        slots = self.slots
        inner = handler.stream_stream if handler.request_streaming else handler.unary_stream

        def behaviour(request, context):
            client = f"token:{principal.name}" if principal is not None else client_key(context.peer())
            try:
                slots.take(client)
            except TooManySubscribersError as exc:
                _abort(context, exc)
            lock = threading.Lock()
            released = []

            def release():
                with lock:
                    if released:
                        return
                    released.append(True)
                slots.give_back(client)

            # The slot is given back when the call ends (done, cancelled,
            # deadline): grpc runs the callback then. The handler's iterator
            # is returned as it is, so the frames pass through nothing more.
            if not context.add_callback(release):
                release()
                return iter(())
            return inner(request, context)

        if handler.request_streaming:
            return grpc.stream_stream_rpc_method_handler(
                behaviour, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return grpc.unary_stream_rpc_method_handler(
            behaviour, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
