"""A minimal grpcio server streaming pre-encoded Result messages at a rate.

The cheapest a grpcio Python server can send one message per tick: the
Result of each of the 8 symbols is serialized once at start; per burst of
about 1 ms of ticks the server appends the burst's wall-clock time as
``ts_ns`` (a protobuf field appended to a message overrides it) and yields
the bytes as they are (no response serializer). Paced like SimulatedFeed: a
burst every ~1 ms holding the ticks due by then; rate 0 sends as fast as
grpcio takes them. The messages are the baseline's Result
(benchmarks/baselines/baseline.proto), read by the baseline's plain client.

    python -m benchmarks.baselines.preencoded_server --port 0 --rate 20000

prints ``preencoded gRPC server listening on HOST:PORT`` once it serves.
"""

from __future__ import annotations

import argparse
import signal
import time
from concurrent import futures

import grpc

from benchmarks.baselines import grpc_proto, stop_event

pb2, _ = grpc_proto.load()

_TS_TAG = b"\x28"           # field 5 (ts_ns), wire type 0 (varint)
#: Ticks in one burst at rate 0 (as fast as possible).
_BURST_AT_LIMIT = 256


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def templates(n_symbols: int) -> list[bytes]:
    """One serialized Result per symbol, every field set but ts_ns."""
    out = []
    for i in range(n_symbols):
        out.append(pb2.Result(
            symbol=f"SYM{i}", value=100.5 * 10, price=100.5 + i, seq=1, size=10.0, kind=0,
            symbol_id=i, bid=100.4, ask=100.6, bid_size=5.0, ask_size=7.0, volume=1e6,
            vwap=100.45, high=101.0, low=99.0, ema=100.3, volatility=0.01, mid=100.5,
            spread=0.2, trade_count=12345).SerializeToString())
    return out


class PreEncoded:
    def __init__(self, rate: float, n_symbols: int):
        self.rate = rate
        self.templates = templates(n_symbols)

    def StreamResults(self, request, context):
        tpl = self.templates
        k = len(tpl)
        rate = self.rate
        start = time.monotonic()
        sent = 0
        while context.is_active():
            if rate > 0:
                due = int((time.monotonic() - start) * rate)
                if due <= sent:
                    time.sleep(0.0005)
                    continue
                n = due - sent
            else:
                n = _BURST_AT_LIMIT
            suffix = _TS_TAG + _varint(time.time_ns())
            for i in range(sent, sent + n):
                yield tpl[i % k] + suffix
            sent += n


def _stream_aio(impl: PreEncoded):
    """The same stream for grpc.aio's server: an async generator function
    (what grpc.aio needs), paced with asyncio.sleep."""
    import asyncio

    async def stream(request, context):
        tpl = impl.templates
        k = len(tpl)
        start = time.monotonic()
        sent = 0
        while True:
            if impl.rate > 0:
                due = int((time.monotonic() - start) * impl.rate)
                if due <= sent:
                    await asyncio.sleep(0.0005)
                    continue
                n = due - sent
            else:
                n = _BURST_AT_LIMIT
            suffix = _TS_TAG + _varint(time.time_ns())
            for i in range(sent, sent + n):
                yield tpl[i % k] + suffix
            sent += n
    return stream


def serve_aio(port: int, rate: float, n_symbols: int, host: str = "127.0.0.1") -> None:
    """Serve with grpc.aio (one event loop, no thread hand-off per message) until SIGTERM."""
    import asyncio

    impl = PreEncoded(rate, n_symbols)

    async def main() -> None:
        handler = grpc.method_handlers_generic_handler("mdbaseline.MarketData", {
            "StreamResults": grpc.unary_stream_rpc_method_handler(
                _stream_aio(impl),
                request_deserializer=pb2.SubscribeRequest.FromString)})
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((handler,))
        bound = server.add_insecure_port(f"{host}:{port}")
        await server.start()
        print(f"preencoded gRPC server listening on {host}:{bound}", flush=True)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, done.set)
        loop.add_signal_handler(signal.SIGINT, done.set)
        await done.wait()
        await server.stop(0.5)

    asyncio.run(main())


def serve(port: int = 0, rate: float = 0.0, n_symbols: int = 8, host: str = "127.0.0.1"):
    """Start the server; returns (server, address)."""
    impl = PreEncoded(rate, n_symbols)
    handler = grpc.method_handlers_generic_handler("mdbaseline.MarketData", {
        "StreamResults": grpc.unary_stream_rpc_method_handler(
            impl.StreamResults, request_deserializer=pb2.SubscribeRequest.FromString)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[handler])
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, f"{host}:{bound}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.baselines.preencoded_server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=0.0, help="ticks/s; 0: as fast as possible")
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--aio", action="store_true", help="grpc.aio's server instead of the thread pool's")
    args = p.parse_args(argv)
    if args.aio:
        serve_aio(args.port, args.rate, args.symbols)
        return 0
    server, address = serve(args.port, args.rate, args.symbols)
    done = stop_event()                  # before the line the benchmark waits for
    print(f"preencoded gRPC server listening on {address}", flush=True)
    done.wait()
    server.stop(0.5).wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
