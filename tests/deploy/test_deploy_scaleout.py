"""The scale-out as the Kubernetes manifests run it, on loopback: the NATS
cluster from the ConfigMap, the engine with the StatefulSet's arguments and
two edges with the Deployment's, each with only its address, port and paths
changed (and a modest --rate). The edges must pass the image's health check
script and serve results to a real client.

Runs once this version of mdstream has `serve --publish` and `mdstream edge`
(the NATS scale-out); skipped before, saying so."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from contextlib import ExitStack

import pytest

from deploy_helpers import (HEALTHCHECK, find_object, free_port, has_command, running,
                            serve_has_publish, wait_until)
from nats_cluster import check_cluster, kubernetes_nats_cluster

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(180)]

MDSTREAM = [sys.executable, "-c", "from mdstream.cli import main; raise SystemExit(main())"]


def _args(kind: str, name: str) -> list[str]:
    (container,) = find_object(kind, name)["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def _replace(argv: list[str], values: dict[str, str]) -> list[str]:
    """argv with the value of each option in values replaced (each must be there)."""
    out = list(argv)
    for option, value in values.items():
        assert option in out, f"{option} is not in {argv}"
        out[out.index(option) + 1] = value
    return out


def _listening_port(proc) -> int:
    seen = []
    for line in proc.stdout:           # bounded by the test's timeout
        seen.append(line)
        if "listening on" in line:
            return int(line.strip().rsplit(":", 1)[1])
    pytest.fail(f"{proc.args[3:5]} ended before listening (exit {proc.wait()}):\n{''.join(seen)}")


def test_engine_and_edges_as_the_manifests_run_them(tmp_path):
    if not (has_command("edge") and serve_has_publish()):
        pytest.skip("needs `mdstream serve --publish` and `mdstream edge` (the NATS scale-out), "
                    "not in this version of mdstream yet")
    if importlib.util.find_spec("nats") is None:
        pytest.skip("needs nats-py (pip install 'mdstream[nats]')")
    with ExitStack() as stack:
        ports, logs = kubernetes_nats_cluster(tmp_path, stack)
        check_cluster([p["http"] for p in ports], logs)
        servers = ",".join(f"nats://127.0.0.1:{p['client']}" for p in ports)

        engine = _replace(_args("StatefulSet", "mdstream-engine"), {
            "--host": "127.0.0.1", "--port": "0", "--journal": str(tmp_path / "journal"),
            "--metrics-host": "127.0.0.1", "--metrics-port": str(free_port()), "--publish": servers})
        engine_proc = stack.enter_context(running([*MDSTREAM, *engine, "--rate", "2000"]))
        _listening_port(engine_proc)

        edge = _replace(_args("Deployment", "mdstream-edge"),
                        {"--source": servers, "--host": "127.0.0.1", "--port": "0"})
        edge_ports = [_listening_port(stack.enter_context(running([*MDSTREAM, *edge])))
                      for _ in range(2)]

        import mdstream

        for port in edge_ports:
            target = f"127.0.0.1:{port}"

            def healthy():
                return subprocess.run([sys.executable, str(HEALTHCHECK), "--target", target],
                                      capture_output=True, timeout=30).returncode == 0

            assert wait_until(healthy, timeout=30, interval=0.5), f"edge {target} is not SERVING"
            with mdstream.Client(target) as client:
                stream = client.stream_batches(symbols=["AAPL"], policy="skip")
                try:
                    batch = next(b for b in stream if len(b))
                finally:
                    stream.cancel()
            assert set(batch.symbol_names()) == {"AAPL"}
            assert (batch.seq[1:] > batch.seq[:-1]).all()
