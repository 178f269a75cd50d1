"""A small, bounded HTTP server for the dashboard and the metrics endpoint.

aiohttp's low-level server, in its own thread and asyncio event loop, with
limits that keep a port from being held open by clients that never finish:

- ``request_timeout``: a connection that has not sent a whole first request
  by then is closed, and so is a keep-alive connection idle that long (a
  half-sent request keeps neither a thread nor its fd past it);
- ``max_connections``: past that many open connections, the oldest one is
  closed to make room for the new one (so a crowd of stalled connections
  cannot lock out a real client, and the fds used stay bounded);
- ``max_connection_age``: no connection lives longer, whatever it is doing
  (a client that stops reading a response);
- ``backlog``: the listen queue.

Handlers are plain functions of the request returning an aiohttp Response;
they run on the event loop's thread (keep them short). A client that goes
away mid-response is logged as one line, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from typing import Callable

from aiohttp import web

from mdstream.text import printable

__all__ = ["HTTPService", "REQUEST_TIMEOUT_S", "MAX_CONNECTIONS", "MAX_CONNECTION_AGE_S",
           "BACKLOG"]

REQUEST_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 64
MAX_CONNECTION_AGE_S = 120.0
BACKLOG = 128
_REAP_EVERY_S = 0.25

log = logging.getLogger("mdstream.http")

Handler = Callable[[web.BaseRequest], web.StreamResponse]


class _OneLine(logging.Filter):
    """A client that went away (reset, broken pipe) is one line, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (ConnectionError, asyncio.CancelledError, TimeoutError)):
            record.msg = "%s: a client went away mid-response (%s)"
            record.args = (printable(record.getMessage()), type(exc).__name__)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


log.addFilter(_OneLine())


class _Tracked(web.Server):
    """aiohttp's protocol factory, knowing when each connection opened and
    whether it has sent a whole request yet."""

    def __init__(self, *args, service: "HTTPService", **kwargs):
        super().__init__(*args, **kwargs)
        self._service = service

    def connection_made(self, handler, transport) -> None:
        super().connection_made(handler, transport)
        state = self._service._conns.get(handler)
        if state is not None and state[2]:     # closed before it was even set up
            transport.abort()

    def connection_lost(self, handler, exc=None) -> None:
        super().connection_lost(handler, exc)
        self._service._conns.pop(handler, None)


class HTTPService:
    """Serves ``handler`` on host:port (0: any free port) once start()ed.

    The port is bound by the constructor (an OSError there: in use, not
    allowed); ``server_address``/``server_port`` tell which.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, *,
                 name: str = "http", request_timeout: float = REQUEST_TIMEOUT_S,
                 max_connections: int = MAX_CONNECTIONS,
                 max_connection_age: float = MAX_CONNECTION_AGE_S, backlog: int = BACKLOG,
                 ssl_context: ssl.SSLContext | None = None):
        self.handler = handler
        #: Serve HTTPS with this context (None: plain HTTP).
        self.ssl_context = ssl_context
        self.name = name
        self.request_timeout = float(request_timeout)
        self.max_connections = int(max_connections)
        self.max_connection_age = float(max_connection_age)
        self.backlog = int(backlog)
        self._sock = _bind(host, port)
        self.server_address = self._sock.getsockname()[:2]
        # handler -> [opened at (loop time), whole requests seen, being closed]
        self._conns: dict = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self.thread = threading.Thread(target=self._run, name=f"mdstream-{name}", daemon=True)

    @property
    def server_port(self) -> int:
        return self.server_address[1]

    @property
    def scheme(self) -> str:
        """'https' with an SSL context, else 'http'."""
        return "http" if self.ssl_context is None else "https"

    @property
    def open_connections(self) -> int:
        """Connections open and not being closed."""
        return sum(1 for state in list(self._conns.values()) if not state[2])

    def start(self) -> "HTTPService":
        self.thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def shutdown(self) -> None:
        """Stop serving and close every connection (waits up to a few seconds)."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and self.thread.is_alive():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:        # the loop already ended
                pass
            self.thread.join(5)

    def server_close(self) -> None:
        """Release the port (after shutdown(); safe to call twice)."""
        self.shutdown()
        if not self._closed:
            self._closed = True
            self._sock.close()

    stop = server_close

    # -- the event loop's thread ---------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._loop_exception)
        try:
            loop.run_until_complete(self._main(loop))
        except BaseException as exc:       # noqa: BLE001 - reported by start()
            self._error = exc
            log.warning("%s server stopped: %s", self.name, printable(exc))
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._stopping = asyncio.Event()
        web_server = _Tracked(self._handle, service=self, loop=loop,
                              keepalive_timeout=self.request_timeout,
                              lingering_time=self.request_timeout,
                              access_log=None, logger=log)
        tls = {} if self.ssl_context is None else {
            "ssl": self.ssl_context, "ssl_handshake_timeout": self.request_timeout}
        # typeshed lacks the sock= + backlog overload
        server = await loop.create_server(lambda: self._accept(web_server, loop),  # type: ignore[call-overload]
                                          sock=self._sock, backlog=self.backlog, **tls)
        self._ready.set()
        reaper = loop.create_task(self._reap(loop))
        try:
            await self._stopping.wait()
        finally:
            reaper.cancel()
            server.close()
            for conn in list(self._conns):
                self._close(conn)
            try:
                await asyncio.wait_for(web_server.shutdown(0.5), 2)
            except (asyncio.TimeoutError, Exception):   # noqa: BLE001 - closing anyway
                pass

    def _accept(self, web_server: _Tracked, loop: asyncio.AbstractEventLoop):
        live = [c for c, state in self._conns.items() if not state[2]]
        if len(live) >= self.max_connections:
            oldest = min(live, key=lambda c: self._conns[c][0])
            log.info("%s: %d connections open, closing the oldest", self.name, len(live))
            self._close(oldest)
        conn = web_server()
        self._conns[conn] = [loop.time(), 0, False]
        return conn

    def _close(self, conn) -> None:
        """Close a connection now, unsent data or not (once it is set up, if
        it is not yet: see _Tracked.connection_made)."""
        state = self._conns.get(conn)
        if state is not None:
            state[2] = True
        transport = conn.transport
        if transport is not None:
            conn.force_close()
            transport.abort()

    async def _reap(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            await asyncio.sleep(_REAP_EVERY_S)
            now = loop.time()
            for conn, (opened, requests, closing) in list(self._conns.items()):
                age = now - opened
                if closing:
                    if conn.transport is None and age > 2 * self.max_connection_age:
                        self._conns.pop(conn, None)     # never set up: forget it
                    continue
                if (requests == 0 and age > self.request_timeout) or age > self.max_connection_age:
                    self._close(conn)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        seen = self._conns.get(request.protocol)
        if seen is not None:
            seen[1] += 1
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="only GET\n",
                                headers={"Allow": "GET, HEAD", "Server": "mdstream"})
        try:
            response = self.handler(request)
        except Exception as exc:            # noqa: BLE001 - one line, then a 500
            log.warning("%s: %s %s failed: %s: %s", self.name, request.method,
                        printable(request.path), type(exc).__name__, printable(exc))
            response = web.Response(status=500, text="internal error\n")
        response.headers["Server"] = "mdstream"      # not the library's name and version
        return response

    def _loop_exception(self, loop, context) -> None:
        exc = context.get("exception")
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.info("%s: a client went away (%s)", self.name, type(exc).__name__)
        else:
            loop.default_exception_handler(context)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (IPv4 or IPv6, as the host resolves)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
