"""deploy/healthcheck.py, the image's HEALTHCHECK, against a real `mdstream serve`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deploy_helpers import HEALTHCHECK, free_port

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(60)]


def healthcheck(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HEALTHCHECK), *args], capture_output=True,
                          text=True, timeout=30, env=env)


def test_a_serving_server_passes(serve_port):
    result = healthcheck("--target", f"127.0.0.1:{serve_port}")
    assert result.returncode == 0, result.stderr
    result = healthcheck("--target", f"127.0.0.1:{serve_port}", "--service", "mdstream.v1.MDStream")
    assert result.returncode == 0, result.stderr


def test_the_target_can_come_from_the_environment(serve_port):
    import os

    env = dict(os.environ, MDSTREAM_HEALTHCHECK_TARGET=f"127.0.0.1:{serve_port}")
    assert healthcheck(env=env).returncode == 0


def test_an_unknown_service_fails_and_says_so(serve_port):
    result = healthcheck("--target", f"127.0.0.1:{serve_port}", "--service", "no.such.Service")
    assert result.returncode == 1
    assert "NOT_FOUND" in result.stderr and "no.such.Service" in result.stderr


def test_no_server_fails_and_says_so():
    port = free_port()
    result = healthcheck("--target", f"127.0.0.1:{port}", "--timeout", "2")
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr and f"127.0.0.1:{port}" in result.stderr
