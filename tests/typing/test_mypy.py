"""Type checkers see mdstream's real types: mypy (the configuration in
pyproject.toml) passes on the package and on examples/typed_client.py, and
rejects misspelled columns and policies; the .pyi stubs of the compiled
extensions match them (mypy's stubtest)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# mypy takes about 30 s cold on a busy machine; the runs share one cache.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    cache = tmp_path_factory.mktemp("mypy-cache")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             "--cache-dir", str(cache), "--no-error-summary", "--show-error-codes",
             "--no-pretty", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=550)

    return run


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


def test_the_package_type_checks(mypy):
    proc = mypy("-p", "mdstream")
    assert proc.returncode == 0 and not _errors(proc.stdout), proc.stdout + proc.stderr


def test_the_typed_example_type_checks(mypy):
    proc = mypy(str(ROOT / "examples" / "typed_client.py"))
    assert proc.returncode == 0 and not _errors(proc.stdout), proc.stdout + proc.stderr


def test_misspelled_columns_and_policies_are_rejected(mypy):
    path = HERE / "misspelled.py"
    proc = mypy(str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = {}
    for line in _errors(proc.stdout):
        m = re.match(r".*misspelled\.py:(\d+): error: (.*)\[([a-z-]+)\]$", line)
        assert m, line
        found[int(m.group(1))] = (m.group(2), m.group(3))
    lines = path.read_text().splitlines()
    expect = {n: text for n, text in enumerate(lines, 1)
              if "prise" in text or "skipp" in text or "blocking" in text or "drop" in text}
    assert set(found) == set(expect), (found, expect)
    by_text = {expect[n]: found[n] for n in found}
    prise = next(v for k, v in by_text.items() if "prise" in k)
    assert prise[1] == "attr-defined" and '"ResultBatch" has no attribute "prise"' in prise[0]
    skipp = next(v for k, v in by_text.items() if "skipp" in k)
    assert skipp[1] == "arg-type" and "Literal['skipp']" in skipp[0]
    assert "Literal['block', 'skip', 'disconnect']" in skipp[0]
    drop = next(v for k, v in by_text.items() if "drop" in k)
    assert drop[1] == "arg-type" and "StreamRequest" in drop[0]
    blocking = next(v for k, v in by_text.items() if "blocking" in k)
    assert blocking[1] == "call-overload" and "stream_batches" in blocking[0]


def test_top_level_names_are_not_any(mypy, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import mdstream\n"
                     "reveal_type(mdstream.Client)\n"
                     "reveal_type(mdstream.AsyncClient)\n"
                     "reveal_type(mdstream.ConnectError)\n"
                     "reveal_type(mdstream.ResultBatch.vwap)\n")
    proc = mypy(str(probe))
    revealed = [line.split("Revealed type is ", 1)[1] for line in proc.stdout.splitlines()
                if "Revealed type is" in line]
    assert len(revealed) == 4, proc.stdout
    assert revealed[0].endswith('-> mdstream.grpc.client.Client"')
    assert revealed[1].endswith('-> mdstream.grpc.aio.AsyncClient"')
    assert "mdstream.grpc.connect.ConnectError" in revealed[2]
    assert "Column[numpy.float" in revealed[3], revealed[3]
    assert not any(r.strip('"') == "Any" for r in revealed)


def test_the_extension_stubs_match_the_compiled_modules():
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "mdstream._core", "mdstream._codec",
         "--mypy-config-file", str(ROOT / "pyproject.toml"),
         "--allowlist", str(HERE / "stubtest_allowlist.txt")],
        cwd=ROOT, capture_output=True, text=True, timeout=550)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_typed_example_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "typed_client.py")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sync: " in proc.stdout and "asyncio: " in proc.stdout
    assert "in process, async for: " in proc.stdout
