"""The transport's floor for the orders benchmark: a plain grpcio bidirectional
stream that answers each order request at once, without any venue.

Requests are the packed bytes of benchmarks/_orders_client.py (cl_ord_id,
symbol, side, ord_type, tif, is_cancel, price, quantity); for each, the
server yields its acknowledgement (cl_ord_id, tag 0), and for a market order
a second message, its "fill" (tag 2); a cancel gets tag 4. No serializers:
bytes in, bytes out. What an order session over grpcio costs before any
matching, sequencing or report encoding.

    python -m benchmarks.baselines.echo_order_server --port 0

prints ``echo order gRPC server listening on HOST:PORT`` once it serves.
"""

from __future__ import annotations

import argparse
import struct
from concurrent import futures

import grpc

from benchmarks.baselines import stop_event

REQUEST = struct.Struct("<qiBBBBdd")
REPLY = struct.Struct("<qB")
MARKET = 1


def trade(requests, context):
    for msg in requests:
        cid, _symbol, _side, ord_type, _tif, is_cancel, _px, _qty = REQUEST.unpack(msg)
        if is_cancel:
            yield REPLY.pack(cid, 4)
            continue
        yield REPLY.pack(cid, 0)
        if ord_type == MARKET:
            yield REPLY.pack(cid, 2)


def serve(port: int = 0, host: str = "127.0.0.1"):
    handler = grpc.method_handlers_generic_handler("bench.Echo", {
        "Trade": grpc.stream_stream_rpc_method_handler(trade)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[handler])
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, f"{host}:{bound}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.baselines.echo_order_server")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    server, address = serve(args.port)
    done = stop_event()                  # before the line the benchmark waits for
    print(f"echo order gRPC server listening on {address}", flush=True)
    done.wait()
    server.stop(0.5).wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
