"""A typed mdstream program: an engine, a gRPC server on a free port, a Client
and an asyncio AsyncClient, with every value's type known to a type checker.

    python examples/typed_client.py         # runs it (a few seconds)
    mypy examples/typed_client.py           # checks it (tests/typing/ does)
"""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

import mdstream
from mdstream.request import Policy, StreamRequest
from mdstream.stream import AsyncBatchStream, BatchStream

SYMBOLS = ["AAPL", "MSFT", "GOOG"]
COUNT = 20_000


def vwap_of(batch: mdstream.ResultBatch) -> float:
    """The volume-weighted price of a batch's trades (NaN without trades)."""
    trades = batch.select(mdstream.TRADE)
    price: npt.NDArray[np.float64] = trades.price
    size: npt.NDArray[np.float64] = trades.size
    volume = float(size.sum())
    return float((price * size).sum() / volume) if volume > 0 else float("nan")


def read_all(stream: BatchStream) -> tuple[int, int]:
    """Results and the newest sequence number of a finite stream."""
    received = 0
    last: int = -1
    for batch in stream:
        seq: npt.NDArray[np.int64] = batch.seq
        symbol_id: npt.NDArray[np.int32] = batch.symbol_id
        assert len(seq) == len(symbol_id)
        if len(seq):
            last = int(seq[-1])
        received += len(batch)
    return received, last


async def read_async(target: str, policy: Policy) -> int:
    async with mdstream.AsyncClient(target, timeout=5.0) as client:
        await client.wait_ready(5.0)
        health: str = await client.health()
        assert health == "SERVING", health
        stream: AsyncBatchStream = client.stream_batches(["AAPL"], policy, from_seq=0)
        rows = 0
        async for batch in stream:
            rows += len(batch)
        return rows


async def read_in_process(engine: mdstream.Engine) -> int:
    """The same engine's results in this process, with ``async for``."""
    sub: mdstream.Subscription = engine.subscribe(["MSFT"], "skip", from_seq=0)
    stream: AsyncBatchStream = sub.aiter()
    rows = 0
    async for batch in stream:
        rows += len(batch)
    sub.close()
    return rows


def main() -> None:
    request = StreamRequest(("AAPL", "MSFT"), "block", max_ticks_per_frame=1024)
    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, seed=7, count=COUNT)
    engine = mdstream.Engine(feed=feed, workers=2)
    server = mdstream.Server(engine, "127.0.0.1", 0).start()
    try:
        engine.start()
        engine.wait(30)
        with mdstream.Client(server.address, timeout=5.0) as client:
            client.wait_ready(5.0)
            names: list[str] = client.list_symbols()
            snap: mdstream.Snapshot = client.snapshot(names)
            print(f"{client!r}: {names}, snapshot as of seq {snap.as_of_seq}")
            stream = client.stream_batches(request.symbols, request.policy, from_seq=0,
                                           max_ticks_per_frame=request.max_ticks_per_frame)
            received, last = read_all(stream)
            print(f"sync: {received} results of {request.symbols}, last seq {last}")
            stats = client.get_stats()
            print(f"server: {stats.engine.ticks_in} ticks in")
        rows = asyncio.run(read_async(server.address, "skip"))
        print(f"asyncio: {rows} AAPL results")
        local = asyncio.run(read_in_process(engine))
        print(f"in process, async for: {local} MSFT results")
        with engine.subscribe(["GOOG"], from_seq=0) as sub:      # a BatchStream too
            goog, _ = read_all(sub)
        print(f"in process, for: {goog} GOOG results")
        first = mdstream.ResultBatch(engine.snapshot().results.rows, engine.symbols)
        print(f"{first!r}; vwap {vwap_of(first):.4f}")
    finally:
        server.stop(grace=1.0)
        engine.stop()


if __name__ == "__main__":
    main()
