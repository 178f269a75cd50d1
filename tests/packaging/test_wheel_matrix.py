"""The wheels the release builds: cibuildwheel, reading [tool.cibuildwheel] in
pyproject.toml as the wheels workflow does, lists exactly the intended build
identifiers, and the workflow uses that same cibuildwheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "wheels.yml"

PYTHONS = ["cp310", "cp311", "cp312", "cp313", "cp314", "cp314t"]
LINUX_PLATFORMS = [f"{libc}_{arch}" for libc in ("manylinux", "musllinux") for arch in ("x86_64", "aarch64")]
MACOS_PLATFORMS = ["macosx_x86_64", "macosx_arm64"]
INTENDED = {
    "linux": {f"{py}-{plat}" for py in PYTHONS for plat in LINUX_PLATFORMS},
    "macos": {f"{py}-{plat}" for py in PYTHONS for plat in MACOS_PLATFORMS},
}

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="cibuildwheel 4 runs on Python 3.11 or newer (the test extra "
                                       "installs it there only)")


def cibuildwheel() -> str:
    exe = shutil.which("cibuildwheel", path=str(Path(sys.executable).parent))
    assert exe, "cibuildwheel is not installed: it is in the test extra (`make install`)"
    return exe


def identifiers(platform: str, config: Path | None = None) -> set[str]:
    # CIBW_* variables (as a CI job sets them) would change the answer: the
    # configuration under test is the file alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    cmd = [cibuildwheel(), "--print-build-identifiers", "--platform", platform]
    if config is not None:
        cmd += ["--config-file", str(config)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


@pytest.mark.parametrize("platform", ["linux", "macos"])
def test_identifiers_are_exactly_the_intended_ones(platform):
    found = identifiers(platform)
    assert found == INTENDED[platform], (
        f"missing: {sorted(INTENDED[platform] - found)}; unintended: {sorted(found - INTENDED[platform])}")


def test_a_changed_configuration_is_noticed(tmp_path):
    """The comparison above can fail: a configuration without 3.14 gives another list."""
    text = (ROOT / "pyproject.toml").read_text()
    changed = text.replace(' cp314-* cp314t-*', '', 1)
    assert changed != text
    config = tmp_path / "pyproject.toml"
    config.write_text(changed)
    found = identifiers("linux", config)
    assert found and found != INTENDED["linux"]
    assert not any(i.startswith("cp314") for i in found)


def test_workflow_uses_the_tested_cibuildwheel():
    pins = re.findall(r"uses:\s*pypa/cibuildwheel@v([0-9.]+)", WORKFLOW.read_text())
    assert pins, "the wheels workflow does not use pypa/cibuildwheel"
    assert set(pins) == {version("cibuildwheel")}, (
        f"the workflow uses cibuildwheel {pins}, the test extra installs {version('cibuildwheel')}: "
        "keep them equal so this test checks what CI builds")
