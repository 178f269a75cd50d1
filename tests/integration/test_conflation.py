"""Conflation (``conflate``): at most one result per symbol per interval, the newest.

Every conflated batch is checked against an unconflated subscription to the
same engine: for the sequence numbers its Gap spans, it must hold exactly the
newest result of each symbol, and count every other one as folded (missed).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from mdstream import RESULT_DTYPE, InvalidArgumentError
from mdstream.batch import Gap
from mdstream.engine.conflate import Conflator

pytestmark = pytest.mark.timeout(60)

N = 8000


def newest_per_symbol(rows: np.ndarray) -> np.ndarray:
    """Plain-Python reference: the last row of each symbol, in seq order."""
    last = {}
    for r in rows:
        last[int(r["symbol_id"])] = r
    return np.array(sorted(last.values(), key=lambda r: int(r["seq"])), dtype=RESULT_DTYPE)


def check_against(batches, all_rows: np.ndarray) -> int:
    """Every batch is the newest per symbol of the span its Gap reports; the
    spans tile the stream. Returns the number of batches checked."""
    by_seq = {int(s): i for i, s in enumerate(all_rows["seq"])}
    expected_from = 0
    checked = 0
    for b in batches:
        if not len(b):
            continue
        if b.gap is None:       # an interval with one result per symbol: nothing folded
            assert b.rows["seq"].tolist() == list(range(expected_from, expected_from + len(b)))
            assert len(set(b.rows["symbol_id"].tolist())) == len(b)
            expected_from += len(b)
            continue
        assert b.gap.from_seq == expected_from
        span = all_rows[by_seq[b.gap.from_seq]:by_seq[b.gap.to_seq - 1] + 1]
        assert b.rows.tobytes() == newest_per_symbol(span).tobytes()
        assert len(b) + b.gap.missed == len(span)
        assert len(set(b.rows["symbol_id"].tolist())) == len(b)
        expected_from = b.gap.to_seq
        checked += 1
    assert expected_from == len(all_rows)
    return checked


def test_conflator_folds_to_the_newest_row_per_symbol():
    rows = np.zeros(6, dtype=RESULT_DTYPE)
    rows["seq"] = np.arange(10, 16)
    rows["symbol_id"] = [0, 1, 0, 2, 1, 0]
    c = Conflator(0.5)
    c.add(rows[:3], None, now=100.0)
    assert not c.due(100.2) and c.due(100.5) and c.wait(100.2) == pytest.approx(0.3)
    c.add(rows[3:], Gap(16, 20, 4), now=100.3)
    out, gap = c.take()
    assert out["seq"].tolist() == [13, 14, 15]
    assert gap == Gap(10, 20, 3 + 4)               # 3 folded + 4 skipped by the policy
    assert not c.holding and c.take() == (None, None)


def test_in_process_conflation_against_the_unconflated_stream(helpers):
    engine = helpers.finite_engine(N, rate=20_000)
    everything = engine.subscribe()
    conflated = engine.subscribe(conflate=0.02)
    with pytest.raises(InvalidArgumentError, match="conflate must be 0.001 to 3600 seconds"):
        engine.subscribe(conflate=0)
    engine.start()
    try:
        got = list(conflated.batches(timeout=10))
        all_rows = np.concatenate([b.rows for b in everything.batches(timeout=10)])
    finally:
        engine.stop()
    assert all_rows["seq"].tolist() == list(range(N))
    assert check_against(got, all_rows) >= 3
    assert sum(len(b) for b in got) < N / 10          # conflated, and nothing lost at the end
    assert conflated.last_seq == N - 1


def test_grpc_conflation_both_rpcs(make_server, make_client, helpers):
    engine = helpers.finite_engine(N, rate=20_000)
    server = make_server(engine)
    client = make_client(server)
    everything = client.stream_batches()
    conflated = client.stream_batches(conflate=0.02, fields="seq,price")
    results = client.stream_results(conflate=0.02)
    helpers.wait_for_streams(server, 3)
    engine.start()
    all_rows = np.concatenate([b.rows for b in everything])
    got = list(conflated)
    assert check_against([_with_all(b, all_rows) for b in got], all_rows) >= 3
    msgs = list(results)
    assert len(msgs) + sum(m.missed_before for m in msgs) == N
    assert len(msgs) < N / 10


def _with_all(batch, all_rows):
    """A projected batch's rows completed from the full stream (by seq), to compare."""
    from mdstream.batch import ResultBatch
    return ResultBatch(all_rows[batch.rows["seq"]], batch.symbols, batch.gap)


def test_cli_subscribe_conflate(make_server, helpers):
    engine = helpers.finite_engine(10**9, rate=20_000)
    server = make_server(engine, start_engine=True)
    done = subprocess.run(helpers.mdstream_command(
        "subscribe", "--target", server.address, "--batches", "--conflate", "50ms",
        "--limit", "20", "--quiet"),
        capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("summary: 20 results"), summary
    missed = int(summary.split(" missed")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert missed > 20, summary          # many folded for each one received


def test_resuming_stream_conflates(make_server, make_client, helpers):
    engine = helpers.finite_engine(N, rate=20_000)
    server = make_server(engine)
    engine.start()          # the ring keeps all N: the stream starts at seq 0
    stream = make_client(server).stream_batches(conflate=0.02, resume=True, from_seq=0)
    got, accounted = [], 0
    for batch in stream:
        got.append(batch)
        accounted += len(batch) + (batch.gap.missed if batch.gap else 0)
        if accounted >= N:
            break
    stream.cancel()
    assert accounted == N and stream.last_seq == N - 1
    assert sum(len(b) for b in got) < N / 10
    for b in got:
        assert len(set(b.rows["symbol_id"].tolist())) == len(b)
