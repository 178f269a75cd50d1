"""Clients that know nothing of mdstream: stubs generated from the .proto by
grpcio-tools alone, and a client of the original Go project's contract."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

# The original project's contract (proto/mdstream.proto of the Go "MD Stream
# Engine"): package mdstream, an empty request, Result(symbol, value).
ORIGINAL_PROTO = """
syntax = "proto3";
package mdstream;
message Result {
  string symbol = 1;
  double value = 2;
}
message SubscribeRequest {}
service MDStream {
  rpc StreamResults(SubscribeRequest) returns (stream Result);
}
"""


def protoc(proto_root: Path, proto: Path, out: Path) -> None:
    """Generate Python stubs the way any user would: python -m grpc_tools.protoc."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_root}",
                    f"--python_out={out}", f"--grpc_python_out={out}", str(proto)],
                   check=True, timeout=60)


GENERATED_CLIENT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, os.getcwd())
    import grpc
    from mdstream.v1 import mdstream_pb2, mdstream_pb2_grpc
    import mdstream
    # Only generated code: the mdstream package here is the stubs' folder.
    assert mdstream.__file__ is None or mdstream.__file__.startswith(os.getcwd()), mdstream.__file__
    assert not any(m.startswith("mdstream._") for m in sys.modules), sorted(sys.modules)

    with grpc.insecure_channel(sys.argv[1]) as channel:
        stub = mdstream_pb2_grpc.MDStreamStub(channel)
        symbols = stub.ListSymbols(mdstream_pb2.ListSymbolsRequest(), timeout=10)
        print("symbols", ",".join(s.name for s in symbols.symbols), flush=True)
        req = mdstream_pb2.SubscribeRequest(symbols=["AAPL"], policy=mdstream_pb2.POLICY_BLOCK)
        for i, r in enumerate(stub.StreamResults(req, timeout=20)):
            print(f"[PY] {r.symbol} -> {r.value:.2f} seq={r.seq} vwap={r.vwap:.4f}", flush=True)
            if i == 2:
                break
        batch = next(stub.StreamBatches(mdstream_pb2.SubscribeRequest(
            symbols=["AAPL"], heartbeat_interval_ms=20), timeout=20))
        print("heartbeat", batch.heartbeat.last_seq, flush=True)
""")


def test_client_generated_by_grpcio_tools_alone(make_server, helpers, tmp_path):
    protoc(helpers.PROTO_ROOT, helpers.PROTO_ROOT / "mdstream/v1/mdstream.proto", tmp_path)
    # Make the generated folder a package so it shadows any installed mdstream.
    (tmp_path / "mdstream" / "__init__.py").write_text("")
    (tmp_path / "mdstream" / "v1" / "__init__.py").write_text("")
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    with helpers.popen([sys.executable, "-I", "-c", GENERATED_CLIENT, server.address],
                       cwd=tmp_path) as proc:
        helpers.read_line_matching(proc.stdout, "symbols AAPL,MSFT,GOOG,AMZN,TSLA")
        helpers.wait_for_streams(server, 1)
        engine.publish_trades(["MSFT", "AAPL", "AAPL", "AAPL"], [1.0, 150.0, 151.0, 152.0], 10)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = out.strip().splitlines()
    assert lines[:3] == ["[PY] AAPL -> 1500.00 seq=1 vwap=150.0000",
                         "[PY] AAPL -> 1510.00 seq=2 vwap=150.5000",
                         "[PY] AAPL -> 1520.00 seq=3 vwap=151.0000"]
    assert lines[3] == "heartbeat 3"


ORIGINAL_CLIENT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, os.getcwd())
    import grpc
    import original_pb2, original_pb2_grpc
    channel = grpc.insecure_channel(sys.argv[1])
    stub = original_pb2_grpc.MDStreamStub(channel)
    for i, res in enumerate(stub.StreamResults(original_pb2.SubscribeRequest())):
        print(f"[PY] {res.symbol} -> {res.value}", flush=True)
        if i == 1:
            break
""")


def test_client_of_the_original_project_keeps_working(make_server, helpers, tmp_path):
    (tmp_path / "original.proto").write_text(ORIGINAL_PROTO)
    protoc(tmp_path, tmp_path / "original.proto", tmp_path)
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    with helpers.popen([sys.executable, "-I", "-c", ORIGINAL_CLIENT, server.address],
                       cwd=tmp_path) as proc:
        helpers.wait_for_streams(server, 1, timeout=15)
        engine.publish_trades("AAPL", [150.0, 150.5], 10)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["[PY] AAPL -> 1500.0", "[PY] AAPL -> 1505.0"]
