"""The built wheel works on its own: installed into a fresh virtual environment
and imported from outside the source tree, the compiled core is the one from
the wheel and runs an engine."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What a build needs from the tree; build outputs are left behind so the copy
# builds from scratch, as on a fresh clone.
SOURCES = ["pyproject.toml", "setup.py", "README.md", "MANIFEST.in", "LICENSE", "CHANGELOG.md", "src",
           "proto"]
_OUTPUT_PATTERNS = shutil.ignore_patterns(
    "*.so", "*.c", "*.html", "*.egg-info", "__pycache__", "build", "dist",
    "*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")


def BUILD_OUTPUTS(directory: str, names: list[str]) -> set[str]:
    """What a build makes: compiled and generated files, and the generated
    package src/mdstream/v1 and the .proto copies next to the generated code
    (proto/ itself is the source and is copied)."""
    ignored = set(_OUTPUT_PATTERNS(directory, names))
    if Path(directory).parts[-2:] == ("src", "mdstream"):
        ignored |= {n for n in names if n == "v1" or n.endswith(".proto")}
    return ignored

SMOKE = textwrap.dedent("""
    import os, sys, sysconfig
    import mdstream, mdstream._core
    from pathlib import Path
    prefix = Path(sys.prefix).resolve()
    core = Path(mdstream._core.__file__).resolve()
    assert core.is_relative_to(prefix), f"core from {core}, outside the venv {prefix}"
    assert core.suffix in (".so", ".pyd"), core
    assert not Path(mdstream.__file__).resolve().is_relative_to(Path(sys.argv[1])), mdstream.__file__
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, seed=7, count=2000)
    engine = mdstream.Engine(feed=feed, workers=2)
    sub = engine.subscribe(symbols=["AAPL"])
    with engine:
        seqs = [int(s) for batch in sub for s in batch.seq]
    sub.close()
    assert seqs == sorted(seqs) and 0 < len(seqs) < 2000, len(seqs)
    assert engine.stats().results == 2000
    print("ok", core)
""")


def run(cmd, cwd, timeout=900):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} failed:\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_wheel_installs_and_imports_outside_the_tree(tmp_path):
    src = tmp_path / "src-copy"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=BUILD_OUTPUTS)
        elif path.exists():
            shutil.copy2(path, src / name)

    # Build with this environment's build tools (Cython, numpy, grpcio-tools are
    # test requirements), without fetching an isolated build environment.
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", dist, src], cwd=tmp_path)
    wheels = list(dist.glob("mdstream-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        names = zf.namelist()
    assert any(n.startswith("mdstream/_core.") and n.endswith(".so") for n in names), names
    assert {"mdstream/py.typed", "mdstream/_core.pyi", "mdstream/v1/mdstream_pb2.py",
            "mdstream/legacy_pb2.py", "mdstream/observe/web/dashboard.js"} <= set(names), names
    assert not [n for n in names if n.endswith(".c")], "generated C in the wheel"

    # A fresh environment: the wheel and its dependencies from the package index.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    run([py, "-m", "pip", "install", "--quiet", wheels[0]], cwd=tmp_path)

    # Run from a directory that has no source tree in it.
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = run([py, "-I", "-c", SMOKE, ROOT], cwd=work, timeout=120)
    assert proc.stdout.startswith("ok "), proc.stdout
    assert (venv / "bin" / "mdstream").exists()                  # the console script
