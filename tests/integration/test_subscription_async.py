"""``async for`` over an in-process Subscription: every result in order, the
event loop keeps running while it waits, it ends at the end of the data, and
a cancelled wait loses nothing."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import mdstream
from mdstream.engine.async_subscription import AsyncSubscription
from mdstream.stream import AsyncBatchStream

pytestmark = pytest.mark.timeout(60)

SYMBOLS = ["AAPL", "MSFT"]


def _publish(engine: mdstream.Engine, symbol: str, n: int) -> None:
    engine.publish_trades(symbol, np.linspace(10.0, 11.0, n), np.ones(n))


def test_async_for_yields_every_result_and_ends_at_the_end_of_the_data():
    with mdstream.Engine(symbols=SYMBOLS, workers=2) as engine:
        sub = engine.subscribe()
        assert isinstance(sub.aiter(), AsyncBatchStream) and sub.aiter() is sub.aiter()

        async def main():
            beats = 0
            stop = asyncio.Event()

            async def heartbeat():         # runs only if the loop is never blocked
                nonlocal beats
                while not stop.is_set():
                    beats += 1
                    await asyncio.sleep(0.01)

            async def publisher():
                await asyncio.sleep(0.3)     # the reader waits, with nothing there
                _publish(engine, "AAPL", 1000)
                await asyncio.sleep(0.3)
                _publish(engine, "MSFT", 500)
                engine.close_ingest()

            beating = asyncio.ensure_future(heartbeat())
            publishing = asyncio.ensure_future(publisher())
            seqs = []
            async for batch in sub:
                seqs.extend(batch.seq.tolist())
            stop.set()
            await asyncio.gather(beating, publishing)
            return seqs, beats

        seqs, beats = asyncio.run(main())
    assert seqs == list(range(1500))
    assert beats >= 20            # the loop ran on while the reader waited (0.6 s)
    assert sub.stats()["received"] == 1500 and sub.last_seq == 1499


def test_a_cancelled_wait_loses_no_batch():
    with mdstream.Engine(symbols=SYMBOLS, workers=2) as engine:
        sub = engine.subscribe(["AAPL"])

        async def main():
            stream = sub.aiter()
            waiting = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.15)         # waiting in the executor on a quiet market
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(stream.__anext__(), 0.05)
            _publish(engine, "AAPL", 10)       # arrives while a cancelled read may be pending
            got = []
            while len(got) < 10:
                batch = await asyncio.wait_for(stream.__anext__(), 10)
                got.extend(batch.seq.tolist())
            text = repr(stream)
            stream.close()
            rest = [b async for b in stream]
            return got, rest, text

        got, rest, text = asyncio.run(main())
    assert got == list(range(10))
    assert rest == []                              # closed: iteration ends
    assert text.startswith("<AsyncSubscription of <Subscription #")


def test_errors_of_the_subscription_reach_async_for():
    with mdstream.Engine(symbols=SYMBOLS, workers=1, ring_size=64) as engine:
        sub = engine.subscribe(policy="disconnect")

        async def main():
            _publish(engine, "AAPL", 1000)      # a whole ring and more before it reads
            async for _ in sub:
                await asyncio.sleep(0.01)

        with pytest.raises(mdstream.SlowConsumerError):
            asyncio.run(main())


def test_poll_must_be_positive():
    with mdstream.Engine(symbols=SYMBOLS) as engine:
        with pytest.raises(ValueError, match="poll"):
            AsyncSubscription(engine.subscribe(), poll=0)
