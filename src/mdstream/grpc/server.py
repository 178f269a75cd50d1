"""The gRPC server: the mdstream.v1.MDStream service over an Engine.

    from mdstream import Engine, SimulatedFeed
    from mdstream.grpc import Server

    engine = Engine(feed=SimulatedFeed(symbols=["AAPL", "MSFT"]))
    with Server(engine, "127.0.0.1", 0) as server:     # port 0: a free port
        engine.start()
        print("listening on", server.address)
        ...
    engine.stop()

The standard health service (grpc.health.v1) and server reflection are
served as well, and so is the original project's service name
(``mdstream.MDStream/StreamResults``) so that its clients keep working.
The service itself is mdstream.grpc.servicer.MDStreamServicer; this module
is the server's lifecycle: binding (with a clear PortInUseError), start,
a bounded stop, and ``serve()`` with signal handling.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mdstream.errors import EngineStateError, MDStreamError
from mdstream.grpc.contract import (
    DEFAULT_BLOCK_DEADLINE_S,
    LEGACY_SERVICE_NAME,
    MAX_REQUEST_BYTES,
    SERVICE_NAME,
)
from mdstream.grpc.limits import (
    DEFAULT_MAX_STREAMS_PER_CLIENT,
    UNARY_QUEUE,
    UNARY_RESERVE,
    CallGuard,
    StreamSlots,
)
from mdstream.grpc.tls import TLSFiles, is_loopback, server_credentials
from mdstream.request import POLICIES
from mdstream.grpc.servicer import MDStreamServicer
from mdstream.grpc.identity import follow_journal

if TYPE_CHECKING:
    from mdstream.grpc.source import ResultSource

__all__ = [
    "Server",
    "MDStreamServicer",
    "PortInUseError",
    "serve",
    "SERVICE_NAME",
    "LEGACY_SERVICE_NAME",
]

log = logging.getLogger("mdstream.grpc.server")

class PortInUseError(MDStreamError, OSError):
    """The server could not listen on the address (in use, or not available here)."""

    def __str__(self) -> str:   # the message alone, without OSError's "[Errno N]"
        return self.strerror or super().__str__()


def _format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _check_port_free(host: str, port: int) -> None:
    """Fail early, with a clear message, when the address cannot be bound."""
    if port == 0:
        return
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortInUseError(errno.EADDRNOTAVAIL,
                             f"cannot listen on {_format_address(host, port)}: {exc.strerror}") from None
    family, socktype, proto, _, addr = infos[0]
    with socket.socket(family, socktype, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as grpc does
        try:
            s.bind(addr)
        except OSError as exc:
            hint = " (is another server running? pick another --port, or --port 0 for a free one)" \
                if exc.errno == errno.EADDRINUSE else ""
            raise PortInUseError(exc.errno, f"cannot listen on {_format_address(host, port)}: "
                                            f"{exc.strerror}{hint}") from None


class Server:
    """A gRPC server of one engine: MDStream, health and reflection.

    Parameters
    ----------
    engine:
        The engine to serve (or another mdstream.grpc.source.ResultSource,
        e.g. mdstream.nats.EdgeSource). The server does not start or stop it.
    host, port:
        Where to listen; port 0 picks a free port (see ``port`` after start()).
    max_streams:
        Streaming calls served at once (beyond: RESOURCE_EXHAUSTED): the
        MDStream streams, health Watch and reflection streams all count.
        Each takes one thread while it is open; UNARY_RESERVE more threads
        are kept for unary calls (snapshots, stats, health checks).
    max_streams_per_client:
        Streams one client may hold open (its token's name with tokens,
        else its IP address; default DEFAULT_MAX_STREAMS_PER_CLIENT, capped
        at max_streams; None: no per-client limit).
    tokens, detailed_stats:
        A mdstream.grpc.auth.TokenTable (None: no tokens), and whether
        GetStats lists every subscriber without tokens. See
        MDStreamServicer and mdstream.grpc.limits.
    tls:
        A mdstream.grpc.tls.TLSFiles to serve over TLS (mutual TLS with a
        client CA), or None for plaintext.
    reflection:
        Serve server reflection (default True).
    legacy_service:
        Also serve the original project's ``mdstream.MDStream/StreamResults``.
    allowed_policies, block_deadline:
        The policies remote subscribers may ask for (default: all), and how
        long (seconds) a 'block' subscriber may hold the engine back before
        it is disconnected (default 1; None: no deadline). A request without
        a policy gets 'skip'. See MDStreamServicer.
    keepalive_time, keepalive_timeout:
        Seconds: the server pings every connection after keepalive_time
        without activity (even with no call open) and closes it when no
        answer comes within keepalive_timeout, so the streams of a client
        that vanished (a half-open connection) end and free their
        subscriptions. Clients may ping every 5 s or more.
    frame_linger:
        ``"adaptive"`` (default): a StreamBatches frame goes out at once when
        results trickle in and waits up to the request's max_wait only while
        they pour in; ``"fixed"``: it always waits up to max_wait after its
        first result (the behaviour before adaptive frames).
    options:
        Extra grpc server options (name, value) pairs (they win over these).

    Notes
    -----
    start() raises PortInUseError (an OSError) when the address cannot be
    bound, EngineStateError when called twice. Streams refused or ended by
    the server get the statuses of mdstream.grpc.contract.ERROR_RULES.
    """

    def __init__(self, engine: "ResultSource", host: str = "127.0.0.1", port: int = 50051, *,
                 max_streams: int = 64, legacy_service: bool = True,
                 allowed_policies=POLICIES, block_deadline: float | None = DEFAULT_BLOCK_DEADLINE_S,
                 keepalive_time: float = 20.0, keepalive_timeout: float = 10.0, options=(),
                 max_streams_per_client: int | None = DEFAULT_MAX_STREAMS_PER_CLIENT,
                 tokens=None, detailed_stats: bool = False, tls: TLSFiles | None = None,
                 reflection: bool = True, frame_linger: str = "adaptive"):
        self.engine = engine
        self.host = host
        self.requested_port = int(port)
        self.port: int | None = None
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self.servicer = MDStreamServicer(engine, max_streams=max_streams,
                                         health_servicer=self.health,
                                         allowed_policies=allowed_policies,
                                         block_deadline=block_deadline,
                                         tokens=tokens, detailed_stats=detailed_stats,
                                         frame_linger=frame_linger)
        self._legacy = legacy_service
        self._reflection = reflection
        self.tokens = tokens
        self.tls = tls
        per_client = min(max_streams_per_client, max_streams) if max_streams_per_client else None
        #: The stream slots every streaming call takes (mdstream.grpc.limits).
        self.slots = StreamSlots(max_streams, per_client)
        self._guard = CallGuard(self.slots, tokens)
        # Threads beyond the streams, so unary calls (and refusals of streams
        # beyond the limit) are always answered; calls beyond the threads
        # wait in a bounded queue rather than fail.
        self._threads = max_streams + UNARY_RESERVE
        self._max_rpcs = max_streams + UNARY_QUEUE
        self._options = [
            ("grpc.so_reuseport", 0),   # a port in use is an error, not a shared port
            ("grpc.max_send_message_length", 64 << 20),
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
            # Liveness of connections: ping idle ones, drop those that do not answer.
            ("grpc.keepalive_time_ms", round(keepalive_time * 1000)),
            ("grpc.keepalive_timeout_ms", round(keepalive_timeout * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            # Client keepalive pings as often as every 5 s are accepted.
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
            ("grpc.http2.min_ping_interval_without_data_ms", 5000),
            *options,
        ]
        self._executor: ThreadPoolExecutor | None = None
        self._server: grpc.Server | None = None
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        """host:port the server listens on (after start())."""
        return _format_address(self.host, self.port if self.port is not None else self.requested_port)

    def start(self) -> "Server":
        """Bind and start serving; raises PortInUseError if the address is taken."""
        if self._server is not None:
            raise EngineStateError("the server was already started")
        _check_port_free(self.host, self.requested_port)
        self._executor = ThreadPoolExecutor(max_workers=self._threads,
                                            thread_name_prefix="mdstream-grpc")
        credentials = server_credentials(self.tls) if self.tls is not None else None
        server = grpc.server(self._executor, options=self._options,
                             maximum_concurrent_rpcs=self._max_rpcs,
                             interceptors=(self._guard,))
        server.add_generic_rpc_handlers(tuple(self.servicer.handlers(self._legacy)))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        if self._reflection:
            self._add_reflection(server)
        try:
            address = _format_address(self.host, self.requested_port)
            port = (server.add_secure_port(address, credentials) if credentials is not None
                    else server.add_insecure_port(address))
        except RuntimeError as exc:
            self._executor.shutdown(wait=False)
            raise PortInUseError(errno.EADDRINUSE,
                                 f"cannot listen on {self.address}: {exc}") from None
        if port == 0:
            self._executor.shutdown(wait=False)
            raise PortInUseError(errno.EADDRINUSE, f"cannot listen on {self.address}")
        self.port = port
        server.start()
        self._server = server
        services = ["", SERVICE_NAME] + ([LEGACY_SERVICE_NAME] if self._legacy else [])
        for name in services:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        # NOT_SERVING while the journal cannot be written (grpc/identity.py).
        follow_journal(self.engine, self.health, services)
        if self.tokens is not None and credentials is None and not is_loopback(self.host):
            log.warning("tokens are sent in plaintext: serve over TLS (--tls-cert, --tls-key) "
                        "when %s is reachable from other hosts", self.address)   # the port bound
        # debug: the program that runs it says so when it is ready (mdstream
        # serve, once Ctrl-C is handled), at info.
        log.debug("gRPC server listening on %s", self.address)
        return self

    def _add_reflection(self, server: grpc.Server) -> None:
        services = [SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME]
        if self._legacy:
            from mdstream import legacy_pb2    # noqa: F401 - puts the service in the descriptor pool

            services.append(LEGACY_SERVICE_NAME)
        reflection.enable_server_reflection(tuple(services), server)

    def stop(self, grace: float = 2.0) -> None:
        """End every stream with a status, stop serving and join the threads.

        Open streams end with UNAVAILABLE at once; calls still running after
        ``grace`` seconds are cancelled. Returns within about 2 x grace.
        Safe to call twice.
        """
        if self._server is None or self._stopped.is_set():
            return
        self._stopped.set()
        deadline = time.monotonic() + 2 * grace + 1.0
        self.servicer.shutdown()
        self._server.stop(grace).wait(grace + 0.5)
        # Join the handler threads; grpc does not shut its executor down.
        # set by start()
        joiner = threading.Thread(target=self._executor.shutdown,  # type: ignore[union-attr]
                                  kwargs={"wait": True, "cancel_futures": True},
                                  name="mdstream-grpc-join", daemon=True)
        joiner.start()
        joiner.join(max(0.0, deadline - time.monotonic()))
        if joiner.is_alive():
            log.warning("some gRPC handler threads did not end in time")

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until stop() has run (True) or timeout passes (False)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(engine: "ResultSource", host: str = "127.0.0.1", port: int = 50051, *,
          grace: float = 2.0, on_ready: Callable[[Server], None] | None = None,
          stop_event: threading.Event | None = None, **server_kwargs) -> Server:
    """Serve ``engine`` until SIGINT or SIGTERM (or ``stop_event``), then shut down.

    Starts the server, then the engine (if not started yet), calls
    ``on_ready(server)`` once connections are accepted, and on a signal ends
    the streams with a status, stops the server and the engine and joins
    their threads within a bounded time. A second signal exits at once.
    Must run in the main thread (signal handlers). Returns the stopped server.
    """
    stop = stop_event or threading.Event()
    server = Server(engine, host, port, **server_kwargs).start()
    previous = {}
    signals_seen = []

    def on_signal(signum, frame):
        signals_seen.append(signum)
        if len(signals_seen) > 1:
            # Second Ctrl-C: the user does not want to wait for the shutdown.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        if not engine.running and not getattr(engine, "finished", False):
            try:
                engine.start()
            except EngineStateError:
                pass        # already started (or stopped) by its owner
        if on_ready is not None:
            on_ready(server)
        while not stop.wait(0.25):
            pass
    finally:
        try:
            server.stop(grace)
            engine.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return server
