"""mdstream.node: a node built from a NodeConfig in this process, served over
gRPC, subscribed to with mdstream.Client, and stopped cleanly."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest

import mdstream
from mdstream.errors import InvalidArgumentError
from mdstream.grpc.server import PortInUseError
from mdstream.journal import JournalConfig
from mdstream.node import (
    CSVFeedConfig,
    EndpointError,
    Node,
    NodeConfig,
    SimulatedFeedConfig,
    build,
)

pytestmark = pytest.mark.timeout(60)


def sim_config(**kwargs) -> NodeConfig:
    feed = kwargs.pop("feed", SimulatedFeedConfig(symbols=("AAPL", "MSFT"), rate=20_000))
    return NodeConfig(feed=feed, port=0, grace=1.0, **kwargs)


def test_a_node_serves_its_engine_and_stops_cleanly(helpers, no_thread_leak):
    node = build(sim_config())
    assert node.server is None and not node.engine.running
    with node:
        assert node.engine.running
        host, port = node.address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        with mdstream.Client(node.address) as client:
            assert client.list_symbols() == ["AAPL", "MSFT"]
            received = []
            with client.stream_batches(["AAPL"], max_ticks_per_frame=256, max_wait=0.002) as stream:
                for batch in stream:
                    received.extend(batch.symbols[int(i)] for i in batch.rows["symbol_id"])
                    if len(received) >= 1000:
                        break
            assert set(received) == {"AAPL"}
    assert not node.engine.running
    assert helpers.wait_until(lambda: helpers.port_is_free(int(port)))
    node.stop()                         # twice is fine


def test_start_the_engine_after_subscribing_sees_every_result(no_thread_leak, helpers):
    config = sim_config(feed=SimulatedFeedConfig(symbols=("AAPL",), rate=0, count=500))
    node = Node(config).start(start_engine=False)
    try:
        with mdstream.Client(node.address) as client:
            stream = client.stream_batches(max_wait=0.001)
            it = iter(stream)
            helpers.wait_for_streams(node.server, 1)
            node.start_engine()
            seqs = []
            for batch in it:
                seqs.extend(int(s) for s in batch.rows["seq"])
                if len(seqs) >= 500:
                    break
            stream.cancel()
        assert seqs == list(range(500))
    finally:
        node.stop()


def test_run_serves_until_the_stop_event(no_thread_leak):
    stop = threading.Event()
    seen = {}

    def ready(node: Node) -> None:
        seen["address"] = node.address
        with mdstream.Client(node.address) as client:
            seen["symbols"] = client.list_symbols()
        stop.set()

    node = Node(sim_config())
    node.run(on_ready=ready, stop_event=stop)
    assert seen["symbols"] == ["AAPL", "MSFT"] and seen["address"] == node.address
    assert not node.engine.running and node.server.servicer.streams_served == 0


def test_a_journaled_node_recovers_on_the_next_start(tmp_path, no_thread_leak):
    config = sim_config(feed=SimulatedFeedConfig(symbols=("AAPL",), rate=0, count=2000),
                        journal=JournalConfig(tmp_path, segment_bytes=1 << 16))
    with Node(config) as node:
        assert node.engine.wait(20)
    assert node.engine.stats().journal.recovered_segments == 0
    again = Node(config)
    try:
        journal = again.engine.stats().journal
        assert journal.recovered_segments >= 1 and journal.next_seq == 2000
    finally:
        again.stop()


def test_metrics_and_dashboard_endpoints(no_thread_leak):
    with Node(sim_config(metrics_port=0, dashboard_port=0)) as node:
        assert node.metrics_url.startswith("http://127.0.0.1:") and node.metrics_url.endswith("/metrics")
        text = urllib.request.urlopen(node.metrics_url, timeout=10).read().decode()
        assert "mdstream_ticks_processed" in text
        page = urllib.request.urlopen(node.dashboard_url, timeout=10)
        assert page.status == 200


def test_a_port_in_use_stops_the_node(tmp_path, no_thread_leak):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        journal = JournalConfig(tmp_path)
        for kwargs, error in (({"metrics_port": port}, EndpointError),
                              ({"dashboard_port": port}, EndpointError)):
            node = Node(sim_config(journal=journal, **kwargs))
            with pytest.raises(error) as info:
                node.start()
            assert str(info.value) == (f"cannot serve the {info.value.which} on 127.0.0.1:{port}: "
                                       "Address already in use (pick another port, or 0 for a "
                                       "free one)")
        node = Node(NodeConfig(feed=SimulatedFeedConfig(), port=port, journal=journal))
        with pytest.raises(PortInUseError):
            node.start()
        # Each failed node was stopped: the journal directory is free again.
        Node(sim_config(journal=journal)).stop()


def test_csv_feed_config(tmp_path):
    path = tmp_path / "trades.csv"
    path.write_text("timestamp,symbol,price,size\n"
                    "2024-01-02T14:30:00Z,AAPL,185.5,100\n"
                    "2024-01-02T14:30:01Z,MSFT,370.25,50\n")
    node = Node(NodeConfig(feed=CSVFeedConfig((str(path),), speed=0), port=0))
    try:
        assert list(node.feed.symbols) == ["AAPL", "MSFT"] and node.feed.speed == 0
    finally:
        node.stop()


def test_the_engine_takes_as_many_subscriptions_as_the_server_streams():
    """--max-streams above the engine's default 256 subscriptions: every stream
    the server admits gets its subscription (it used to fail with
    TOO_MANY_SUBSCRIBERS past 256)."""
    node = Node(sim_config(max_streams=300))
    subs = [node.engine.subscribe() for _ in range(300)]
    for sub in subs:
        sub.close()


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"max_streams": 0}, {"max_streams": 4081},
                                    {"grace": -1},
                                    {"port": 70000}, {"metrics_port": -1}])
def test_bad_settings_are_invalid_arguments(kwargs):
    with pytest.raises(InvalidArgumentError):
        NodeConfig(**kwargs)
