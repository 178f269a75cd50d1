"""TLS, mutual TLS, tokens and entitlements, GetStats detail and the bind
addresses of the web ports, with real servers and real clients (a
certificate authority made in the test with trustme)."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import ssl
import subprocess
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from mdstream.errors import TooManySubscribersError
from mdstream.grpc.contract import PermissionDeniedError, UnauthenticatedError
from mdstream.grpc.errors import RemoteError, error_info
from mdstream.grpc.auth import load_tokens
from mdstream.grpc.server import Server
from mdstream.grpc.tls import TLSFiles
from mdstream.node import Node, NodeConfig

trustme = pytest.importorskip("trustme")

FULL = "full-token-0123456789abcdef"
AAPL_ONLY = "aapl-token-0123456789abcdef"
OTHER = "other-token-0123456789abcdef"


@pytest.fixture
def pki(tmp_path):
    """A server CA and certificate for 127.0.0.1/localhost, and a client CA and certificate."""
    ca, client_ca = trustme.CA(), trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    client = client_ca.issue_cert("client.example")
    files = {}
    for name, blob in (("ca", ca.cert_pem), ("key", cert.private_key_pem),
                       ("client_ca", client_ca.cert_pem), ("client_key", client.private_key_pem)):
        files[name] = str(tmp_path / f"{name}.pem")
        blob.write_to_path(files[name])
    for name, c in (("cert", cert), ("client_cert", client)):
        files[name] = str(tmp_path / f"{name}.pem")
        with open(files[name], "wb") as f:
            for pem in c.cert_chain_pems:
                f.write(pem.bytes())
    return files


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": {
        FULL: {"name": "ops"},
        AAPL_ONLY: {"name": "research", "symbols": ["AAPL", "AM*"], "operations": ["stream", "list"]},
        OTHER: {"name": "other", "operations": ["stream", "snapshot"]},
    }}))
    return str(path)


def _health(channel):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)


# -- TLS ------------------------------------------------------------------------

def test_tls_serves_clients_that_trust_the_ca(make_server, make_client, helpers, pki):
    server = make_server(helpers.publish_engine(), start_engine=True,
                         tls=TLSFiles(pki["cert"], pki["key"]))
    client = make_client(server, tls=pki["ca"])
    assert client.list_symbols() == helpers.SYMBOLS
    # A plaintext client, or one that does not trust the CA, cannot talk to it.
    for bad in (make_client(server), make_client(server, tls=pki["client_ca"])):
        bad.timeout = 2
        with pytest.raises(RemoteError) as info:
            bad.list_symbols()
        assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_certificate(make_server, make_client, helpers, pki):
    server = make_server(helpers.publish_engine(), start_engine=True,
                         tls=TLSFiles(pki["cert"], pki["key"], pki["client_ca"]))
    good = make_client(server, tls=pki["ca"], tls_cert=pki["client_cert"],
                       tls_key=pki["client_key"])
    assert good.list_symbols() == helpers.SYMBOLS
    stream = good.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
    next(iter(stream))
    stream.cancel()
    anonymous = make_client(server, tls=pki["ca"])
    anonymous.timeout = 2
    with pytest.raises(RemoteError) as info:
        anonymous.list_symbols()
    assert info.value.code == grpc.StatusCode.UNAVAILABLE


async def _async_list(target, ca):
    from mdstream.grpc.aio import AsyncClient

    async with AsyncClient(target, tls=ca, token=FULL) as client:
        return await client.list_symbols()


def test_async_client_speaks_tls_and_tokens(make_server, helpers, pki, token_file):
    import asyncio

    server = make_server(helpers.publish_engine(), start_engine=True,
                         tls=TLSFiles(pki["cert"], pki["key"]), tokens=load_tokens(token_file, {}))
    assert asyncio.run(_async_list(server.address, pki["ca"])) == helpers.SYMBOLS


def test_node_serves_metrics_and_dashboard_over_https(no_thread_leak, pki):
    config = NodeConfig(feed=None, port=0, metrics_port=0, dashboard_port=0,
                        tls_cert=pki["cert"], tls_key=pki["key"])
    ctx = ssl.create_default_context(cafile=pki["ca"])
    with Node(config) as node:
        assert node.metrics_url.startswith("https://127.0.0.1:")
        assert node.dashboard_url.startswith("https://127.0.0.1:")
        with urllib.request.urlopen(node.metrics_url, context=ctx, timeout=5) as resp:
            assert b"mdstream_" in resp.read()
        with urllib.request.urlopen(node.dashboard_url, context=ctx, timeout=5) as resp:
            assert resp.status == 200
        with pytest.raises(Exception):         # plain HTTP on the TLS port
            urllib.request.urlopen(node.metrics_url.replace("https", "http"), timeout=5)


# -- tokens ---------------------------------------------------------------------

def test_tokens_authenticate_and_limit_operations_and_symbols(make_server, make_client, helpers,
                                                               token_file):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True, tokens=load_tokens(token_file, {}))
    anonymous, stranger = make_client(server), make_client(server, token="not-a-known-token-123")
    for client in (anonymous, stranger):
        with pytest.raises(UnauthenticatedError) as info:
            client.list_symbols()
        assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(UnauthenticatedError):
            next(iter(client.stream_batches(["AAPL"])))
    with pytest.raises(UnauthenticatedError) as info:
        anonymous.get_stats()
    assert "Bearer" in str(info.value)
    # Health needs no token.
    assert _health(anonymous._channel).status == health_pb2.HealthCheckResponse.SERVING

    research = make_client(server, token=AAPL_ONLY)
    assert research.list_symbols() == ["AAPL", "AMZN"]       # AAPL, AM* of the engine's symbols
    with pytest.raises(PermissionDeniedError) as info:
        next(iter(research.stream_batches(["AAPL", "MSFT"])))
    err = info.value
    assert err.code == grpc.StatusCode.PERMISSION_DENIED and "MSFT" in str(err)
    assert "AAPL" not in str(err).split("symbol")[-1]
    for call in (research.get_stats, lambda: research.snapshot(["AAPL"])):
        with pytest.raises(PermissionDeniedError) as info:
            call()
        assert "does not allow" in str(info.value) and info.value.operation in ("stats", "snapshot")
    # A stream of all symbols gets the allowed ones only.
    stream = research.stream_results(None)
    helpers.wait_for_streams(server, 1)
    engine.publish_trades(["MSFT", "AAPL", "GOOG", "AMZN"], [10.0] * 4, [1.0] * 4)
    got = [next(stream).symbol for _ in range(2)]
    assert got == ["AAPL", "AMZN"]
    stream.cancel()

    ops = make_client(server, token=FULL)
    assert ops.list_symbols() == helpers.SYMBOLS
    assert ops.get_stats().engine.running
    assert len(ops.snapshot(["AAPL"]).results) == 1


def test_the_error_info_of_a_refusal_names_its_reason(make_server, helpers, token_file):
    server = make_server(helpers.publish_engine(), start_engine=True,
                         tokens=load_tokens(token_file, {}))
    with grpc.insecure_channel(server.address) as channel:
        method = channel.unary_unary("/mdstream.v1.MDStream/GetStats")
        for metadata, code, reason in (
                ((), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
                ((("authorization", f"Bearer {OTHER}"),), grpc.StatusCode.PERMISSION_DENIED,
                 "NOT_ENTITLED")):
            with pytest.raises(grpc.RpcError) as info:
                method(b"", metadata=metadata, timeout=5)
            assert info.value.code() == code
            assert error_info(info.value).reason == reason


def test_streams_per_client_count_per_token(make_server, make_client, helpers, token_file):
    server = make_server(helpers.publish_engine(), start_engine=True, max_streams_per_client=1,
                         tokens=load_tokens(token_file, {}))
    a, b = make_client(server, token=FULL), make_client(server, token=OTHER)
    first = a.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
    next(iter(first))
    with pytest.raises(TooManySubscribersError) as info:
        next(iter(a.stream_batches(["AAPL"])))
    assert "this client already has 1 streams open" in str(info.value)
    other = b.stream_batches(["AAPL"], heartbeat_interval=0.05, heartbeats=True)
    next(iter(other))                   # another token: another client
    for s in (first, other):
        s.cancel()


def _reflect(channel, metadata=()):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    req = reflection_pb2.ServerReflectionRequest(list_services="")
    return next(iter(stub.ServerReflectionInfo(iter([req]), metadata=metadata, timeout=5)))


def test_reflection_needs_a_token_and_can_be_turned_off(make_server, helpers, token_file):
    tokens = load_tokens(token_file, {})
    server = make_server(helpers.publish_engine(), start_engine=True, tokens=tokens)
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            _reflect(channel)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        services = _reflect(channel, (("authorization", f"Bearer {FULL}"),))
        assert "mdstream.v1.MDStream" in str(services)
    off = make_server(helpers.publish_engine(), start_engine=True, reflection=False)
    with grpc.insecure_channel(off.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            _reflect(channel)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_tokens_over_plaintext_are_warned_of_unless_on_loopback(caplog, helpers, token_file,
                                                                no_thread_leak):
    tokens = load_tokens(token_file, {})
    for host, warned in (("127.0.0.1", False), ("0.0.0.0", True)):
        caplog.clear()
        engine = helpers.publish_engine()
        with caplog.at_level(logging.WARNING, logger="mdstream.grpc.server"):
            server = Server(engine, host, 0, tokens=tokens).start()
        server.stop(grace=0.5)
        engine.stop()
        assert ("plaintext" in caplog.text) == warned, caplog.text


def test_token_files_in_toml_and_the_environment_token(tmp_path):
    path = tmp_path / "tokens.toml"
    path.write_text('[tokens."abcdefghijklmnop-1"]\nname = "a"\nsymbols = ["X*"]\n'
                    'operations = ["list"]\n')
    table = load_tokens(str(path), {"MDSTREAM_TOKEN": "env-token-abcdefghijk"})
    assert table.lookup("abcdefghijklmnop-1").operations == ("list",)
    assert table.lookup("env-token-abcdefghijk").name == "env"
    with pytest.raises(UnauthenticatedError):
        table.lookup("abcdefghijklmnop-2")
    assert load_tokens(None, {}) is None


# -- GetStats detail ----------------------------------------------------------------

def test_get_stats_is_aggregate_unless_detail_is_allowed(make_server, make_client, helpers,
                                                         token_file):
    for kwargs, token, detailed in (({}, None, False), ({"detailed_stats": True}, None, True),
                                    ({"tokens": load_tokens(token_file, {})}, FULL, True)):
        server = make_server(helpers.publish_engine(), start_engine=True, **kwargs)
        client = make_client(server, token=token)
        stream = client.stream_batches(["MSFT"], heartbeat_interval=0.05, heartbeats=True)
        next(iter(stream))
        stats = client.get_stats()
        assert stats.streams_open == 1
        if detailed:
            assert [list(s.symbols) for s in stats.engine.subscriptions] == [["MSFT"]]
            assert list(stats.streams.values())[0].peer.startswith("ipv4:127.0.0.1")
        else:
            assert list(stats.engine.subscriptions) == [] and stats.streams == {}
        stream.cancel()


# -- bind addresses -------------------------------------------------------------------

def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_metrics_and_dashboard_stay_on_loopback_when_grpc_is_exposed(no_thread_leak):
    config = NodeConfig(feed=None, host="0.0.0.0", port=0, metrics_port=0, dashboard_port=0)
    with Node(config) as node:
        grpc_port = node.server.port
        metrics_port = int(re.search(r":(\d+)/", node.metrics_url).group(1))
        dashboard_port = int(re.search(r":(\d+)/", node.dashboard_url).group(1))
        assert node.metrics_url.startswith("http://127.0.0.1:")
        # 127.0.0.2 is a loopback address too, but not the one the web ports bound.
        assert _reachable("127.0.0.2", grpc_port)
        assert not _reachable("127.0.0.2", metrics_port)
        assert not _reachable("127.0.0.2", dashboard_port)
    config = NodeConfig(feed=None, port=0, metrics_port=0, metrics_host="0.0.0.0")
    with Node(config) as node:
        metrics_port = int(re.search(r":(\d+)/", node.metrics_url).group(1))
        assert _reachable("127.0.0.2", metrics_port)


# -- the command line -------------------------------------------------------------------

def test_cli_serves_tls_and_tokens_and_stats_uses_them(helpers, pki, token_file):
    env = helpers.subprocess_env()
    env.pop("MDSTREAM_TOKEN", None)
    with helpers.popen(helpers.mdstream_command(
            "serve", "--port", "0", "--rate", "1000", "--tls-cert", pki["cert"], "--tls-key",
            pki["key"], "--tokens", token_file, "--max-streams-per-client", "4")) as server:
        line = helpers.read_line_matching(server.stdout, "listening on").strip()
        port = re.search(r":(\d+)$", line).group(1)
        target = f"127.0.0.1:{port}"

        def stats(*extra, token=FULL):
            e = dict(env, MDSTREAM_TOKEN=token) if token else env
            return subprocess.run(helpers.mdstream_command(
                "stats", "--target", target, "--once", "--connect-timeout", "3", *extra),
                capture_output=True, text=True, timeout=30, env=e)

        done = stats("--tls-ca", pki["ca"])
        assert done.returncode == 0, done.stderr
        assert "running" in done.stdout
        refused = stats("--tls-ca", pki["ca"], token=None)
        assert refused.returncode != 0 and "token" in refused.stderr
        sub = subprocess.run(helpers.mdstream_command(
            "subscribe", "--target", target, "--tls-ca", pki["ca"], "--token", AAPL_ONLY,
            "--symbols", "MSFT", "--duration", "1", "--connect-timeout", "3"),
            capture_output=True, text=True, timeout=30, env=env)
        assert sub.returncode != 0 and "MSFT" in sub.stderr, sub.stderr
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=15)


def test_journal_errors_sent_to_clients_name_files_not_paths():
    from mdstream.errors import JournalCorruptError, JournalError
    from mdstream.grpc.errors import error_status

    for exc in (JournalError("cannot read /srv/md/journal/00000007.seg: I/O error"),
                JournalCorruptError("/srv/md/journal/00000007.seg", 4096, "bad checksum", False)):
        status, _rule = error_status(exc)
        assert "/srv" not in status.details and "00000007.seg" in status.details
        assert all("/srv" not in str(v) for _k, v in status.trailing_metadata)


@pytest.mark.parametrize("kwargs", [{"max_streams_per_client": 0}, {"tls_cert": "c.pem"},
                                    {"tls_client_ca": "ca.pem"}])
def test_node_config_refuses_incomplete_security_settings(kwargs):
    from mdstream.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError):
        NodeConfig(feed=None, **kwargs)


def test_node_config_defaults_keep_the_web_ports_on_loopback():
    config = NodeConfig(feed=None, host="0.0.0.0")
    assert (config.metrics_host, config.dashboard_host) == ("127.0.0.1", "127.0.0.1")
    assert config.max_streams_per_client == 16 and not config.detailed_stats
    assert "token=" not in repr(NodeConfig(feed=None, token="secret-token-123456"))
