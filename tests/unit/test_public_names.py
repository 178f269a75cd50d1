"""The names the README uses resolve in a fresh interpreter, without
importing any submodule first."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("expression", [
    "mdstream.Reconnect(give_up_after=300)",
    "mdstream.RemoteError",
    "mdstream.ReconnectError",
    "mdstream.Client",
    "mdstream.AsyncClient",
    "mdstream.Server",
    "mdstream.StreamEnded",
    "mdstream.Snapshot",
])
def test_readme_names_resolve_in_a_fresh_interpreter(expression):
    proc = subprocess.run([sys.executable, "-c", f"import mdstream; print({expression})"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_every_name_in_all_resolves():
    import mdstream

    missing = [name for name in mdstream.__all__ if not hasattr(mdstream, name)]
    assert not missing
