"""Shared test setup.

The tests exist to check the compiled core, so they refuse to run without it:
if ``mdstream._core`` cannot be imported, or is not a compiled extension module,
the session fails at collection instead of skipping or silently testing
something else.
"""

from __future__ import annotations

import importlib.machinery
import os
import signal

import pytest

# A run started in the background of a non-interactive shell has SIGINT
# ignored, and every process a test starts would inherit that: the tests that
# stop a command with Ctrl-C need it delivered.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _compiled_core():
    try:
        import mdstream._core as core
    except ImportError as exc:  # pragma: no cover - the point is to fail loudly
        raise pytest.UsageError(
            f"mdstream._core (the compiled extension) cannot be imported: {exc}. "
            "Build it first: `make install` (or `pip install -e .`)."
        ) from exc
    path = getattr(core, "__file__", "") or ""
    if not path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        raise pytest.UsageError(
            f"mdstream._core was imported from {path!r}, which is not a compiled extension "
            f"(expected a file ending in one of {importlib.machinery.EXTENSION_SUFFIXES})."
        )
    return core


CORE = _compiled_core()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: builds or installs things (the wheel test); still part of `make test`"
    )
    config.addinivalue_line(
        "markers", "deploy: the deploy recipe (deploy/, Dockerfile); the image build runs only "
                   "with `-m deploy` (make deploy-check)"
    )
    config.addinivalue_line(
        "markers", "network: connects to a real venue on the internet; skipped unless "
                   "MDSTREAM_NETWORK_TESTS=1"
    )
    config.addinivalue_line(
        "markers", "browser: drives a headless Chromium (`make browser` installs Debian's); part of `make test`"
    )


def pytest_report_header(config):
    return f"mdstream._core: {os.path.relpath(CORE.__file__)}"


@pytest.fixture(scope="session")
def core():
    """The compiled core module (checked at import time to be the real extension)."""
    return CORE


# Hypothesis: no per-example deadline (the machine is shared and busy) and a
# moderate number of examples so the unit suite stays well under a minute.
# HYPOTHESIS_PROFILE=thorough runs many more.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "mdstream", deadline=None, max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mdstream"))


def _run_snippet(code: str, timeout: float = 30.0, cwd: str | None = None):
    """Run Python code in a fresh interpreter of this environment.

    For tests that must survive what they check going wrong: a signal that is
    swallowed, a deadlock that holds the GIL, a crash. Returns the
    CompletedProcess, or None if the child had to be killed after ``timeout``.
    """
    import subprocess
    import sys

    try:
        return subprocess.run([sys.executable, "-X", "faulthandler", "-c", code],
                              capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None


@pytest.fixture
def run_snippet():
    """``run_snippet(code, timeout=30)`` -> CompletedProcess, or None if it hung."""
    return _run_snippet
