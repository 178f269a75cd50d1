"""One stream abstraction: an in-process Subscription, a gRPC batch stream, a
resuming one, and their asyncio forms follow the same protocol
(mdstream.stream) and give the same results for the same sequence numbers."""

from __future__ import annotations

import asyncio

import numpy as np

from mdstream.grpc.aio import AsyncClient
from mdstream.stream import AsyncBatchStream, BatchStream

COUNT = 20_000


def _drain(stream) -> tuple[np.ndarray, dict]:
    rows = np.concatenate([b.rows for b in stream])
    return rows, stream.stats()


def test_every_stream_follows_the_protocol_and_agrees(make_server, make_client, helpers):
    engine = helpers.finite_engine(COUNT)
    sub = engine.subscribe(snapshot=True)
    server = make_server(engine)
    client = make_client(server)
    plain = client.stream_batches(from_seq=0, max_wait=0.0)
    resuming = client.stream_batches(from_seq=0, resume=True, max_wait=0.0)
    for stream in (sub, plain, resuming):
        assert isinstance(stream, BatchStream), type(stream)
    engine.start()

    assert sub.read_snapshot() is sub.snapshot and sub.snapshot.as_of_seq == -1
    local, local_stats = _drain(sub)
    remote, remote_stats = _drain(plain)
    again, again_stats = _drain(resuming)
    for rows in (local, remote, again):
        np.testing.assert_array_equal(rows["seq"], np.arange(COUNT))
    for name in ("price", "vwap", "volume", "ema", "volatility"):
        np.testing.assert_array_equal(local[name], remote[name])
        np.testing.assert_array_equal(local[name], again[name])
    for stream, stats in ((sub, local_stats), (plain, remote_stats), (resuming, again_stats)):
        assert stream.last_seq == COUNT - 1, type(stream)
        assert stats["received"] == COUNT and stats["missed"] == 0, (type(stream), stats)
    for stream in (sub, plain, resuming):
        stream.close()
        stream.close()          # twice is fine


def test_asyncio_streams_follow_the_async_protocol(make_server, helpers):
    engine = helpers.finite_engine(COUNT)
    server = make_server(engine, start_engine=True)

    async def main():
        async with AsyncClient(server.address) as client:
            out = {}
            for name, stream in (("plain", client.stream_batches(from_seq=0, max_wait=0.0)),
                                 ("resuming", client.stream_batches(from_seq=0, resume=True,
                                                                    max_wait=0.0))):
                assert isinstance(stream, AsyncBatchStream), type(stream)
                assert await stream.read_snapshot() is None
                rows = np.concatenate([b.rows async for b in stream])
                out[name] = (rows, stream.last_seq, stream.stats())
                stream.close()
            return out

    for name, (rows, last_seq, stats) in asyncio.run(main()).items():
        np.testing.assert_array_equal(rows["seq"], np.arange(COUNT))
        assert last_seq == COUNT - 1, name
        assert stats["received"] == COUNT, (name, stats)
