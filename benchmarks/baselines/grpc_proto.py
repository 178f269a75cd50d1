"""Compile baseline.proto with grpc_tools at run time, into a temporary directory."""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

_modules = None


def load():
    """Return (baseline_pb2, baseline_pb2_grpc), compiling them on first use."""
    global _modules
    if _modules is None:
        from grpc_tools import protoc

        out = tempfile.mkdtemp(prefix="mdbaseline-proto-")
        atexit.register(shutil.rmtree, out, ignore_errors=True)
        here = Path(__file__).parent
        status = protoc.main(["grpc_tools.protoc", f"-I{here}", f"--python_out={out}",
                              f"--grpc_python_out={out}", str(here / "baseline.proto")])
        if status != 0:
            raise RuntimeError("protoc could not compile benchmarks/baselines/baseline.proto")
        sys.path.insert(0, out)
        _modules = (importlib.import_module("baseline_pb2"),
                    importlib.import_module("baseline_pb2_grpc"))
    return _modules
