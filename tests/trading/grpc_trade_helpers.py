"""What the gRPC trading tests share: a real server (on a free port) over an
engine with a paper venue, real clients, and ways to wait for reports
without timing anything.

Every server and client made here is stopped at the end of its test, and
the test fails if it leaves a thread running.
"""

from __future__ import annotations

import math
import threading
import time

import pytest

from mdstream import Engine
from mdstream.grpc.client import Client
from mdstream.grpc.server import Server
from mdstream.grpc.trade_wire import RequestError
from mdstream.venue import Account, PaperVenue

SYMBOLS = ["AAPL", "MSFT"]
#: How long a test waits for something that happens at once (generous: a busy machine).
PATIENCE = 15.0


def wait_until(predicate, timeout: float = PATIENCE, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive() and "_poll_wrapper" not in t.name}


@pytest.fixture
def no_thread_leak():
    before = _threads()
    yield
    wait_until(lambda: not (_threads() - before), timeout=5.0)
    left = _threads() - before
    assert not left, f"threads left running: {sorted(t.name for t in left)}"


def paper_engine(accounts: dict | None = None, **venue) -> Engine:
    """An engine without a feed (the test publishes quotes and trades) and
    with a paper venue of ``accounts`` (default: 'paper' and 'other')."""
    accounts = accounts or {"paper": Account(), "other": Account()}
    return Engine(symbols=SYMBOLS, workers=2, venue=PaperVenue(accounts=accounts, **venue))


@pytest.fixture
def venue_server(no_thread_leak):
    """venue_server(engine=None, **Server kwargs) -> (server, engine): a
    started engine (default: paper_engine()) served on a free port; both
    stopped at the end."""
    made = []

    def make(engine: Engine | None = None, **kwargs):
        engine = engine if engine is not None else paper_engine()
        server = Server(engine, "127.0.0.1", 0, **kwargs).start()
        made.append((server, engine))
        if not engine.running:
            engine.start()
        return server, engine

    yield make
    for server, engine in reversed(made):
        server.stop(grace=1.0)
        engine.stop()


@pytest.fixture
def client_of(no_thread_leak):
    """client_of(server, **Client kwargs) -> Client, closed at the end."""
    clients = []

    def make(server, **kwargs) -> Client:
        client = Client(server.address, timeout=PATIENCE, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def read_items(session, count: int, timeout: float = PATIENCE) -> list:
    """The next ``count`` items of a sync session (reports and RequestErrors)."""
    out: list = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(out)} of {count} items came: {out}"
        item = session.read(left)
        if item is not None:
            out.append(item)
        else:
            assert not session.ended, f"the session ended after {out}"
    return out


def read_until(session, done, timeout: float = PATIENCE) -> list:
    """Items of a sync session until ``done(item)`` is true for one (included)."""
    out: list = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no item ended the wait; got {out}"
        item = session.read(left)
        if item is None:
            assert not session.ended, f"the session ended after {out}"
            continue
        out.append(item)
        if done(item):
            return out


def reports_of(items: list) -> list:
    return [i for i in items if not isinstance(i, RequestError)]


def errors_of(items: list) -> list[RequestError]:
    return [i for i in items if isinstance(i, RequestError)]


def same(a, b) -> bool:
    """Dataclasses equal field by field, NaN equal to NaN."""
    import dataclasses

    fa, fb = dataclasses.asdict(a), dataclasses.asdict(b)
    if fa.keys() != fb.keys():
        return False
    for key, x in fa.items():
        y = fb[key]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


def engine_reports(engine: Engine, account: str | None = None, count: int = 0,
                   timeout: float = PATIENCE) -> list:
    """Every report of the engine's venue from seq 0 (of ``account``), at
    least ``count`` of them, read in process."""
    out: list = []
    with engine.execution_reports(account=account, from_seq=0) as sub:
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            batch = sub.read(0.05)
            if batch is not None:
                out.extend(batch.rows())
        while True:                      # and whatever else is there
            batch = sub.read(0.05)
            if batch is None or not len(batch):
                break
            out.extend(batch.rows())
    return out


# -- the mdstream command in subprocesses ---------------------------------------------

def mdstream_command(*args: str) -> list[str]:
    """The mdstream command line, run with this interpreter."""
    import sys

    return [sys.executable, "-m", "mdstream", *args]


def subprocess_env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("MDSTREAM_TOKEN", None)
    return env


def run_command(*args: str, timeout: float = 60.0):
    """Run ``mdstream ARGS`` to its end: the CompletedProcess (text)."""
    import subprocess

    return subprocess.run(mdstream_command(*args), capture_output=True, text=True,
                          timeout=timeout, env=subprocess_env())


def read_line_matching(stream, needle: str, timeout: float = 30.0) -> str:
    """Read lines of a text stream until one contains ``needle`` (bounded, in a thread)."""
    box: dict = {"seen": []}

    def reader():
        for line in stream:
            box["seen"].append(line)
            if needle in line:
                box["line"] = line
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if "line" not in box:
        raise AssertionError(f"no line with {needle!r} within {timeout} s; got {box['seen']}")
    return box["line"]
