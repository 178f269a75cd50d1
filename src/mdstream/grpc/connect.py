"""Why a client could not connect, said once and clearly.

grpc reports every failed connection as UNAVAILABLE with a free-text
``details`` such as ``failed to connect to all addresses; last error:
UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: Connection
refused``. :func:`connect_cause` reads that text (grpc exposes no structured
cause) and :class:`ConnectError` says what happened and what to do:

- ``refused``: nothing listens on host:port (start the server, or fix the port);
- ``tls``: the TLS handshake failed: TLS on one side only, or a server
  certificate the given CA does not trust;
- ``closed``: a plaintext client whose connection the server closed during
  the handshake (typically a server that requires TLS);
- ``resolve``: the host name does not resolve.

:class:`FailureLog` logs a reconnecting stream's outage once (and once more
if its cause changes, and when it is over) instead of once per attempt.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import grpc

from mdstream.errors import MDStreamError
from mdstream.grpc.errors import RemoteError, translate_error

if TYPE_CHECKING:
    from mdstream.grpc.calls import ClientSetup

__all__ = ["ConnectError", "connect_cause", "call_error", "ClientState", "FailureLog", "CAUSES"]

log = logging.getLogger("mdstream.grpc.client")

#: cause -> what it means, as said in the error.
CAUSES = {
    "refused": "nothing listening (connection refused)",
    "tls": "TLS handshake failed",
    "closed": "the server closed the connection during the handshake",
    "resolve": "the host name does not resolve",
}

# Substrings of grpc's details (grpc core's messages; checked against
# grpcio 1.7x: e.g. "Tls handshake failed (TSI_PROTOCOL_FAILURE)",
# "Socket closed", "errors resolving host:port"), first match wins.
_MARKERS = (
    ("refused", ("connection refused", "connect: connection refused")),
    ("tls", ("ssl handshake", "ssl_error", "tsi_", "handshake failed", "certificate verify")),
    ("resolve", ("dns resolution failed", "errors resolving", "name resolution",
                 "could not resolve", "domain name not found", "address lookup failed")),
    ("closed", ("socket closed", "connection reset", "end of tcp stream")),
)
# A connection lost mid-stream says "Socket closed" too: "closed" counts only
# while connecting.
_CONNECTING = ("failed to connect to all addresses", "connections to all backends failing")


def connect_cause(details: str) -> str | None:
    """The cause of an UNAVAILABLE status's ``details`` if it is a failure to
    connect (a key of CAUSES), else None (e.g. a server shutting down)."""
    text = details.lower()
    for cause, markers in _MARKERS:
        if any(m in text for m in markers):
            if cause == "closed" and not any(m in text for m in _CONNECTING):
                return None
            return cause
    return None


def _advice(cause: str, target: str, tls: bool) -> str:
    if cause == "refused":
        port = target.rsplit(":", 1)[-1]
        return (f"no mdstream server answered at {target}: nothing listening there "
                f"(connection refused); start one (mdstream serve --port {port}) or check "
                f"the host and port")
    if cause == "tls" and tls:
        return (f"TLS handshake with {target} failed: the server may serve plaintext "
                f"(connect without tls= or --tls), or its certificate is not signed by the CA "
                f"given (tls='ca.pem', --tls-ca) or does not name this host")
    if cause == "tls":
        return (f"TLS handshake with {target} failed: the server speaks TLS and this client "
                f"plaintext (connect with tls=True or tls='ca.pem'; on the command line "
                f"--tls or --tls-ca ca.pem)")
    if cause == "closed" and not tls:
        return (f"{target} closed the connection during the handshake: the server may "
                f"require TLS (connect with tls=True or tls='ca.pem'; on the command line "
                f"--tls or --tls-ca ca.pem)")
    if cause == "closed":
        return f"{target} closed the connection during the handshake"
    host = target.rsplit(":", 1)[0]
    return f"cannot connect to {target}: the host name {host!r} does not resolve"


class ConnectError(RemoteError):
    """The client could not connect to its server (``code`` UNAVAILABLE).

    ``target`` is the "host:port" given to the client, ``cause`` one of
    CAUSES (``refused``: nothing listening; ``tls``: TLS mismatch or an
    untrusted certificate; ``closed``: the server hung up during the
    handshake, typically TLS required; ``resolve``: unknown host),
    ``details`` what happened and what to do, and ``grpc_details`` grpc's
    own text; ``reason`` is ``CONNECT_`` + the cause in capitals (set by the
    client: no server sent it). Raised at once by the first call (or
    ``wait_ready()``) instead of waiting out a timeout; resuming streams
    retry it (the server may come back) and raise ReconnectError at last.
    """

    def __init__(self, target: str, cause: str, details: str, tls: bool = False):
        if cause not in CAUSES:
            raise ValueError(f"cause must be one of {', '.join(CAUSES)}, got {cause!r}")
        super().__init__(grpc.StatusCode.UNAVAILABLE, _advice(cause, target, tls),
                         reason="CONNECT_" + cause.upper())
        self.target = target
        self.cause = cause
        self.grpc_details = details


def call_error(exc: grpc.RpcError, target: str, tls: bool = False) -> MDStreamError:
    """The mdstream exception of a failed call: a ConnectError when the
    client could not connect, else translate_error's."""
    code = exc.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        details = exc.details() or ""
        cause = connect_cause(details)
        if cause is not None:
            return ConnectError(target, cause, details, tls)
    return translate_error(exc)


class ClientState:
    """What a client knows of its connection, from its calls (``state`` in
    the reprs): "new" (no call yet), "connected" (the server answered),
    "unreachable: <why>" (see ConnectError), "closed"."""

    def __init__(self, setup: "ClientSetup"):
        self.setup = setup
        self.state = "new"

    def error(self, exc: grpc.RpcError) -> MDStreamError:
        """The mdstream exception of a failed call, noting a failure to connect."""
        error = call_error(exc, self.setup.target, self.setup.tls)
        if isinstance(error, ConnectError):
            self.state = f"unreachable: {error.cause}"
        elif exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            self.state = "connected"
        return error

    def probe_failed(self, exc: grpc.RpcError, fail_fast: bool) -> bool:
        """wait_ready's decision on a failed health check: True if a server
        answered all the same (no health service, a token refused...), False
        to try again; raises the ConnectError at once with ``fail_fast``."""
        error = self.error(exc)
        if isinstance(error, ConnectError):
            if fail_fast:
                raise error from None
            return False
        return exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

    def not_ready(self, timeout: float) -> RemoteError:
        """wait_ready's error when ``timeout`` seconds passed."""
        return RemoteError(grpc.StatusCode.UNAVAILABLE, f"no mdstream server answered at "
                                                         f"{self.setup.target} within {timeout} s")

    def answered(self) -> None:
        if self.state != "closed":
            self.state = "connected"


class FailureLog:
    """Logs the outages of one reconnecting stream (logger
    ``mdstream.grpc.client``): a WARNING when it first fails (and when the
    cause changes), nothing per further attempt, an INFO when a connection
    works again, with the attempts and the time it took."""

    def __init__(self, target: str, logger: logging.Logger = log):
        self.target = target
        self._log = logger
        self._down_since: float | None = None
        self._said: str | None = None
        self._attempts = 0

    def failed(self, error: BaseException) -> None:
        """A failed attempt (logged only if it is news)."""
        self._attempts += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
        said = getattr(error, "cause", None) or type(error).__name__
        if said != self._said:
            self._said = said
            self._log.warning("stream from %s is down: %s; retrying (logged once until it "
                              "works again)", self.target, error)

    def recovered(self) -> None:
        """A connection works again (logged if there was an outage)."""
        if self._down_since is None:
            return
        self._log.info("stream from %s reconnected after %d attempts in %.1f s", self.target,
                       self._attempts, time.monotonic() - self._down_since)
        self._down_since = None
        self._said = None
        self._attempts = 0
