"""The GitHub Actions workflows are valid (GitHub's workflow JSON schema, as
check-jsonschema ships it) and the release does what the README says: wheels
on native runners for every arch of the wheel matrix, the sdist, and PyPI
trusted publishing on a `v*` tag only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def check_jsonschema() -> str:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("check-jsonschema is not installed (it is in the test extra: `make install`)")
    return exe


def validate(*files: Path) -> subprocess.CompletedProcess:
    # The schema is the one bundled with check-jsonschema: no network.
    return subprocess.run([check_jsonschema(), "--builtin-schema", "vendor.github-workflows",
                           *map(str, files)], capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    from ruamel.yaml import YAML        # check-jsonschema's own YAML parser

    return YAML(typ="safe").load(path.read_text())


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"wheels.yml", "test.yml"} <= names, names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(workflow):
    proc = validate(workflow)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: push\njobs:\n  build:\n    runs_on: ubuntu-24.04\n"
                      "    steps:\n      - uses: actions/checkout@v5\n")
    proc = validate(broken)
    assert proc.returncode != 0, "a job without runs-on was accepted"


def test_release_publishes_by_trusted_publishing_on_v_tags_only():
    wf = load(ROOT / ".github" / "workflows" / "wheels.yml")
    on = wf.get("on", wf.get(True))             # YAML 1.1 reads a bare `on` as true
    assert on["push"]["tags"] == ["v*"] and "pull_request" in on
    assert wf["permissions"] == {"contents": "read"}
    jobs = wf["jobs"]
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"build_wheels", "sdist"}
    assert "startsWith(github.ref, 'refs/tags/v')" in publish["if"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses), uses
    # No stored token: trusted publishing only.
    assert "secrets." not in (ROOT / ".github" / "workflows" / "wheels.yml").read_text()


def test_wheel_jobs_cover_every_arch_on_native_runners():
    """Each arch of [tool.cibuildwheel] is built on a runner of that arch (no emulation)."""
    text = (ROOT / "pyproject.toml").read_text()
    wf = load(ROOT / ".github" / "workflows" / "wheels.yml")
    matrix = wf["jobs"]["build_wheels"]["strategy"]["matrix"]["include"]
    runners = {(m["os"], m["arch"]) for m in matrix}
    assert runners == {("ubuntu-24.04", "x86_64"), ("ubuntu-24.04-arm", "aarch64"),
                       ("macos-15-intel", "x86_64"), ("macos-15", "arm64")}, runners
    assert 'archs = ["x86_64", "aarch64"]' in text and 'archs = ["x86_64", "arm64"]' in text
    steps = wf["jobs"]["build_wheels"]["steps"]
    cibw = [s for s in steps if s.get("uses", "").startswith("pypa/cibuildwheel@")]
    assert cibw and cibw[0]["env"]["CIBW_ARCHS"] == "${{ matrix.arch }}"
