"""A client that cannot connect says why at once: nothing listening, a TLS
mismatch, an untrusted certificate; a reconnecting stream logs its outage
once, not per attempt. Real servers, real clients, a port nobody listens on."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time

import grpc
import pytest

from mdstream.grpc.aio import AsyncClient
from mdstream.grpc.client import Client
from mdstream.grpc.connect import ConnectError, FailureLog, connect_cause
from mdstream.grpc.errors import RemoteError
from mdstream.grpc.resume import Reconnect, ReconnectError
from mdstream.grpc.tls import TLSFiles

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 30.0          # what the clients are given; failing must not wait for it


@pytest.fixture
def dead_port():
    """A free loopback port nobody listens on (bound, then released unlistened)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return port


@pytest.fixture
def pki(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca, other = trustme.CA(), trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": tmp_path / "ca.pem", "other_ca": tmp_path / "other.pem",
             "key": tmp_path / "key.pem", "cert": tmp_path / "cert.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    other.cert_pem.write_to_path(str(files["other_ca"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    return {k: str(v) for k, v in files.items()}


def _assert_refused(error: BaseException, target: str) -> None:
    assert isinstance(error, ConnectError), repr(error)
    assert error.cause == "refused" and error.code == grpc.StatusCode.UNAVAILABLE
    message = str(error)
    assert target in message and "nothing listening" in message
    assert "failed to connect to all addresses" not in message      # grpc's text is in .details
    assert "Connection refused" in error.grpc_details and "nothing listening" in error.details


def test_nothing_listening_fails_the_first_call_at_once(make_client, dead_port):
    target = f"127.0.0.1:{dead_port}"
    client = make_client(target)
    client.timeout = TIMEOUT
    calls = {"list_symbols": client.list_symbols, "snapshot": lambda: client.snapshot("AAPL"),
             "get_stats": client.get_stats, "health": client.health,
             "stream_batches": lambda: next(iter(client.stream_batches(["AAPL"]))),
             "stream_results": lambda: next(iter(client.stream_results(["AAPL"]))),
             "wait_ready": lambda: client.wait_ready(TIMEOUT)}
    for name, call in calls.items():
        start = time.monotonic()
        with pytest.raises(ConnectError) as info:
            call()
        assert time.monotonic() - start < TIMEOUT, name
        _assert_refused(info.value, target)
    assert client.state == "unreachable: refused"
    assert "unreachable: refused" in repr(client)


def test_wait_ready_can_wait_for_a_server_that_is_starting(make_client, dead_port):
    client = make_client(f"127.0.0.1:{dead_port}")
    with pytest.raises(RemoteError, match="no mdstream server answered") as info:
        client.wait_ready(0.3, fail_fast=False)
    assert not isinstance(info.value, ConnectError)


def test_wait_ready_returns_once_a_server_answers(make_server, make_client, helpers):
    server = make_server(helpers.publish_engine(), start_engine=True)
    client = make_client(server)
    assert client.state == "new"
    client.wait_ready(5.0)
    assert client.state == "connected"


def test_wait_ready_passes_over_a_target_nobody_listens_on(make_server, helpers, dead_port):
    """Several targets (edges of one stream): the first that answers is used;
    ConnectError only when none does."""
    server = make_server(helpers.publish_engine(), start_engine=True)
    live = f"127.0.0.1:{server.port}"
    with Client(f"127.0.0.1:{dead_port},{live}", timeout=TIMEOUT) as client:
        client.wait_ready(5.0)
        assert client.target == live and client.list_symbols()

    async def main():
        async with AsyncClient([f"127.0.0.1:{dead_port}", live], timeout=TIMEOUT) as aclient:
            await aclient.wait_ready(5.0)
            return aclient.target
    assert asyncio.run(main()) == live

    with Client(f"127.0.0.1:{dead_port},127.0.0.1:{dead_port}", timeout=TIMEOUT) as client:
        with pytest.raises(ConnectError, match="nothing listening"):
            client.wait_ready(5.0)


def test_async_client_fails_at_once_too(dead_port, no_thread_leak):
    target = f"127.0.0.1:{dead_port}"

    async def main():
        async with AsyncClient(target, timeout=TIMEOUT) as client:
            errors = []
            for call in (client.list_symbols, client.get_stats, client.health,
                         lambda: client.wait_ready(TIMEOUT)):
                start = time.monotonic()
                with pytest.raises(ConnectError) as info:
                    await call()
                assert time.monotonic() - start < TIMEOUT
                errors.append(info.value)
            stream = client.stream_batches(["AAPL"])
            with pytest.raises(ConnectError) as info:
                await stream.__anext__()
            errors.append(info.value)
            return errors, repr(client)

    errors, text = asyncio.run(main())
    for error in errors:
        _assert_refused(error, target)
    assert "unreachable: refused" in text


def test_tls_client_to_a_plaintext_server_is_a_tls_mismatch(make_server, make_client, helpers,
                                                              pki):
    server = make_server(helpers.publish_engine(), start_engine=True)
    client = make_client(server, tls=pki["ca"])
    with pytest.raises(ConnectError) as info:
        client.list_symbols()
    assert info.value.cause == "tls"
    assert "TLS handshake" in str(info.value) and "plaintext" in str(info.value)
    assert server.address in str(info.value)


def test_plaintext_client_to_a_tls_server_is_told_to_use_tls(make_server, make_client, helpers,
                                                             pki):
    server = make_server(helpers.publish_engine(), start_engine=True,
                         tls=TLSFiles(pki["cert"], pki["key"]))
    plain = make_client(server)
    with pytest.raises(ConnectError) as info:
        plain.wait_ready(TIMEOUT)
    assert info.value.cause in ("closed", "tls"), info.value
    assert "tls=True" in str(info.value)
    untrusted = make_client(server, tls=pki["other_ca"])
    with pytest.raises(ConnectError) as info:
        untrusted.list_symbols()
    assert info.value.cause == "tls" and "CA" in str(info.value)
    good = make_client(server, tls=pki["ca"])
    assert good.list_symbols() == helpers.SYMBOLS


def test_a_reconnecting_stream_logs_its_outage_once(make_client, dead_port, caplog):
    client = make_client(f"127.0.0.1:{dead_port}")
    stream = client.stream_batches(["AAPL"], resume=Reconnect(
        initial_backoff=0.02, max_backoff=0.05, give_up_after=1.0))
    with caplog.at_level(logging.INFO, logger="mdstream.grpc.client"):
        with pytest.raises(ReconnectError) as info:
            next(iter(stream))
    assert info.value.attempts >= 5
    assert isinstance(info.value.last_error, ConnectError)
    assert "nothing listening" in str(info.value)
    warnings = [r for r in caplog.records if r.name == "mdstream.grpc.client"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].levelno == logging.WARNING and "nothing listening" in warnings[0].getMessage()


def test_failure_log_says_each_outage_and_its_end_once(caplog):
    log = FailureLog("h:1")
    refused = ConnectError("h:1", "refused", "Connection refused")
    tls = ConnectError("h:1", "tls", "Tls handshake failed")
    with caplog.at_level(logging.INFO, logger="mdstream.grpc.client"):
        for _ in range(10):
            log.failed(refused)
        log.failed(tls)                 # a new cause is news
        log.recovered()
        log.recovered()                 # nothing to say twice
        log.failed(refused)             # a new outage
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4, messages
    assert "reconnected after 11 attempts" in messages[2]


@pytest.mark.parametrize("details, cause", [
    ("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to "
     "connect to remote host: Connection refused", "refused"),
    ("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:33357: Tls "
     "handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000f7:SSL "
     "routines:OPENSSL_internal:WRONG_VERSION_NUMBER", "tls"),
    ("failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:37205: "
     "Socket closed", "closed"),
    ("errors resolving nosuchhost.invalid:50051: [field:hostname lookup error:address lookup "
     "failed for nosuchhost.invalid:50051: Domain name not found]", "resolve"),
    ("Socket closed", None),            # a connection lost mid-stream is not a connect failure
    ("the server is shutting down", None),
])
def test_connect_causes_from_grpc_details(details, cause):
    assert connect_cause(details) == cause


def test_a_tls_mismatch_is_said_once_on_stderr_too(make_server, helpers, pki):
    """grpc's core prints every failed handshake; mdstream asks it for errors
    only, so a reconnecting stream's outage is one warning (a fresh process:
    the setting is read when grpc is first imported)."""
    server = make_server(helpers.publish_engine(), start_engine=True)
    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, format='%(name)s %(levelname)s %(message)s')\n"
        "import mdstream\n"
        "client = mdstream.Client(sys.argv[1], tls=sys.argv[2])\n"
        "stream = client.stream_batches(resume=mdstream.Reconnect(initial_backoff=0.02,\n"
        "                               max_backoff=0.05, give_up_after=1.0))\n"
        "try:\n"
        "    next(iter(stream))\n"
        "except mdstream.ReconnectError as exc:\n"
        "    print('attempts', exc.attempts)\n")
    done = subprocess.run([sys.executable, "-c", script, server.address, pki["ca"]],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in helpers.subprocess_env().items()
                               if k != "GRPC_VERBOSITY"})
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) >= 5
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("mdstream.grpc.client WARNING") and "TLS handshake" in lines[0]
