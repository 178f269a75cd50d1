"""Fixtures of the deploy recipe's tests (helpers in deploy_helpers.py)."""

from __future__ import annotations

import sys

import pytest

from deploy_helpers import running


@pytest.fixture
def serve_port():
    """A real `mdstream serve --port 0` on 127.0.0.1; yields its port."""
    cmd = [sys.executable, "-c", "from mdstream.cli import main; raise SystemExit(main())",
           "serve", "--port", "0", "--rate", "1000"]
    with running(cmd) as proc:
        line = proc.stdout.readline()
        assert "listening on" in line, f"mdstream serve did not start: {line!r}"
        yield int(line.strip().rsplit(":", 1)[1])
