"""A node: one engine with its feed and journal, served over gRPC, with
optional Prometheus metrics and a web dashboard, from one frozen NodeConfig.

    from mdstream.node import Node, NodeConfig, SimulatedFeedConfig

    config = NodeConfig(feed=SimulatedFeedConfig(symbols=("AAPL", "MSFT")), port=0)
    with Node(config) as node:          # the HTTP endpoints, the server, then the engine
        print("listening on", node.address)
        ...
    # stopped: the server (streams end with UNAVAILABLE), the engine, the endpoints

``mdstream serve`` and ``mdstream demo`` are a NodeConfig made from their
options and a Node run from it. Durations are seconds throughout.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from mdstream.engine.limits import DEFAULT_MAX_SUBSCRIBERS, LIMITS
from mdstream.errors import InvalidArgumentError, MDStreamError
from mdstream.feeds.base import FeedConfig
from mdstream.feeds.configs import DEFAULT_SYMBOLS, CSVFeedConfig, SimulatedFeedConfig
from mdstream.request import DEFAULT_BLOCK_DEADLINE_S, DEFAULT_MAX_STREAMS_PER_CLIENT

if TYPE_CHECKING:
    import threading

    from mdstream.engine import Engine
    from mdstream.grpc.server import Server
    from mdstream.journal import JournalConfig
    from mdstream.nats.config import PublishConfig
    from mdstream.nats.publish import Publisher
    from mdstream.venue import PaperVenue

__all__ = [
    "NodeConfig",
    "SimulatedFeedConfig",
    "CSVFeedConfig",
    "Node",
    "EndpointError",
    "build",
    "DEFAULT_SYMBOLS",
]


def _check_port(name: str, port: int | None, optional: bool) -> None:
    if port is None and optional:
        return
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidArgumentError(f"{name} must be a port, 0 to 65535 (0: a free one), got {port!r}")


#: Engine subscriptions beyond the gRPC streams: the node's own readers (the
#: JetStream publisher) with room to spare.
NODE_READERS = 16
#: The most streams a node serves: the engine's subscription limit less NODE_READERS.
MAX_STREAMS = LIMITS["max_subscribers"][1] - NODE_READERS


def engine_subscribers(max_streams: int) -> int:
    """The engine's max_subscribers for a server of ``max_streams`` streams:
    every stream is a subscription (at least the engine's default)."""
    return max(DEFAULT_MAX_SUBSCRIBERS, max_streams + NODE_READERS)


@dataclass(frozen=True)
class NodeConfig:
    """Everything a node is made of, checked when it is made.

    feed:
        A feed config: SimulatedFeedConfig, CSVFeedConfig, or any other
        (``mdstream.feeds.feed_config("NAME:ARG")`` finds one by name, the
        feeds of other packages included), or None for an engine that takes
        ticks through ``node.engine.publish...`` only.
    workers, ring_size, bars:
        The engine's worker threads (>= 1), the results its ring keeps (a
        power of two), and OHLCV bar intervals (e.g. ``("1s", "1m")``; a
        number is seconds); see mdstream.Engine.
    journal:
        A JournalConfig to journal every result (and recover on a restart),
        or None.
    host, port:
        Where the gRPC server listens; port 0 picks a free port.
    max_streams, max_streams_per_client:
        Streaming calls served at once (1 to MAX_STREAMS; reflection and health Watch
        streams count too; the engine takes that many subscriptions and
        NODE_READERS more), and by one client (its IP address, or its
        token's name with tokens; default 16, None: no limit); more get
        RESOURCE_EXHAUSTED.
    allowed_policies, block_deadline:
        The policies remote subscribers may ask for (default: block, skip,
        disconnect; a request without one gets skip) and the seconds a remote
        'block' subscriber may hold the engine back before it is disconnected
        (default 1; None: no deadline). See mdstream.grpc.MDStreamServicer.
    grace:
        Seconds calls in flight may take on shutdown (>= 0).
    metrics_port, dashboard_port:
        Serve Prometheus metrics at ``/metrics`` / the live dashboard on this
        port (0: a free one), or None for none.
    metrics_host, dashboard_host:
        Where those listen (default 127.0.0.1: loopback only, whatever
        ``host`` is).
    metrics_per_symbol, metrics_max_symbols:
        Add a series per symbol to the metrics (default off), for at most
        this many symbols (>= 1, default 1000; see mdstream.observe.metrics).
    tls_cert, tls_key, tls_client_ca:
        PEM files: serve gRPC and the HTTP endpoints over TLS; with a client
        CA, clients must present a certificate it signed (mutual TLS).
    tokens, token:
        A token file (TOML or JSON, see mdstream.grpc.auth) and/or one token
        allowed everything: calls then need ``authorization: Bearer TOKEN``
        (health checks excepted).
    detailed_stats:
        Without tokens, GetStats lists every subscriber (peer, symbols,
        policy) to any caller; default: aggregate figures only.
    reflection:
        Serve gRPC server reflection (default True).
    publish:
        A mdstream.nats.PublishConfig (or its ``servers`` string,
        ``"nats://host:port[,...]"``): publish every result to NATS
        JetStream; None: do not publish.
    venue:
        A mdstream.venue.PaperVenue: the engine takes orders and matches
        them against its market data, and the server serves Trade,
        GetOrders and GetPositions; None (default): no orders.

    Raises InvalidArgumentError naming the setting that is out of range.
    """

    feed: FeedConfig | None = field(default_factory=SimulatedFeedConfig)
    workers: int = 2
    ring_size: int = 1 << 16
    bars: tuple[str | float, ...] = ()
    journal: "JournalConfig | None" = None
    host: str = "127.0.0.1"
    port: int = 50051
    max_streams: int = 64
    allowed_policies: tuple[str, ...] = ("block", "skip", "disconnect")
    block_deadline: float | None = DEFAULT_BLOCK_DEADLINE_S
    grace: float = 2.0
    metrics_port: int | None = None
    dashboard_port: int | None = None
    metrics_host: str = "127.0.0.1"
    dashboard_host: str = "127.0.0.1"
    metrics_per_symbol: bool = False
    metrics_max_symbols: int = 1000
    max_streams_per_client: int | None = DEFAULT_MAX_STREAMS_PER_CLIENT
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    tokens: str | None = None
    token: str | None = field(default=None, repr=False)
    detailed_stats: bool = False
    reflection: bool = True
    publish: "PublishConfig | str | None" = None
    venue: "PaperVenue | None" = None

    def __post_init__(self):
        object.__setattr__(self, "bars", tuple(self.bars))
        if isinstance(self.publish, (str, list, tuple)):
            from mdstream.nats.config import PublishConfig

            object.__setattr__(self, "publish", PublishConfig(self.publish))
        if self.workers < 1:
            raise InvalidArgumentError(f"workers must be >= 1, got {self.workers}")
        if not 1 <= self.max_streams <= MAX_STREAMS:
            raise InvalidArgumentError(
                f"max_streams must be in 1..{MAX_STREAMS} (each stream is an engine "
                f"subscription), got {self.max_streams}")
        from mdstream.request import POLICIES

        policies = self.allowed_policies
        if isinstance(policies, str):
            policies = [p.strip() for p in policies.split(",") if p.strip()]
        object.__setattr__(self, "allowed_policies", tuple(dict.fromkeys(policies)))
        if not self.allowed_policies or any(p not in POLICIES for p in self.allowed_policies):
            raise InvalidArgumentError(
                f"allowed_policies must be some of {', '.join(POLICIES)}, got {list(policies)}")
        if self.block_deadline is not None and not self.block_deadline >= 0:
            raise InvalidArgumentError(
                f"block_deadline must be >= 0 seconds (or None), got {self.block_deadline}")
        if not self.grace >= 0:
            raise InvalidArgumentError(f"grace must be >= 0 seconds, got {self.grace}")
        _check_port("port", self.port, optional=False)
        _check_port("metrics_port", self.metrics_port, optional=True)
        _check_port("dashboard_port", self.dashboard_port, optional=True)
        if self.metrics_max_symbols < 1:
            raise InvalidArgumentError(
                f"metrics_max_symbols must be >= 1, got {self.metrics_max_symbols}")
        if self.max_streams_per_client is not None and self.max_streams_per_client < 1:
            raise InvalidArgumentError(
                f"max_streams_per_client must be >= 1 (or None), got {self.max_streams_per_client}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgumentError("TLS needs both tls_cert and tls_key")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise InvalidArgumentError("tls_client_ca (mutual TLS) needs tls_cert and tls_key")

    @property
    def tls_files(self):
        """The mdstream.grpc.tls.TLSFiles of the TLS settings, or None."""
        if self.tls_cert is None:
            return None
        from mdstream.grpc.tls import TLSFiles

        return TLSFiles(self.tls_cert, self.tls_key, self.tls_client_ca)


class EndpointError(MDStreamError, OSError):
    """An HTTP endpoint of the node (metrics or dashboard) could not listen.

    ``which`` is ``"metrics"`` or ``"dashboard"``; ``errno`` is the socket's.
    """

    def __init__(self, which: str, host: str, port: int, error: OSError):
        hint = (" (pick another port, or 0 for a free one)"
                if error.errno == errno.EADDRINUSE else "")
        super().__init__(error.errno,
                         f"cannot serve the {which} on {host}:{port}: {error.strerror or error}{hint}")
        self.which = which

    def __str__(self) -> str:   # the message alone, without OSError's "[Errno N]"
        return self.strerror or super().__str__()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class Node:
    """An engine, its feed and journal, a gRPC server, and the optional
    metrics and dashboard endpoints, assembled from a NodeConfig.

    Making a Node builds the feed and the engine (which opens and recovers
    the journal): MDStreamError for a bad setting, a bad CSV file or a
    damaged journal, OSError for a file or directory that cannot be used.
    Nothing listens and no thread runs until start() or run().

    Order: start binds the HTTP endpoints, then the gRPC server, then
    starts the engine (and with it the feed); stop ends the server (open
    streams end with UNAVAILABLE), then the engine, then the endpoints.
    """

    def __init__(self, config: NodeConfig):
        from mdstream.engine import Engine

        self.config = config
        self._tokens = self._load_tokens()
        #: The HTTP endpoints' TLS context (None: plain HTTP); made now, so that
        #: unreadable TLS files are an error here, not at start.
        self._http_ssl_context = None
        if config.tls_files is not None:
            from mdstream.grpc.tls import http_ssl_context, server_credentials

            server_credentials(config.tls_files)
            self._http_ssl_context = http_ssl_context(config.tls_files)
        #: The feed the engine reads (None without one).
        self.feed = config.feed.build() if config.feed is not None else None
        #: The engine; its stats() and symbols are the node's.
        self.engine: Engine = Engine(feed=self.feed, workers=config.workers,
                                     ring_size=config.ring_size, bars=config.bars,
                                     journal=config.journal,
                                     max_subscribers=engine_subscribers(config.max_streams),
                                     venue=config.venue)
        #: The gRPC server, once started.
        self.server: Server | None = None
        #: The JetStream publisher (config.publish), once started.
        self.publisher: Publisher | None = None
        #: http://HOST:PORT/metrics and http://HOST:PORT/, once started (None if off).
        self.metrics_url: str | None = None
        self.dashboard_url: str | None = None
        self._closers: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<Node {self.address} feed={self.feed!r}>"

    @property
    def address(self) -> str:
        """HOST:PORT of the gRPC server (the configured port until started)."""
        if self.server is not None:
            return self.server.address
        return f"{_url_host(self.config.host)}:{self.config.port}"

    # -- lifecycle -------------------------------------------------------------

    def start(self, *, start_engine: bool = True) -> "Node":
        """Bind the HTTP endpoints and the gRPC server, then start the engine
        (unless ``start_engine`` is False: then call start_engine() later,
        e.g. after subscribing, to see every result from seq 0).

        Raises EndpointError or mdstream.grpc.server.PortInUseError when an
        address cannot be bound; the node is then stopped.
        """
        from mdstream.grpc.server import Server

        self._open_endpoints()
        try:
            self.server = Server(self.engine, self.config.host, self.config.port,
                                 **self._server_settings()).start()
        except BaseException:
            self._close_endpoints()
            self._stop_engine_quietly()
            raise
        try:
            self._start_publisher()
        except BaseException:
            self._stop_quietly()
            raise
        if start_engine:
            try:
                self.start_engine()
            except BaseException:
                self._stop_quietly()
                raise
        return self

    def _load_tokens(self):
        c = self.config
        if c.tokens is None and c.token is None:
            return None
        from mdstream.grpc.auth import TOKEN_ENV, load_tokens

        return load_tokens(c.tokens, env={TOKEN_ENV: c.token} if c.token else {})

    def _server_settings(self) -> dict:
        c = self.config
        return {"max_streams": c.max_streams, "allowed_policies": c.allowed_policies,
                "block_deadline": c.block_deadline,
                "max_streams_per_client": c.max_streams_per_client, "tokens": self._tokens,
                "detailed_stats": c.detailed_stats, "tls": c.tls_files,
                "reflection": c.reflection}

    def start_engine(self) -> None:
        """Start the engine and its feed (once; EngineStateError after that)."""
        self.engine.start()

    def stop(self) -> None:
        """Stop the server (within about 2 x grace seconds), the engine and
        the endpoints. Safe to call twice. Raises the feed's error, if it
        failed in its own thread (e.g. a bad CSV row), after all is stopped."""
        try:
            if self.server is not None:
                self.server.stop(self.config.grace)
            self.engine.stop()
        finally:
            self._stop_publisher()
            self._close_endpoints()

    def _start_publisher(self) -> None:
        """Start publishing (config.publish) before the engine starts, so the
        stream continues exactly where JetStream's copy stops."""
        publish = self.config.publish
        if publish is not None and self.publisher is None:
            assert not isinstance(publish, str)     # NodeConfig made a PublishConfig of it
            self.publisher = publish.build(self.engine).start()

    def _stop_publisher(self) -> None:
        """Publish what the stopped engine still has (up to ``grace`` s), then stop."""
        if self.publisher is not None:
            self.publisher.drain(self.config.grace)
            self.publisher.stop()

    def run(self, on_ready: Callable[["Node"], None] | None = None,
            stop_event: "threading.Event | None" = None) -> None:
        """Serve until SIGINT or SIGTERM (or ``stop_event``), then stop.

        Binds the endpoints and the server, starts the engine, calls
        ``on_ready(node)`` once connections are accepted, and on a signal
        stops everything in order (a second signal exits at once). Must run
        in the main thread. Raises EndpointError or PortInUseError (the node
        is then stopped), or the feed's error once stopped (see stop()).
        """
        from mdstream.grpc.server import PortInUseError, serve

        self._open_endpoints()

        def ready(server: "Server") -> None:
            self.server = server
            if on_ready is not None:
                on_ready(self)

        try:
            self._start_publisher()
            serve(self.engine, self.config.host, self.config.port, grace=self.config.grace,
                  on_ready=ready, stop_event=stop_event, **self._server_settings())
        except PortInUseError:
            self._stop_engine_quietly()
            raise
        finally:
            self._stop_publisher()
            self._close_endpoints()

    def __enter__(self) -> "Node":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- parts -----------------------------------------------------------------

    def _server_families(self):
        server = self.server
        families = list(server.servicer.send_counters.metric_families()) if server else []
        if self.publisher is not None:
            families += self.publisher.metric_families()
        return families

    def _open_endpoints(self) -> None:
        """Bind the HTTP endpoints before anything starts, so a port in use
        is an error at once (EndpointError; the node is then stopped)."""
        config = self.config
        which, host, port = "metrics", config.metrics_host, config.metrics_port
        ssl_context = self._http_ssl_context
        try:
            if config.metrics_port is not None:
                from mdstream.observe.metrics import start_metrics_server

                http, _thread = start_metrics_server(self.engine, config.metrics_port, host,
                                                     extra=self._server_families,
                                                     ssl_context=ssl_context,
                                                     per_symbol=config.metrics_per_symbol,
                                                     max_symbols=config.metrics_max_symbols)
                def close_metrics(http=http) -> None:
                    http.shutdown()
                    http.server_close()
                self._closers.append(close_metrics)
                self.metrics_url = (f"{http.scheme}://{_url_host(host)}:"
                                    f"{http.server_port}/metrics")
            which, host, port = "dashboard", config.dashboard_host, config.dashboard_port
            if config.dashboard_port is not None:
                from mdstream.observe.dashboard import Dashboard

                dashboard = Dashboard(self.engine, config.dashboard_port, host,
                                      ssl_context=ssl_context).start()
                self._closers.append(dashboard.stop)
                self.dashboard_url = dashboard.url
        except OSError as exc:
            self._close_endpoints()
            self._stop_engine_quietly()
            # the port is bound here
            raise EndpointError(which, host, port, exc) from None  # type: ignore[arg-type]

    def _close_endpoints(self) -> None:
        while self._closers:
            self._closers.pop()()

    def _stop_quietly(self) -> None:
        try:
            self.stop()
        except Exception:   # noqa: BLE001 - the caller raises the error that matters
            pass

    def _stop_engine_quietly(self) -> None:
        try:
            self.engine.stop()
        except Exception:   # noqa: BLE001 - the feed's error; the caller reports its own
            pass


def build(config: NodeConfig) -> Node:
    """A Node made from ``config``, not started (see Node for the errors)."""
    return Node(config)
