"""Clients that go away, and servers that shut down under load."""

from __future__ import annotations

import signal
import sys
import textwrap
import threading
import time

import pytest

from mdstream.grpc.client import Client, RemoteError

pytestmark = pytest.mark.timeout(60)

CLIENT = textwrap.dedent("""
    import sys, time
    from mdstream.grpc.client import Client
    client = Client(sys.argv[1])
    stream = client.stream_batches(heartbeat_interval=0.05, heartbeats=True)
    next(iter(stream))
    print("receiving", flush=True)
    if sys.argv[2] == "stall":
        time.sleep(600)          # stop reading: the server blocks in its send
    for _ in stream:
        pass
""")


@pytest.mark.parametrize("mode", ["idle", "stall"])
def test_client_killed_mid_stream_frees_its_subscription(make_server, helpers, mode):
    """kill -9 of a client process: the server closes its engine subscription at once.

    idle: the handler is waiting for results (the market is quiet);
    stall: the feed runs at full speed, the client stopped reading, so the
    handler is blocked sending into a full connection.
    """
    if mode == "idle":
        engine = helpers.publish_engine()
    else:
        engine = helpers.finite_engine(0, ring_size=1024)     # endless, as fast as possible
    server = make_server(engine, start_engine=True)
    with helpers.popen([sys.executable, "-c", CLIENT, server.address, mode]) as proc:
        helpers.read_line_matching(proc.stdout, "receiving")
        assert len(engine.stats().subscriptions) == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        t0 = time.monotonic()
        assert helpers.wait_until(lambda: not engine.stats().subscriptions, timeout=10), \
            "the engine subscription of a dead client was not freed"
        freed_in = time.monotonic() - t0
    assert helpers.wait_until(lambda: server.servicer.active_streams == 0)
    assert freed_in < 3.0
    if mode == "stall":
        # The engine, held back by the stalled 'block' subscriber, runs again.
        before = engine.stats().processed
        assert helpers.wait_until(lambda: engine.stats().processed > before + 10_000)


def test_client_cancel_frees_its_subscription(make_server, make_client, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    streams = [client.stream_batches(["AAPL"]), client.stream_results()]
    helpers.wait_for_streams(server, 2)
    assert len(engine.stats().subscriptions) == 2
    blocked = threading.Thread(target=lambda: list(streams[0]))
    blocked.start()                   # a thread waiting in next()
    for s in streams:
        s.cancel()
    blocked.join(5)
    assert not blocked.is_alive()
    assert helpers.wait_until(lambda: not engine.stats().subscriptions)
    assert helpers.wait_until(lambda: server.servicer.active_streams == 0)


def test_client_close_ends_its_streams(make_server, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    client = Client(server.address)
    stream = client.stream_batches()
    helpers.wait_for_streams(server, 1)
    client.close()
    with pytest.raises((RemoteError, StopIteration)):
        next(stream)
    assert helpers.wait_until(lambda: not engine.stats().subscriptions)


def test_shutdown_under_load(helpers, no_thread_leak):
    """Clients streaming at full speed; stop() ends every stream with a status,
    returns in bounded time, joins its threads and releases the port."""
    from mdstream.grpc.server import Server

    engine = helpers.finite_engine(0)           # endless, as fast as possible
    server = Server(engine, "127.0.0.1", 0).start()
    engine.start()
    port = server.port
    outcomes: dict = {}
    clients = [Client(server.address) for _ in range(3)]

    def consume(i, stream):
        n = 0
        try:
            for item in stream:
                n += len(item) if hasattr(item, "rows") else 1
            outcomes[i] = ("ended", n)
        except RemoteError as exc:
            outcomes[i] = (exc.code.name, n, exc.details)
        except Exception as exc:  # noqa: BLE001
            outcomes[i] = ("error", n, repr(exc))

    streams = [clients[0].stream_batches(), clients[1].stream_batches(policy="skip"),
               clients[2].stream_results()]
    threads = [threading.Thread(target=consume, args=(i, s)) for i, s in enumerate(streams)]
    for t in threads:
        t.start()
    helpers.wait_for_streams(server, 3)
    time.sleep(0.5)                              # under load
    t0 = time.monotonic()
    server.stop(grace=3.0)      # returns as soon as every call has ended
    engine.stop()
    stopped_in = time.monotonic() - t0
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    for c in clients:
        c.close()
    assert stopped_in < 8.0, f"shutdown took {stopped_in:.1f} s"
    assert len(outcomes) == 3
    for i, outcome in outcomes.items():
        assert outcome[0] == "UNAVAILABLE", outcome
        assert outcome[1] > 0, f"stream {i} received nothing before the shutdown"
        assert "shutting down" in outcome[2]
    assert helpers.wait_until(lambda: helpers.port_is_free(port))
    assert not engine.stats().subscriptions


def test_new_streams_are_refused_while_shutting_down(make_server, make_client, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    server.servicer.shutdown()
    client = make_client(server)
    with pytest.raises(RemoteError) as info:
        next(iter(client.stream_batches()))
    assert info.value.code.name == "UNAVAILABLE"
