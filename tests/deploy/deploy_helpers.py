"""Helpers of the deploy recipe's tests (tests/deploy/, marker `deploy`).

The manifests, the compose file, the NATS configuration and the health check
script are checked here cheaply, with real tools (kubernetes-validate, the
compose spec's JSON schema, a real nats-server cluster and a real
`mdstream serve` on loopback ports). The image build (test_deploy_image.py)
runs only in `make deploy-check`.
"""

from __future__ import annotations

import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose.yaml"
HEALTHCHECK = DEPLOY / "healthcheck.py"
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def load_documents(path: Path) -> list[dict]:
    """Every YAML document of path (empty ones left out)."""
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def kubernetes_objects() -> list[tuple[Path, dict]]:
    """(file, object) for every object of every manifest under deploy/kubernetes/."""
    return [(path, doc) for path in MANIFESTS for doc in load_documents(path)]


def find_object(kind: str, name: str) -> dict:
    for _, doc in kubernetes_objects():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name!r} under {KUBERNETES}")


def free_port() -> int:
    """A port free on 127.0.0.1 right now (for servers that cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@contextmanager
def running(cmd: list[str], log: Path | None = None, **kwargs):
    """A subprocess, terminated (then killed) and reaped on exit; its output
    goes to proc.stdout (a pipe), or to the file log."""
    out = log.open("w") if log is not None else subprocess.PIPE
    try:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, **kwargs)
    finally:
        if log is not None:
            out.close()
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def has_command(name: str) -> bool:
    """True if `mdstream NAME --help` is a command's help (exit 0), not a usage error."""
    import contextlib
    import io

    from mdstream.cli.parser import build_parser

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_known_args([name, "--help"])
    except SystemExit as exc:
        return exc.code == 0
    return True


def serve_has_publish() -> bool:
    """True if this mdstream's `serve` takes --publish (the NATS scale-out)."""
    from mdstream.cli.parser import build_parser

    _, unknown = build_parser().parse_known_args(["serve", "--publish", "nats://127.0.0.1:4222"])
    return not unknown
