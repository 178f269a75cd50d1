"""A plain grpcio server: one protobuf Result per tick, from a queue.Queue.

The ticks come from the queue.Queue pipeline (benchmarks/baselines/queue_pipeline.py):
each StreamResults call subscribes a queue to the pipeline's workers and
turns every result it takes from it into a Result message.

    python -m benchmarks.baselines.grpc_server --port 0 --rate 0

prints ``baseline gRPC server listening on HOST:PORT`` once it serves.
"""

from __future__ import annotations

import argparse
import sys
from concurrent import futures

import grpc

from benchmarks.baselines import grpc_proto, stop_event
from benchmarks.baselines.queue_pipeline import END, QueuePipeline

pb2, pb2_grpc = grpc_proto.load()


class MarketData(pb2_grpc.MarketDataServicer):
    def __init__(self, pipeline: QueuePipeline):
        self.pipeline = pipeline
        self.ids = {name: i for i, name in enumerate(pipeline.symbols)}

    def StreamResults(self, request, context):
        wanted = None
        if request.symbols:
            unknown = [s for s in request.symbols if s not in self.ids]
            if unknown:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown symbols: {unknown}")
            wanted = {self.ids[s] for s in request.symbols}
        names = self.pipeline.symbols
        results = self.pipeline.subscribe()
        try:
            while context.is_active():
                r = results.get()
                if r is END:
                    return
                if wanted is not None and r.symbol_id not in wanted:
                    continue
                yield pb2.Result(
                    symbol=names[r.symbol_id], value=r.value, price=r.price, seq=r.seq,
                    ts_ns=r.ts_ns, size=r.size, kind=r.kind, symbol_id=r.symbol_id,
                    bid=r.bid, ask=r.ask, bid_size=r.bid_size, ask_size=r.ask_size,
                    volume=r.volume, vwap=r.vwap, high=r.high, low=r.low, ema=r.ema,
                    volatility=r.volatility, mid=r.mid, spread=r.spread,
                    trade_count=r.trade_count)
        finally:
            self.pipeline.unsubscribe(results)


def serve(port: int = 0, rate: float = 0.0, n_symbols: int = 8, workers: int = 2,
          host: str = "127.0.0.1", max_streams: int = 16):
    """Start the pipeline and the server; returns (server, pipeline, address)."""
    pipeline = QueuePipeline(n_symbols=n_symbols, workers=workers, rate=rate)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_streams))
    pb2_grpc.add_MarketDataServicer_to_server(MarketData(pipeline), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    pipeline.start()
    server.start()
    return server, pipeline, f"{host}:{bound}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.baselines.grpc_server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=0.0, help="ticks/s; 0: as fast as possible")
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    server, pipeline, address = serve(args.port, args.rate, args.symbols, args.workers)
    done = stop_event()                  # before the line the benchmark waits for
    print(f"baseline gRPC server listening on {address}", flush=True)
    done.wait()
    server.stop(0.5).wait()
    pipeline.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
