"""The baseline's plain grpcio client: one Result message at a time."""

from __future__ import annotations

import time

import grpc

from benchmarks.baselines import grpc_proto


def stream_results(target: str, symbols=()):
    """Iterate over the server's Result messages (cancel by closing the iterator)."""
    pb2, pb2_grpc = grpc_proto.load()
    with grpc.insecure_channel(target) as channel:
        call = pb2_grpc.MarketDataStub(channel).StreamResults(pb2.SubscribeRequest(symbols=symbols))
        try:
            yield from call
        finally:
            call.cancel()


def count_results(target: str, duration: float) -> tuple[int, float]:
    """Results received in about `duration` s, and the seconds it took."""
    n = 0
    t0 = time.perf_counter()
    end = t0 + duration
    stream = stream_results(target)
    for _ in stream:
        n += 1
        if n % 256 == 0 and time.perf_counter() >= end:
            break
    stream.close()
    return n, time.perf_counter() - t0
