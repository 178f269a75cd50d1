"""Server-side filters (kinds, min_size, min_price, max_price) over real servers.

The same engine results are read unfiltered and filtered; the filtered
stream must hold exactly the unfiltered results that pass (a plain NumPy
reference), with no gap and nothing reported missed, on both RPCs, both
clients, in process and from the CLI.
"""

from __future__ import annotations

import asyncio
import subprocess

import grpc
import numpy as np
import pytest

from mdstream import InvalidArgumentError
from mdstream.grpc.client import AsyncClient
from mdstream.v1 import mdstream_pb2 as pb

from test_grpc_errors import raw_call

pytestmark = pytest.mark.timeout(60)

N = 20_000


def passes(rows, kinds=None, min_size=None, min_price=None, max_price=None) -> np.ndarray:
    """The NumPy reference of the filter: a boolean mask."""
    keep = np.ones(len(rows), dtype=bool)
    if kinds is not None:
        keep &= np.isin(rows["kind"], kinds)
    if min_size is not None:
        keep &= rows["size"] >= min_size
    if min_price is not None:
        keep &= rows["price"] >= min_price
    if max_price is not None:
        keep &= rows["price"] <= max_price
    return keep


def quoting_engine(helpers, n=N):
    """A finite simulated feed with trades and quotes."""
    return helpers.finite_engine(n)


def test_stream_batches_and_results_filtered_by_kind_and_size(make_server, make_client, helpers):
    engine = quoting_engine(helpers)
    server = make_server(engine)
    client = make_client(server)
    everything = client.stream_batches(max_ticks_per_frame=1000)
    trades = client.stream_batches(kinds="trade", min_size=80, max_ticks_per_frame=1000)
    results = client.stream_results(kinds=["trade"], min_size=80)
    helpers.wait_for_streams(server, 3)
    engine.start()
    all_rows = np.concatenate([b.rows for b in everything])
    assert all_rows["seq"].tolist() == list(range(N))
    kinds = set(all_rows["kind"].tolist())
    assert {0, 1} <= kinds, "the feed must make trades and quotes for this test"
    want = all_rows[passes(all_rows, kinds=[0], min_size=80)]
    assert 0 < len(want) < len(all_rows) / 2
    got = list(trades)
    rows = np.concatenate([b.rows for b in got])
    assert rows.tobytes() == want.tobytes()
    assert all(b.gap is None for b in got) and trades.decoder.missed == 0   # not gaps
    msgs = list(results)
    assert [m.seq for m in msgs] == want["seq"].tolist()
    assert all(m.missed_before == 0 for m in msgs)
    assert trades.decoder.bytes < everything.decoder.bytes / 2


def test_price_bounds_and_bars(make_server, make_client, helpers):
    engine = quoting_engine(helpers)
    server = make_server(engine)
    client = make_client(server)
    everything = client.stream_batches()
    band = client.stream_batches(min_price=50, max_price=500, kinds="trade,quote")
    helpers.wait_for_streams(server, 2)
    engine.start()
    all_rows = np.concatenate([b.rows for b in everything])
    want = all_rows[passes(all_rows, kinds=[0, 1], min_price=50, max_price=500)]
    assert 0 < len(want) < len(all_rows)
    rows = np.concatenate([b.rows for b in band] or [all_rows[:0]])
    assert rows.tobytes() == want.tobytes()


def test_a_stream_whose_results_are_all_filtered_still_gets_heartbeats(make_server, make_client,
                                                                         helpers):
    engine = helpers.finite_engine(10**9, rate=5000)
    server = make_server(engine, start_engine=True)
    stream = make_client(server).stream_batches(kinds="bar", heartbeats=True,
                                                heartbeat_interval=0.05)
    got = []
    for batch in stream:
        got.append(batch)
        if len(got) >= 3:
            break
    stream.cancel()
    assert all(len(b) == 0 and b.gap is None for b in got)      # heartbeats only
    assert stream.last_seq > 0          # last_seq moves past what was filtered out


@pytest.mark.parametrize("kwargs, words", [
    ({"kinds": [7]}, "unknown kind 7"),
    ({"min_price": 5, "max_price": 4}, "min_price 5 is above max_price 4"),
    ({"min_size": -1}, "min_size must be >= 0"),
    ({"min_size": float("nan")}, "min_size must be a number"),
])
@pytest.mark.parametrize("method", ["StreamBatches", "StreamResults"])
def test_bad_filters_are_invalid_argument(make_server, helpers, method, kwargs, words):
    server = make_server(helpers.publish_engine(), start_engine=True)
    error = raw_call(server, method, pb.SubscribeRequest(**kwargs))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in error.details()


def test_async_client_filters(make_server, helpers):
    engine = quoting_engine(helpers, 5000)
    server = make_server(engine)

    async def main():
        async with AsyncClient(server.address) as client:
            everything = client.stream_batches()
            quotes = client.stream_results(kinds="quote")
            while server.servicer.active_streams < 2:
                await asyncio.sleep(0.005)
            engine.start()
            a = [b async for b in everything]
            q = [m async for m in quotes]
            return a, q

    batches, quotes = asyncio.run(main())
    rows = np.concatenate([b.rows for b in batches])
    assert [m.seq for m in quotes] == rows[rows["kind"] == 1]["seq"].tolist()


def test_in_process_filters(helpers):
    engine = quoting_engine(helpers, 5000)
    everything = engine.subscribe()
    big = engine.subscribe(kinds="trade", min_size=80)
    with pytest.raises(InvalidArgumentError, match="unknown kind 'tick'"):
        engine.subscribe(kinds="tick")
    engine.start()
    try:
        all_rows = np.concatenate([b.rows for b in everything.batches(timeout=5)])
        got = list(big.batches(timeout=5))
    finally:
        engine.stop()
    rows = np.concatenate([b.rows for b in got])
    assert rows.tobytes() == all_rows[passes(all_rows, kinds=[0], min_size=80)].tobytes()
    assert all(len(b) for b in got) and all(b.gap is None for b in got)
    assert big.stats()["received"] == len(rows)
    assert big.last_seq == 4999


def test_cli_subscribe_filters(make_server, helpers):
    engine = helpers.finite_engine(10**9, rate=20_000)
    server = make_server(engine, start_engine=True)
    for extra in ([], ["--batches"]):
        done = subprocess.run(helpers.mdstream_command(
            "subscribe", "--target", server.address, "--kinds", "quote", "--limit", "5", *extra),
            capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 6 and lines[5].startswith("summary: 5 results"), lines
        assert all(" -> quote " in line for line in lines[:5]), lines
    done = subprocess.run(helpers.mdstream_command(
        "subscribe", "--target", server.address, "--min-price", "5", "--max-price", "1"),
        capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
    assert done.returncode == 2 and "min_price 5 is above max_price 1" in done.stderr
