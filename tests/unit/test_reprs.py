"""Reprs say state, address, counts and sequence ranges, never arrays; the
HTML of a batch and of engine stats is a small escaped table."""

from __future__ import annotations

import asyncio
import re

import numpy as np

import mdstream
from mdstream.grpc.aio import AsyncClient
from mdstream.grpc.client import Client

EVIL = "<b>&x"          # a symbol name that is also markup


def _engine() -> mdstream.Engine:
    return mdstream.Engine(symbols=["AAPL", EVIL], workers=2)


def test_engine_and_subscription_reprs_follow_the_state():
    engine = _engine()
    assert repr(engine) == ("<mdstream.Engine new no feed workers=2 symbols=2 ticks_in=0 "
                            "results=0 next_seq=0 subscriptions=0>")
    with engine:
        sub = engine.subscribe(["AAPL"], "skip")
        engine.publish_trades("AAPL", np.arange(1.0, 51.0), np.ones(50))
        batch = sub.next_batch(timeout=10, max_wait=0.2)
        assert batch is not None
        text = repr(engine)
        assert text.startswith("<mdstream.Engine running no feed workers=2 symbols=2 ")
        assert "subscriptions=1" in text and re.search(r"ticks_in=\d+", text)
        assert re.fullmatch(rf"<Subscription #\d+ AAPL policy=skip received={len(batch)} "
                            rf"last_seq={len(batch) - 1} lag=\d+ missed=0>", repr(sub)), repr(sub)
        sub.close()
        assert repr(sub).endswith(" closed>")
    assert repr(engine).startswith("<mdstream.Engine stopped ")


def test_batch_repr_counts_kinds_symbols_and_the_seq_range():
    with _engine() as engine:
        sub = engine.subscribe()
        engine.publish_trades("AAPL", np.arange(1.0, 4.0), np.ones(3))
        engine.publish_quotes(EVIL, 1.0, 2.0, 5.0, 5.0)
        engine.close_ingest()
        rows = np.concatenate([b.rows for b in sub])
    batch = mdstream.ResultBatch(rows, engine.symbols)
    text = repr(batch)
    assert text == "<ResultBatch 4 results (3 trades, 1 quote) seq 0..3 2 symbols>"
    assert "[" not in text                                    # no array in it
    empty = mdstream.ResultBatch(rows[:0], engine.symbols, mdstream.Gap(5, 9, 2))
    assert repr(empty) == "<ResultBatch 0 results gap=Gap(from_seq=5, to_seq=9, missed=2)>"


def test_batch_html_is_a_small_escaped_table():
    with _engine() as engine:
        sub = engine.subscribe()
        engine.publish_trades(EVIL, np.arange(1.0, 26.0), np.ones(25))
        engine.close_ingest()
        rows = np.concatenate([b.rows for b in sub])
    html = mdstream.ResultBatch(rows, engine.symbols)._repr_html_()
    assert html.count("<tr>") == 1 + mdstream.ResultBatch.HTML_ROWS     # header + 10 rows
    assert EVIL not in html and "&lt;b&gt;&amp;x" in html
    assert "... 15 more rows" in html and "<th>vwap</th>" in html


def test_engine_stats_html_escapes_names_and_lists_subscriptions():
    with _engine() as engine:
        sub = engine.subscribe([EVIL], "skip")
        engine.publish_trades(EVIL, np.arange(1.0, 11.0), np.ones(10))
        html = engine.stats()._repr_html_()
        sub.close()
    assert html.startswith("<table><caption>mdstream engine</caption>")
    assert EVIL not in html and "&lt;b&gt;&amp;x" in html
    assert "<caption>1 subscriptions</caption>" in html and "<td>skip</td>" in html
    assert "<td>ticks in</td><td>10</td>" in html


def test_client_reprs_give_address_security_and_state_never_the_token():
    client = Client("127.0.0.1:1", token="s3cret-token")
    try:
        assert repr(client) == "<mdstream.Client 127.0.0.1:1 plaintext token new streams_opened=0>"
        client.stream_batches(["AAPL"])
        assert "streams_opened=1" in repr(client)
    finally:
        client.close()
    assert repr(client).endswith(" closed streams_opened=1>")
    assert "s3cret" not in repr(client)

    async def main():
        async with AsyncClient("127.0.0.1:1", tls=True) as aclient:
            return repr(aclient)

    assert asyncio.run(main()) == "<mdstream.AsyncClient 127.0.0.1:1 tls new streams_opened=0>"


def test_stream_reprs_give_state_and_counters():
    client = Client("127.0.0.1:1")
    try:
        plain = client.stream_batches(["AAPL"])
        resuming = client.stream_batches(["AAPL"], resume=True)
        assert repr(plain) == ("<BatchStream open received=0 frames=0 missed=0 last_seq=-1>")
        assert repr(resuming).startswith("<ResumingBatchStream 127.0.0.1:1 open reconnects=0 ")
        plain.cancel()
        resuming.cancel()
        assert repr(plain).startswith("<BatchStream cancelled ")
        assert " cancelled " in repr(resuming)
    finally:
        client.close()
