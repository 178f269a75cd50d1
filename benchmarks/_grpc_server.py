"""An mdstream gRPC server for the benchmarks: Engine(SimulatedFeed) + Server.

    python -m benchmarks._grpc_server --rate 0 --workers 2 --symbols 8

prints ``gRPC server listening on HOST:PORT`` and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import sys

import mdstream
from mdstream.server import serve


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._grpc_server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=0.0, help="ticks/s; 0: as fast as possible")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--ring-size", type=int, default=1 << 16)
    args = p.parse_args(argv)
    feed = mdstream.SimulatedFeed(symbols=[f"SYM{i}" for i in range(args.symbols)],
                                  rate=args.rate, seed=7)
    engine = mdstream.Engine(feed=feed, workers=args.workers, ring_size=args.ring_size)
    serve(engine, "127.0.0.1", args.port,
          on_ready=lambda s: print(f"gRPC server listening on {s.address}", flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
