"""Publishing an engine's results to a real JetStream (nats-server -js on loopback)."""

from __future__ import annotations

import numpy as np
import pytest

import mdstream
from mdstream.nats import MessageSeqs, NatsError, Publisher, decode_message, symbol_of
from mdstream.nats.testing import NatsServer
from nats_helpers import run_async, stored_messages, stored_seqs

SYMBOLS = ["AAPL", "MSFT", "BRK.B", "ES*"]


def _engine(count, journal=None, rate=0, seed=3):
    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=rate, count=count, seed=seed)
    return mdstream.Engine(feed=feed, workers=2, journal=journal)


def _run_to_end(engine, publisher, last_seq):
    engine.start()
    assert engine.wait(60)
    assert publisher.wait_published(last_seq, 60), publisher.stats()
    engine.stop()
    assert publisher.drain(10)
    publisher.stop()


def test_every_result_is_stored_once_per_symbol_with_its_headers(nats_server):
    engine = _engine(30_000)
    with engine.subscribe(policy="block") as sub:       # the same results, in process
        publisher = Publisher(engine, nats_server.url, policy="block").start()
        _run_to_end(engine, publisher, 29_999)
        expected = np.concatenate([b.rows for b in sub])
    msgs = run_async(stored_messages(nats_server.url))
    batches = {}
    rows = []
    for m in msgs:
        seqs = MessageSeqs.of(m.headers)
        part, names = decode_message(m.data)
        # one symbol per message, on its subject, named in the frame
        assert len(names) == 1 and symbol_of("mdstream", m.subject) == list(names.values())[0]
        assert (part["symbol_id"] == list(names)[0]).all()
        assert (part["seq"][0], part["seq"][-1]) == (seqs.first, seqs.last)
        assert seqs.batch_first <= seqs.first <= seqs.last <= seqs.batch_last
        assert seqs.stream_id == engine.stream_id
        assert m.headers["Nats-Msg-Id"].startswith(f"{engine.stream_id}:{seqs.first}:{seqs.last}:")
        batches.setdefault(seqs.batch_last, []).append(seqs.part)
        rows.append(part)
    # the parts of each batch are all there, stored together, batches in order
    for parts in batches.values():
        assert sorted(parts) == list(range(len(parts)))
    order = [MessageSeqs.of(m.headers).batch_last for m in msgs]
    assert order == sorted(order)
    stored = np.concatenate(rows)
    stored = stored[np.argsort(stored["seq"])]
    assert stored.tobytes() == expected.tobytes()       # every value, bit for bit
    st = publisher.stats()
    assert (st.ticks, st.messages, st.duplicates, st.last_seq) == (30_000, len(msgs), 0, 29_999)


def test_engine_restarted_on_its_journal_adds_no_duplicate(nats_server, tmp_path):
    journal = str(tmp_path / "journal")
    first = _engine(20_000, journal)
    publisher = Publisher(first, nats_server.url).start()
    _run_to_end(first, publisher, 19_999)
    stream_id = first.stream_id

    # The same journal: the engine continues at seq 20,000 and the publisher
    # finds the stream's end and goes on after it.
    second = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, count=10_000,
                                                         seed=4), workers=2, journal=journal)
    assert second.stream_id == stream_id
    publisher = Publisher(second, nats_server.url).start()
    assert publisher.stats().resumed_from == 20_000
    _run_to_end(second, publisher, 29_999)
    seqs = stored_seqs(nats_server.url)
    assert len(seqs) == 30_000 and (np.sort(seqs) == np.arange(30_000)).all()


def test_a_batch_cut_short_is_completed_with_the_same_message_ids(nats_server, tmp_path):
    journal = str(tmp_path / "journal")
    engine = _engine(8_000, journal)
    publisher = Publisher(engine, nats_server.url, max_ticks_per_frame=1000).start()
    _run_to_end(engine, publisher, 7_999)
    msgs = run_async(stored_messages(nats_server.url))
    last = MessageSeqs.of(msgs[-1].headers)
    assert last.parts > 1

    # A crash after the first part of the newest batch: recreate the stream
    # holding everything but the rest of that batch.
    keep = [m for m in msgs if MessageSeqs.of(m.headers).batch_last < last.batch_last]
    keep.append(next(m for m in msgs if MessageSeqs.of(m.headers).batch_last == last.batch_last))

    async def rewrite():
        import nats

        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.delete_stream("MDSTREAM")
        await js.add_stream(name="MDSTREAM", subjects=["mdstream.>"])
        for m in keep:
            await js.publish(m.subject, m.data, headers=m.headers)
        await nc.close()

    run_async(rewrite())
    again = mdstream.Engine(feed=None, workers=2, journal=journal)
    publisher = Publisher(again, nats_server.url).start()
    assert publisher.stats().resumed_from == last.batch_first
    with again:
        assert publisher.wait_published(7_999, 30), publisher.stats()
    publisher.stop()
    st = publisher.stats()
    assert st.duplicates == 1 and st.messages == last.parts - 1     # the first part was there
    seqs = stored_seqs(nats_server.url)
    assert len(seqs) == 8_000 and (np.sort(seqs) == np.arange(8_000)).all()


def test_another_engines_stream_is_refused_with_both_ids(nats_server):
    first = _engine(1_000)
    publisher = Publisher(first, nats_server.url, policy="block").start()
    _run_to_end(first, publisher, 999)
    other = _engine(1_000)                   # no journal: a new stream id, seqs from 0 again
    with pytest.raises(NatsError, match=f"{first.stream_id}.*{other.stream_id}.*--publish-stream"):
        Publisher(other, nats_server.url).start()


def test_no_nats_server_is_a_clear_error():
    engine = _engine(10)
    with pytest.raises(NatsError, match="cannot connect to NATS at nats://127.0.0.1:9"):
        Publisher(engine, "nats://127.0.0.1:9", connect_timeout=1).start()
    with pytest.raises(mdstream.InvalidArgumentError, match="nats://HOST:PORT"):
        Publisher(engine, "127.0.0.1:4222")


def test_a_nats_outage_holds_back_no_other_subscriber_and_loses_nothing(tmp_path):
    server = NatsServer(str(tmp_path / "nats")).start()
    try:
        engine = _engine(0, str(tmp_path / "journal"), rate=20_000)
        publisher = Publisher(engine, server.url, ack_timeout=0.5).start()
        with engine, engine.subscribe(policy="block") as sub:
            assert publisher.wait_published(2_000, 30)
            server.kill()                                   # kill -9 the only NATS server
            got = 0
            while got < 40_000:                              # others keep getting results
                batch = sub.next_batch(10)
                assert batch is not None, "the outage held back an in-process subscriber"
                got += len(batch)
            st = publisher.stats()
            assert st.errors > 0 and st.last_error
            assert st.last_seq < sub.last_seq
            server.start()                                   # same port, same store
            target = sub.last_seq
            assert publisher.wait_published(target, 60), publisher.stats()
        publisher.stop()
        seqs = stored_seqs(server.url)
        assert (np.sort(seqs) == np.arange(len(seqs))).all()   # no gap, no duplicate
        assert len(seqs) > target
    finally:
        server.close()


def test_a_journal_behind_jetstream_is_refused(nats_server, tmp_path):
    import shutil

    journal = tmp_path / "journal"
    first = _engine(2_000, str(journal))
    first.start()
    assert first.wait(30)
    first.stop()
    shutil.copytree(journal, tmp_path / "older")             # a backup of the journal
    second = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, count=3_000,
                                                         seed=4), workers=2, journal=str(journal))
    publisher = Publisher(second, nats_server.url).start()
    _run_to_end(second, publisher, 4_999)
    restored = mdstream.Engine(feed=None, workers=2, journal=str(tmp_path / "older"))
    with pytest.raises(NatsError, match="up to seq 4999.*continues at seq 2000"):
        Publisher(restored, nats_server.url).start()
    restored.stop()


def test_order_requests_of_a_paper_venue_are_never_published(nats_server):
    from mdstream.venue import PaperVenue
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=PaperVenue())
    with engine.subscribe(policy="block") as sub:
        publisher = Publisher(engine, nats_server.url, policy="block").start()
        engine.start()
        cl = 0
        for i in range(200):
            engine.publish_quotes(SYMBOLS[i % 4], 99.0 + i % 3, 101.0 + i % 3, 5, 5)
            cl += 1
            engine.submit_order("paper", cl, SYMBOLS[i % 4], "buy", 1, price=100.0 + i % 3)
        engine.publish_trades("AAPL", 100.0, 1)     # the last seq is a result
        last = engine.stats().results - 1
        engine.close_ingest()
        assert engine.wait(60)
        assert publisher.wait_published(last, 60), publisher.stats()
        engine.stop()
        assert publisher.drain(10)
        publisher.stop()
        expected = np.concatenate([b.rows for b in sub])
    assert len(expected) == 201
    rows = np.concatenate([decode_message(m.data)[0]
                           for m in run_async(stored_messages(nats_server.url))])
    rows = rows[np.argsort(rows["seq"])]
    assert rows.tobytes() == expected.tobytes()
