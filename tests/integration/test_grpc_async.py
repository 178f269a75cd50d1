"""The asyncio client: the same streams, errors and departures as Client."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest

from mdstream import SlowConsumerError, UnknownSymbolError
from mdstream.grpc.client import AsyncClient, RemoteError

pytestmark = pytest.mark.timeout(60)


def test_async_streams_match_the_engine(make_server, helpers):
    n = 5000
    engine = helpers.finite_engine(n)
    server = make_server(engine)

    async def main():
        async with AsyncClient(server.address) as client:
            assert await client.list_symbols() == helpers.SYMBOLS
            batches = client.stream_batches(max_ticks_per_frame=1000)
            results = client.stream_results(["MSFT"])
            while server.servicer.active_streams < 2:
                await asyncio.sleep(0.005)
            engine.start()

            async def drain(stream):
                return [item async for item in stream]

            got_batches, got_results = await asyncio.gather(drain(batches), drain(results))
            snap = await client.snapshot("AAPL")
            return batches, got_batches, got_results, snap

    stream, batches, results, snap = asyncio.run(main())
    rows = np.concatenate([b.rows for b in batches])
    assert rows["seq"].tolist() == list(range(n))
    assert stream.symbols == helpers.SYMBOLS and stream.last_seq == n - 1
    msft = rows[rows["symbol_id"] == engine.symbol_table.id("MSFT")]
    assert [r.seq for r in results] == msft["seq"].tolist()
    assert [r.vwap for r in results] == msft["vwap"].tolist()
    assert snap.results.symbol_names().tolist() == ["AAPL"]
    assert snap.as_of_seq == n - 1


def test_async_errors_are_mdstream_errors(make_server, helpers):
    engine = helpers.finite_engine(50_000, ring_size=1024)
    server = make_server(engine)

    async def main():
        async with AsyncClient(server.address) as client:
            with pytest.raises(UnknownSymbolError) as info:
                async for _ in client.stream_batches(["NOPE"]):
                    pass
            assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
            slow = client.stream_batches(policy="disconnect", max_ticks_per_frame=256)
            while server.servicer.active_streams < 1:
                await asyncio.sleep(0.005)
            engine.start()
            with pytest.raises(SlowConsumerError, match="too slow"):
                async for _ in slow:
                    await asyncio.sleep(0.3)
        async with AsyncClient("127.0.0.1:1") as nowhere:
            with pytest.raises(RemoteError, match="no mdstream server answered"):
                await nowhere.wait_ready(0.2)

    asyncio.run(main())


def test_async_cancel_frees_the_subscription(make_server, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)

    async def main():
        async with AsyncClient(server.address) as client:
            stream = client.stream_batches()
            waiter = asyncio.ensure_future(stream.__anext__())
            while server.servicer.active_streams < 1:
                await asyncio.sleep(0.005)
            stream.cancel()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(waiter, 5)

    asyncio.run(main())
    assert helpers.wait_until(lambda: not engine.stats().subscriptions)
    assert helpers.wait_until(lambda: server.servicer.active_streams == 0)
