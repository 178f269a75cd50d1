"""Servers and client processes for the gRPC benchmarks.

A server (mdstream's or the baseline's) runs in its own process; each client
runs in its own process (benchmarks/_grpc_client.py) and reports, as one JSON
line, the ticks it received inside a common measuring window, its own CPU
time in that window and, if asked, its latency percentiles. The server's CPU
time over the same window is read from /proc (Linux). So every result says
how the 2 cores were shared between the server and its clients.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"listening on (\S+)")
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class ServerProcess:
    """A gRPC server in a child process; ``address`` once it listens."""

    def __init__(self, argv: list[str], name: str, startup_timeout: float = 30.0):
        self.name = name
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT, env=_env())
        self._stderr: list[str] = []
        threading.Thread(target=self._collect_stderr, daemon=True).start()
        self.address = self._wait_listening(startup_timeout)
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _collect_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _drain_stdout(self):
        for _ in self.proc.stdout:
            pass

    def _wait_listening(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        result: list[str] = []

        def read():
            for line in self.proc.stdout:
                m = _LISTENING.search(line)
                if m:
                    result.append(m.group(1))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        while not result and time.monotonic() < deadline and self.proc.poll() is None:
            reader.join(0.05)
        if result:
            return result[0]
        self.stop()
        raise RuntimeError(f"{self.name} server did not start ({' '.join(self.argv)}):\n"
                           + "".join(self._stderr[-20:]))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def memory(self) -> dict:
        """Current and peak resident set size, in bytes."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1]) * 1024
        return {"rss": out.get("VmRSS", 0), "peak_rss": out.get("VmHWM", 0)}

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def mdstream_server(rate: float = 0.0, workers: int = 2, symbols: int = 8,
                    ring_size: int = 1 << 16) -> ServerProcess:
    """``mdstream serve`` on a free port, as a user would start it."""
    argv = [sys.executable, "-m", "mdstream", "serve", "--port", "0", "--rate", repr(rate),
            "--workers", str(workers), "--symbols", ",".join(f"SYM{i}" for i in range(symbols)),
            "--ring-size", str(ring_size)]
    return ServerProcess(argv, "mdstream")


def baseline_server(rate: float = 0.0, workers: int = 2, symbols: int = 8) -> ServerProcess:
    argv = [sys.executable, "-m", "benchmarks.baselines.grpc_server", "--port", "0",
            "--rate", str(rate), "--workers", str(workers), "--symbols", str(symbols)]
    return ServerProcess(argv, "baseline")


def start_together(clients: list, warmup: float, ready_timeout: float) -> float:
    """Wait until every client process is ready (within ``ready_timeout`` s),
    start them all at one wall-clock time ``warmup`` s from now and sleep until
    then; returns that time (epoch seconds)."""
    deadline = time.monotonic() + ready_timeout
    for c in clients:
        c.wait_ready(deadline)
    start_at = time.time() + warmup
    for c in clients:
        c.start(start_at)
    time.sleep(max(0.0, start_at - time.time()))
    return start_at


def run_clients(server: ServerProcess, kind: str, n_clients: int, duration: float,
                warmup: float = 1.0, latency: bool = False, extra: Sequence[str] = (),
                sample: Callable[[], None] | None = None, sample_every: float = 0.25,
                ready_timeout: float = 60.0) -> dict:
    """Start n client processes of `kind` against the server and measure a
    common window of `duration` s.

    The clients connect and start streaming; once all have received data,
    the window opens `warmup` s later, the same wall-clock instant for all.
    ``sample()`` is called every ``sample_every`` s during the window.
    Returns {"clients": [per-client dicts], "server_cpu_s", "window_s"}.
    """
    argv = [sys.executable, "-m", "benchmarks._grpc_client", "--kind", kind,
            "--target", server.address, "--duration", repr(duration), *extra]
    if latency:
        argv.append("--latency")
    procs = [_Client(argv) for _ in range(n_clients)]
    try:
        start_together(procs, warmup, ready_timeout)
        cpu0 = server.cpu_seconds()
        end = time.monotonic() + duration
        while sample is not None and time.monotonic() < end:
            sample()
            time.sleep(min(sample_every, max(0.0, end - time.monotonic())))
        time.sleep(max(0.0, end - time.monotonic()))
        cpu1 = server.cpu_seconds()
        clients = [c.result(duration + 60) for c in procs]
    finally:
        for c in procs:
            c.kill()
    return {"clients": clients, "server_cpu_s": cpu1 - cpu0, "window_s": duration}


class _Client:
    """A client process: says "ready" once data flows, is told when to start
    counting on its stdin, and prints its result as the last JSON line."""

    def __init__(self, argv: list[str]):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
        self.lines: list[str] = []
        self.err: list[str] = []
        self._out = threading.Thread(target=self._read, args=(self.proc.stdout, self.lines),
                                     daemon=True)
        self._err = threading.Thread(target=self._read, args=(self.proc.stderr, self.err),
                                     daemon=True)
        self._out.start()
        self._err.start()

    @staticmethod
    def _read(stream, into):
        for line in stream:
            into.append(line)

    def _failure(self, what: str) -> RuntimeError:
        return RuntimeError(f"client {what} (exit {self.proc.poll()}): {' '.join(self.argv)}\n"
                            + "".join(self.err[-30:]))

    def wait_ready(self, deadline: float) -> None:
        while not any(l.startswith("ready") for l in self.lines):
            if self.proc.poll() is not None:
                raise self._failure("ended before it received data")
            if time.monotonic() > deadline:
                raise self._failure("received no data in time")
            time.sleep(0.01)

    def start(self, start_at: float) -> None:
        self.proc.stdin.write(f"{start_at!r}\n")
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise self._failure("did not finish") from None
        self._out.join(5)
        lines = [l for l in self.lines if l.startswith("{")]
        if self.proc.returncode != 0 or not lines:
            raise self._failure("failed")
        return json.loads(lines[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def frame_args(opts) -> list[str]:
    """Client arguments for StreamBatches' frame size and wait, from the suite's options."""
    return ["--max-ticks-per-frame", str(opts.frame), "--max-wait", repr(opts.max_wait)]


def client_rates(runs: list[dict]) -> list[float]:
    """The ticks/s of each run's (first) client."""
    return [r["clients"][0]["rate"] for r in runs]


def median_cores(runs: list[dict]) -> dict:
    """The median server and client cores (CPU time / wall time) over runs."""
    cpus = [cpu_summary(r) for r in runs]
    return {"server_cores": statistics.median(c["server_cores"] for c in cpus),
            "client_cores": statistics.median(c["client_cores"] for c in cpus)}


def cpu_summary(run: dict) -> dict:
    """How the window's CPU time was shared, in cores (CPU seconds per second)."""
    w = run["window_s"]
    clients = [c["cpu_s"] / w for c in run["clients"]]
    return {"server_cores": run["server_cpu_s"] / w,
            "client_cores": clients if len(clients) > 1 else clients[0],
            "total_cores": run["server_cpu_s"] / w + sum(clients),
            "machine_cores": os.cpu_count()}
