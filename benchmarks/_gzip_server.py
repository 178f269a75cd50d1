"""One engine served on two ports: plain frames and grpcio's gzip compression.

    python -m benchmarks._gzip_server --rate 0

SimulatedFeed (8 symbols SYM0..SYM7, the rate given, 0 = as fast as
possible), 2 workers, a ring of 65536 results, and two mdstream Servers on
that engine: one as ``mdstream serve`` runs it, one whose responses grpcio
compresses with gzip (``grpc.default_compression_algorithm``, what
``grpc.server(compression=grpc.Compression.Gzip)`` sets; grpcio's clients
accept gzip by default, so every stream from that port is compressed).
Both share the process, so a benchmark can alternate between them against
the same engine. Prints ``mdstream listening on PLAIN,GZIP`` (two host:port,
comma-separated) once both serve; stops on SIGTERM.
"""

from __future__ import annotations

import argparse

import grpc

from mdstream import Engine, SimulatedFeed
from mdstream.grpc.server import Server

from benchmarks.baselines import stop_event

#: grpc core's channel argument of the default compression algorithm (GRPC_COMPRESS_GZIP = 2).
GZIP_OPTION = ("grpc.default_compression_algorithm", int(grpc.Compression.Gzip))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._gzip_server")
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    feed = SimulatedFeed(symbols=[f"SYM{i}" for i in range(args.symbols)], rate=args.rate, seed=7)
    engine = Engine(feed=feed, workers=args.workers, ring_size=1 << 16)
    done = stop_event()
    with engine:
        plain = Server(engine, port=0).start()
        gzip = Server(engine, port=0, options=[GZIP_OPTION]).start()
        print(f"mdstream listening on 127.0.0.1:{plain.port},127.0.0.1:{gzip.port}", flush=True)
        done.wait()
        gzip.stop(0.5)
        plain.stop(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
