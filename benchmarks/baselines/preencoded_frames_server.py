"""A minimal grpcio server streaming pre-encoded StreamBatches frames.

The cheapest a grpcio Python server can stream columnar frames to many
subscribers: no feed, no engine, no per-stream encoding. At start it runs
a SimulatedFeed for a moment to take ``--ticks-per-frame`` real results per
symbol and encodes them once with mdstream's codec (so the bytes are exactly
what ``mdstream serve`` sends, read by the same ``mdstream`` client); every
StreamBatches call then yields that frame's bytes again and again (no
response serializer) as fast as grpcio takes them: the first frame of a
stream carries the symbol names, as mdstream's does. A request for one
symbol gets frames of that symbol's results only, for all symbols frames
mixing them all; a request's max_ticks_per_frame (up to --ticks-per-frame)
sets the ticks per frame. Like ``mdstream serve``, the server is grpcio's thread
pool with one thread per open stream (``--max-streams``).

mdstream is used only before serving, to make the frames; what is measured
is plain grpcio.

    python -m benchmarks.baselines.preencoded_frames_server --port 0 --symbols 64 \
        --ticks-per-frame 4096 --max-streams 300

prints ``preencoded frames gRPC server listening on HOST:PORT`` once it serves.
"""

from __future__ import annotations

import argparse
import time
from concurrent import futures

import grpc
import numpy as np

from benchmarks.baselines import stop_event


def real_rows(n_symbols: int, per_symbol: int) -> tuple[list[str], np.ndarray]:
    """Symbol names and at least ``per_symbol`` results of each symbol from a SimulatedFeed."""
    import mdstream

    names = [f"SYM{i}" for i in range(n_symbols)]
    engine = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=names, rate=0, seed=7),
                             workers=1, ring_size=1 << 16)
    sub = engine.subscribe(policy="block", max_ticks_per_frame=16384)
    engine.start()
    parts, counts = [], np.zeros(n_symbols, dtype=np.int64)
    try:
        deadline = time.monotonic() + 60
        while counts.min() < per_symbol and time.monotonic() < deadline:
            b = sub.next_batch(timeout=10)
            if b is None:
                continue
            rows = b.rows
            parts.append(rows.copy())
            counts += np.bincount(rows["symbol_id"], minlength=n_symbols)[:n_symbols]
    finally:
        sub.close()
        engine.stop()
    return names, np.concatenate(parts)


class Frames:
    """The pre-encoded frames: all symbols, and one per symbol."""

    def __init__(self, n_symbols: int, ticks_per_frame: int):
        from mdstream import _codec

        self.names, rows = real_rows(n_symbols, ticks_per_frame)
        self.ids = {name: i for i, name in enumerate(self.names)}
        self._codec = _codec
        self.mixed = rows[:ticks_per_frame]
        self.per_symbol = [rows[rows["symbol_id"] == i][:ticks_per_frame]
                           for i in range(n_symbols)]

    def for_request(self, symbols, ticks: int = 0) -> tuple[bytes, bytes]:
        """The first frame of a stream (with the symbol names) and the one it
        repeats, of ``ticks`` results (0: --ticks-per-frame)."""
        rows = self.mixed
        if len(symbols) == 1 and symbols[0] in self.ids:
            rows = self.per_symbol[self.ids[symbols[0]]]
        if ticks > 0:
            rows = rows[:ticks]
        encoder = self._codec.BatchEncoder(self.names)
        return encoder.encode(rows), encoder.encode(rows)


def serve(port: int, n_symbols: int, ticks_per_frame: int, max_streams: int,
          host: str = "127.0.0.1"):
    from mdstream.grpc.contract import SERVICE_NAME
    from mdstream.v1 import mdstream_pb2 as pb

    frames = Frames(n_symbols, ticks_per_frame)

    def stream_batches(request, context):
        first, rest = frames.for_request(list(request.symbols), request.max_ticks_per_frame)
        yield first
        while context.is_active():
            yield rest

    handler = grpc.method_handlers_generic_handler(SERVICE_NAME, {
        "StreamBatches": grpc.unary_stream_rpc_method_handler(
            stream_batches, request_deserializer=pb.SubscribeRequest.FromString)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_streams + 4),
                         handlers=[handler], maximum_concurrent_rpcs=max_streams + 4)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, f"{host}:{bound}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.baselines.preencoded_frames_server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--symbols", type=int, default=64)
    p.add_argument("--ticks-per-frame", type=int, default=4096)
    p.add_argument("--max-streams", type=int, default=300)
    args = p.parse_args(argv)
    server, address = serve(args.port, args.symbols, args.ticks_per_frame, args.max_streams)
    done = stop_event()                  # before the line the benchmark waits for
    print(f"preencoded frames gRPC server listening on {address}", flush=True)
    done.wait()
    server.stop(0.5).wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
