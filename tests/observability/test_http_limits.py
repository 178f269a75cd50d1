"""The dashboard's and the metrics' HTTP server under stalled clients: half-sent
requests are closed within the request timeout, the open connections stay
under the cap (so the process's fds stay bounded), and a normal request is
answered meanwhile. A client that goes away is one log line."""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.error
import urllib.request

import pytest

import mdstream
from mdstream.observe.dashboard import Dashboard
from mdstream.observe.http import MAX_CONNECTIONS, REQUEST_TIMEOUT_S, log as http_log
from mdstream.observe.metrics import start_metrics_server

STALLED = 200


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def servers():
    engine = mdstream.Engine(symbols=["AAPL"])
    engine.start()
    dash = Dashboard(engine).start()
    metrics, _thread = start_metrics_server(engine, 0)
    yield {"dashboard": (dash.server, dash.url),
           "metrics": (metrics, f"http://127.0.0.1:{metrics.server_port}/metrics")}
    dash.stop()
    metrics.shutdown()
    metrics.server_close()
    engine.stop()


def stall(port: int, n: int, payload: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if payload:
            s.sendall(payload)
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket, deadline: float) -> bool:
    """True once the server closed s (EOF or reset), False at the deadline."""
    while True:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if not data:
            return True
        # a 408/400 answer is fine too: read on to the close


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds through /proc")
@pytest.mark.timeout(120)
def test_half_sent_requests_are_closed_and_a_normal_request_answers(servers):
    fds_before = open_fds()
    started = time.monotonic()
    stalled = []
    for name, (service, url) in servers.items():
        stalled += stall(service.server_port, STALLED, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        stalled += stall(service.server_port, 5, b"")          # connects, never sends
    try:
        # The server holds at most its cap, whatever the clients do.
        for name, (service, url) in servers.items():
            assert service.open_connections <= MAX_CONNECTIONS, name
        # A normal request is answered meanwhile, at once.
        for name, (service, url) in servers.items():
            t0 = time.monotonic()
            with urllib.request.urlopen(url, timeout=5) as resp:
                assert resp.status == 200 and resp.read(), name
            assert time.monotonic() - t0 < 2, name
        # Every stalled connection is closed by the server within the timeout.
        deadline = started + REQUEST_TIMEOUT_S + 3
        still_open = [s for s in stalled if not closed_by_server(s, deadline)]
        assert not still_open, f"{len(still_open)} of {len(stalled)} still open"
        assert time.monotonic() - started < REQUEST_TIMEOUT_S + 3
        # The server side let go of them: its fds are back (ours are still open here).
        for name, (service, url) in servers.items():
            assert service.open_connections <= 1, name
        assert open_fds() - fds_before <= len(stalled) + 10
    finally:
        for s in stalled:
            s.close()
    time.sleep(0.5)
    assert open_fds() - fds_before <= 10


@pytest.mark.timeout(60)
def test_a_trickling_request_is_closed_at_the_timeout(servers):
    service, url = servers["dashboard"]
    s = socket.create_connection(("127.0.0.1", service.server_port), timeout=5)
    started = time.monotonic()
    try:
        s.sendall(b"GET / HTTP/1.1\r\n")
        closed = False
        while time.monotonic() - started < REQUEST_TIMEOUT_S + 3:
            try:
                s.sendall(b"X-A: b\r\n")          # one header line every 0.2 s, never the end
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(s, time.monotonic() + 0.2):
                closed = True
                break
        assert closed and time.monotonic() - started < REQUEST_TIMEOUT_S + 3
    finally:
        s.close()


def test_a_client_gone_mid_response_is_one_log_line(caplog):
    caplog.set_level(logging.DEBUG, logger="mdstream.http")
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError:
        http_log.exception("Error handling request")
    (record,) = caplog.records
    assert record.exc_info is None and record.levelno == logging.INFO
    assert "a client went away" in record.getMessage()
    assert "\n" not in caplog.text.strip()


def test_only_get_is_served(servers):
    for name, (service, url) in servers.items():
        request = urllib.request.Request(url, data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 405, name
