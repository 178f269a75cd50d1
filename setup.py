"""Build of the compiled core (Cython) and of the generated protobuf modules.

Generated C and generated protobuf code are build outputs: they are never
committed. MDSTREAM_DEBUG=1 builds with line tracing and writes the Cython
annotation HTML next to the sources.
"""

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
DEBUG = os.environ.get("MDSTREAM_DEBUG") == "1"


class BuildPyWithProtos(build_py):
    """Generate the *_pb2 modules from proto/ before packaging the Python code."""

    def run(self):
        generate_protos(self)
        super().run()


def generate_protos(build_cmd=None):
    """Generate the protobuf and gRPC modules of every .proto under proto/.

    proto/mdstream/v1/mdstream.proto becomes src/mdstream/v1/mdstream_pb2.py,
    mdstream_pb2.pyi and mdstream_pb2_grpc.py (and an __init__.py), so the
    generated package mirrors proto/. Returns the dotted names of the
    generated packages. In a fresh clone those packages do not exist yet when
    setuptools discovers packages, so a build_py command passed as build_cmd
    gets them added to its package list (else the wheel would lack them).
    """
    proto_root = ROOT / "proto"
    protos = sorted(proto_root.rglob("*.proto"))
    if not protos:
        return []
    from grpc_tools import protoc
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    out = ROOT / "src"
    for proto in protos:
        args = [
            "grpc_tools.protoc",
            f"-I{proto_root}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            str(proto),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {proto}")
        # Ship the contract itself next to its generated code.
        target = out / proto.relative_to(proto_root)
        target.write_bytes(proto.read_bytes())
    packages = []
    for proto in protos:
        parts = proto.parent.relative_to(proto_root).parts
        # Every level must be a regular package (src/mdstream/ already is).
        for depth in range(1, len(parts) + 1):
            init = out.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.touch()
        packages.append(".".join(parts))
    packages = sorted(set(packages))
    if build_cmd is not None and build_cmd.packages is not None:
        for name in packages:
            if name not in build_cmd.packages:
                build_cmd.packages.append(name)
    return packages


def extensions():
    from Cython.Build import cythonize

    # -fno-math-errno: sqrt/log never set errno here, so sqrt becomes one instruction.
    compile_args = ["-O0", "-g"] if DEBUG else ["-O2", "-fno-math-errno"]
    macros = [("CYTHON_TRACE_NOGIL", "1")] if DEBUG else []
    libraries = [] if sys.platform == "darwin" else ["pthread"]
    modules = [
        Extension(
            "mdstream._core",
            ["src/mdstream/_core.pyx"],
            extra_compile_args=compile_args,
            define_macros=macros,
            libraries=libraries + ["m"],
        ),
        # Test and benchmark entry points (compute_analytics, channel_pump, ...):
        # shipped, but not part of the production module. Uses _core's cdef
        # functions through `cimport mdstream._core` (declared in _core.pxd).
        Extension(
            "mdstream._testing",
            ["src/mdstream/_testing.pyx"],
            extra_compile_args=compile_args,
            define_macros=macros,
            libraries=libraries + ["m"],
        ),
    ]
    if (ROOT / "src/mdstream/_codec.pyx").exists():
        modules.append(
            Extension(
                "mdstream._codec",
                ["src/mdstream/_codec.pyx"],
                extra_compile_args=compile_args,
                define_macros=macros,
                libraries=["m"],
            )
        )
    directives = {"linetrace": True, "profile": True} if DEBUG else {}
    return cythonize(
        modules,
        include_path=["src"],
        compiler_directives=directives,
        annotate=DEBUG,
    )


setup(ext_modules=extensions(), cmdclass={"build_py": BuildPyWithProtos})
