"""The container's health check: asks a gRPC server's standard health service
(grpc.health.v1.Health/Check) whether it is SERVING.

    python healthcheck.py                                  # 127.0.0.1:50051, the whole server ("")
    python healthcheck.py --target 127.0.0.1:6000 --service mdstream.v1.MDStream
    MDSTREAM_HEALTHCHECK_TARGET=127.0.0.1:6000 python healthcheck.py

Works for `mdstream serve` and `mdstream edge` alike (both serve the health
service; `serve` says NOT_SERVING while its journal cannot be written). Exit
status: 0 when the answer is SERVING; 1 otherwise (NOT_SERVING, an unknown
service: NOT_FOUND, no server: UNAVAILABLE, no answer within --timeout:
DEADLINE_EXCEEDED), with one line on stderr saying which. Plaintext only: the
image's HEALTHCHECK and Kubernetes' grpc probes do not speak TLS either.

The image copies this file to /usr/local/lib/mdstream/healthcheck.py and runs
it with the image's Python (which has grpcio-health-checking, a dependency of
mdstream). Spec: https://github.com/grpc/grpc/blob/master/doc/health-checking.md
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TARGET_ENV = "MDSTREAM_HEALTHCHECK_TARGET"
DEFAULT_TARGET = "127.0.0.1:50051"


def check(target: str, service: str = "", timeout: float = 3.0) -> tuple[bool, str]:
    """Ask target's health service about service ("" = the whole server).

    Returns (serving, what): serving is True only for SERVING; what is the
    status name (SERVING, NOT_SERVING, ...) or the gRPC status code's name when
    the call failed (UNAVAILABLE, NOT_FOUND, DEADLINE_EXCEEDED, ...).
    timeout is in seconds.
    """
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            return False, f"{exc.code().name}: {exc.details()}"
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="healthcheck",
        description="Exit 0 if the gRPC health service at --target says SERVING, 1 otherwise.")
    parser.add_argument("--target", default=os.environ.get(TARGET_ENV) or DEFAULT_TARGET,
                        help=f"HOST:PORT of the server (default: ${TARGET_ENV} or {DEFAULT_TARGET})")
    parser.add_argument("--service", default="",
                        help="service to ask about, e.g. mdstream.v1.MDStream "
                             "(default: '', the whole server)")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="seconds to wait for the answer (default: 3)")
    args = parser.parse_args(argv)
    serving, what = check(args.target, args.service, args.timeout)
    if not serving:
        print(f"healthcheck: {args.target} service {args.service!r}: {what}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
