"""AsyncClient has everything Client has: the same methods with the same
parameters, and the same answers from the same real server (snapshots,
symbols, stats, health, from_seq, resume, per-result streams, tokens)."""

from __future__ import annotations

import asyncio
import inspect
import json

import numpy as np
import pytest

from mdstream.grpc.aio import AsyncClient
from mdstream.grpc.auth import load_tokens
from mdstream.grpc.client import Client
from mdstream.grpc.contract import UnauthenticatedError

pytestmark = pytest.mark.timeout(60)

COUNT = 5000
TOKEN = "parity-token-0123456789abcdef"


def _public(cls) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


def test_async_client_has_every_method_of_client_with_the_same_parameters():
    sync, aio = _public(Client), _public(AsyncClient)
    assert set(sync) <= set(aio), f"AsyncClient lacks {sorted(set(sync) - set(aio))}"
    for name, signature in sync.items():
        assert list(signature.parameters) == list(aio[name].parameters), name
        for p in signature.parameters.values():
            q = aio[name].parameters[p.name]
            assert (p.kind, p.default) == (q.kind, q.default), (name, p.name)
        # A method that blocks in Client is awaited in AsyncClient; opening a
        # stream (an order session too) and choosing the next target (no I/O) are not.
        plain = name.startswith("stream_") or name in ("fail_over", "trade")
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)) != plain, name
    assert list(inspect.signature(Client).parameters) == \
        list(inspect.signature(AsyncClient).parameters)


def test_async_answers_equal_the_sync_ones(make_server, make_client, helpers):
    engine = helpers.finite_engine(COUNT)
    server = make_server(engine, start_engine=True)
    assert engine.wait(30)
    client = make_client(server)
    sync = {"symbols": client.list_symbols(), "snapshot": client.snapshot(["AAPL", "MSFT"]),
            "stats": client.get_stats(), "health": client.health(),
            "service": client.health("mdstream.v1.MDStream")}
    sync_rows = np.concatenate([b.rows for b in client.stream_batches(from_seq=100,
                                                                      max_wait=0.0)])

    async def main():
        async with AsyncClient(server.address, timeout=5.0) as aclient:
            await aclient.wait_ready(5.0)
            got = {"symbols": await aclient.list_symbols(),
                   "snapshot": await aclient.snapshot(["AAPL", "MSFT"]),
                   "stats": await aclient.get_stats(), "health": await aclient.health(),
                   "service": await aclient.health("mdstream.v1.MDStream")}
            rows = np.concatenate([b.rows async for b in aclient.stream_batches(
                from_seq=100, max_wait=0.0)])
            resumed = aclient.stream_batches(from_seq=100, max_wait=0.0, resume=True)
            resumed_rows = np.concatenate([b.rows async for b in resumed])
            results = aclient.stream_results(["MSFT"], from_seq=0)
            msft = [r.seq async for r in results]
            return got, rows, resumed_rows, msft, results, repr(aclient)

    got, rows, resumed_rows, msft, results, text = asyncio.run(main())
    assert got["symbols"] == sync["symbols"] == helpers.SYMBOLS
    assert got["snapshot"].as_of_seq == sync["snapshot"].as_of_seq == COUNT - 1
    for column in ("seq", "symbol_id", "price", "vwap", "volume"):      # ("open" is NaN)
        np.testing.assert_array_equal(got["snapshot"].results.rows[column],
                                      sync["snapshot"].results.rows[column])
    assert got["stats"].engine.ticks_in == sync["stats"].engine.ticks_in == COUNT
    assert got["health"] == sync["health"] == "SERVING"
    assert got["service"] == sync["service"] == "SERVING"
    for r in (rows, resumed_rows):
        np.testing.assert_array_equal(r["seq"], np.arange(100, COUNT))
        np.testing.assert_array_equal(r["vwap"], sync_rows["vwap"])
    ids = sync_rows["symbol_id"] == engine.symbol_table.id("MSFT")
    assert msft[-1] == results.last_seq and set(msft) >= set(sync_rows["seq"][ids].tolist())
    assert results.stats()["received"] == len(msft)
    assert f"<mdstream.AsyncClient {server.address} plaintext connected streams_opened=3>" == text


def test_async_client_sends_its_token_on_every_call(make_server, helpers, tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": {TOKEN: {"name": "ops"}}}))
    server = make_server(helpers.publish_engine(), start_engine=True,
                         tokens=load_tokens(str(path), {}))

    async def main():
        async with AsyncClient(server.address, token=TOKEN) as good, \
                AsyncClient(server.address) as anonymous:
            answers = (await good.list_symbols(), (await good.get_stats()).engine.ticks_in,
                       await good.health(), await anonymous.health())
            with pytest.raises(UnauthenticatedError):
                await anonymous.get_stats()
            return answers, repr(good)

    (symbols, ticks, health, anonymous_health), text = asyncio.run(main())
    assert symbols == helpers.SYMBOLS and ticks == 0
    assert health == anonymous_health == "SERVING"     # health needs no token
    assert "plaintext token" in text and TOKEN not in text


def test_async_result_stream_takes_heartbeats_in(make_server, helpers):
    engine = helpers.publish_engine()
    server = make_server(engine, start_engine=True)
    engine.publish_trades("AAPL", 10.0, 1.0)

    async def main():
        async with AsyncClient(server.address) as client:
            stream = client.stream_results(["AAPL"], from_seq=0)
            first = await stream.__anext__()
            beat = client.stream_results(["AAPL"], from_seq=0)
            beat.heartbeats = True
            seen = [await beat.__anext__()]
            while not seen[-1].heartbeat:
                seen.append(await asyncio.wait_for(beat.__anext__(), 10))
            stream.cancel()
            beat.cancel()
            return first, seen, beat

    first, seen, beat = asyncio.run(main())
    assert first.seq == 0 and first.symbol == "AAPL"
    assert seen[-1].heartbeat and beat.heartbeat is not None and beat.last_seq >= 0
