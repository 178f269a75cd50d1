"""An mdstream gRPC server for the latency benchmarks, with its frame linger chosen.

    python -m benchmarks._linger_server --rate 20000 --frame-linger fixed

SimulatedFeed (8 symbols SYM0..SYM7, the rate given, 0 = as fast as
possible), 2 workers, a ring of 65536 results, and a Server whose
StreamBatches frames wait as ``--frame-linger`` says ("adaptive", the
default of Server, or "fixed", the behaviour before it). Prints
``mdstream listening on HOST:PORT`` once it serves; stops on SIGTERM.
"""

from __future__ import annotations

import argparse

from mdstream import Engine, SimulatedFeed
from mdstream.grpc.server import Server

from benchmarks.baselines import stop_event


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._linger_server")
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--frame-linger", choices=["adaptive", "fixed"], default="adaptive")
    args = p.parse_args(argv)
    feed = SimulatedFeed(symbols=[f"SYM{i}" for i in range(args.symbols)], rate=args.rate, seed=7)
    engine = Engine(feed=feed, workers=args.workers, ring_size=1 << 16)
    done = stop_event()
    with engine:
        server = Server(engine, port=0, frame_linger=args.frame_linger).start()
        print(f"mdstream listening on 127.0.0.1:{server.port}", flush=True)
        done.wait()
        server.stop(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
