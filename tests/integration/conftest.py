"""Fixtures of the gRPC and CLI tests: real servers on ephemeral ports, real clients.

Every server started here listens on 127.0.0.1 port 0 (a free port) and is
stopped at the end of its test; the `no_thread_leak` check then makes sure
nothing it started is still running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from mdstream import Engine, SimulatedFeed
from mdstream.grpc.client import Client
from mdstream.grpc.server import Server

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "proto"
SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.005) -> bool:
    """Poll predicate until it is true or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def port_is_free(port: int) -> bool:
    """True if a new server could listen on 127.0.0.1:port (as grpc does, with
    SO_REUSEADDR, so connections of the old one in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
    return True


# grpc.aio starts one poller thread for the whole process on first use and
# keeps it: not something a test leaves behind.
_PROCESS_WIDE = ("_poll_wrapper",)


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate()
            if t.is_alive() and not any(name in t.name for name in _PROCESS_WIDE)}


@pytest.fixture
def no_thread_leak():
    """Fail the test if it leaves Python threads running (after a short grace)."""
    before = _threads()
    yield
    leaked = wait_until(lambda: not (_threads() - before), timeout=5.0)
    left = _threads() - before
    assert leaked or not left, f"threads left running: {sorted(t.name for t in left)}"


@contextmanager
def running_server(engine: Engine, *, start_engine: bool = False, **kwargs):
    """A Server of engine on a free port; stopped (and the engine too) on exit."""
    server = Server(engine, "127.0.0.1", 0, **kwargs).start()
    try:
        if start_engine:
            engine.start()
        yield server
    finally:
        server.stop(grace=1.0)
        engine.stop()


@pytest.fixture
def make_server(no_thread_leak):
    """Start servers for a test: make_server(engine, **Server kwargs) -> Server."""
    stack = []

    def make(engine: Engine, **kwargs) -> Server:
        cm = running_server(engine, **kwargs)
        server = cm.__enter__()
        stack.append(cm)
        return server

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def make_client(no_thread_leak):
    """Clients for a test, closed at the end: make_client(server) -> Client."""
    clients = []

    def make(server_or_target, **kwargs) -> Client:
        target = server_or_target if isinstance(server_or_target, str) else server_or_target.address
        c = Client(target, timeout=5.0, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def finite_engine(count: int, *, symbols=SYMBOLS, rate: float = 0.0, seed: int = 7,
                  **kwargs) -> Engine:
    """An engine whose simulated feed produces `count` ticks, then finishes."""
    return Engine(feed=SimulatedFeed(symbols=symbols, rate=rate, seed=seed, count=count),
                  workers=2, **kwargs)


def publish_engine(symbols=SYMBOLS, **kwargs) -> Engine:
    """An engine with no feed: the test publishes ticks."""
    return Engine(symbols=symbols, workers=2, **kwargs)


def wait_for_streams(server: Server, n: int, timeout: float = 5.0) -> None:
    """Wait until the server has n open streams (subscribed to the engine)."""
    assert wait_until(lambda: server.servicer.active_streams >= n, timeout), (
        f"expected {n} open streams, have {server.servicer.active_streams}")


def mdstream_command(*args: str) -> list[str]:
    """The mdstream command line, run with this interpreter."""
    return [sys.executable, "-m", "mdstream", *args]


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def popen(cmd: list[str], **kwargs):
    """A subprocess that is always reaped (killed if still running) on exit."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env(), **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def read_line_matching(stream, needle: str, timeout: float = 15.0) -> str:
    """Read lines from a text stream until one contains needle (in a thread, bounded)."""
    box: dict = {}

    def reader():
        lines = []
        for line in stream:
            lines.append(line)
            if needle in line:
                box["line"] = line
                break
        box["seen"] = lines

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if "line" not in box:
        raise AssertionError(f"no line with {needle!r} within {timeout} s; got {box.get('seen')}")
    return box["line"]


@pytest.fixture
def helpers():
    """The helper functions of this file (test modules cannot import a conftest)."""
    import types

    return types.SimpleNamespace(
        SYMBOLS=SYMBOLS, PROTO_ROOT=PROTO_ROOT, ROOT=ROOT, wait_until=wait_until,
        port_is_free=port_is_free, finite_engine=finite_engine, publish_engine=publish_engine,
        wait_for_streams=wait_for_streams, mdstream_command=mdstream_command, popen=popen,
        read_line_matching=read_line_matching, subprocess_env=subprocess_env)
