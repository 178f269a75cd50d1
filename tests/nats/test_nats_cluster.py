"""A three-node JetStream cluster, replicas = 3: a node killed mid-stream."""

from __future__ import annotations

import time

import numpy as np

import mdstream
from mdstream.nats import Publisher
from nats_helpers import run_async, start_edge, stored_seqs

COUNT = 60_000


async def _leader(url: str) -> str:
    import nats

    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info("MDSTREAM")).cluster.leader
    finally:
        await nc.close()


def test_killing_the_stream_leader_loses_and_repeats_nothing(nats_cluster, tmp_path, processes):
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT", "GOOG"], rate=8_000, count=COUNT,
                                  seed=5)
    engine = mdstream.Engine(feed=feed, workers=2, journal=str(tmp_path / "journal"))
    own = engine.subscribe(policy="block")
    publisher = Publisher(engine, nats_cluster.urls, replicas=3, ack_timeout=1.0,
                          connect_timeout=30).start()
    edge, address = start_edge(nats_cluster.servers)
    processes.append(edge)
    engine.start()
    killed = None
    got = []
    with mdstream.Client(address) as client:
        stream = client.stream_batches(from_seq=0, resume=True,
                                       max_ticks_per_frame=1000)
        for batch in stream:
            got.append(batch.rows)
            if killed is None and batch.seq[-1] > COUNT // 4:
                leader = run_async(_leader(nats_cluster.urls[0]))
                killed = next(n for n in nats_cluster.nodes if n.name == leader)
                killed.kill()                                  # kill -9 the stream's leader
                killed_at = time.monotonic()
            if batch.seq[-1] == COUNT - 1:
                break
        stream.cancel()
    assert killed is not None and not killed.running
    expected = np.concatenate([b.rows for b in own.batches(timeout=30)])
    rows = np.concatenate(got)
    assert rows.tobytes() == expected.tobytes()                # every result once, in order
    assert publisher.wait_published(COUNT - 1, 30)
    st = publisher.stats()
    assert st.last_seq == COUNT - 1 and st.gaps == 0
    survivor = next(n for n in nats_cluster.nodes if n.running)
    seqs = stored_seqs(survivor.url)
    assert len(seqs) == COUNT and (np.sort(seqs) == np.arange(COUNT)).all()
    assert time.monotonic() - killed_at < 120
    publisher.stop()
    engine.stop()
