"""Resume and snapshots over gRPC, in-process servers: the snapshot fence with
concurrent writers, OUT_OF_RANGE for an expired from_seq (and the gap a
resuming client reports), DATA_LOSS for a damaged journal block, replay that
does not stall live subscribers, and the resuming client's own logic
(duplicates dropped, gaps merged, backoff, giving up, cancel) against a
scripted connection.

The kill -9 and restart tests with real server processes are in
test_grpc_crash.py.
"""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest

import mdstream
from mdstream import OutOfRangeError, _codec
from mdstream.grpc.client import RemoteError
from mdstream.errors import JournalCorruptError
from mdstream.journal import JournalConfig, list_segments
from mdstream.grpc.resume import Reconnect, ReconnectError, ResumingBatchStream, ResumingResultStream
from mdstream.v1 import mdstream_pb2 as pb

import grpc_journal_server as gjs

pytestmark = pytest.mark.timeout(60)

SYMBOLS = gjs.SYMBOLS


def journal_engine(directory, *, ring_size: int = 1 << 10, max_symbols: int = 4096,
                   **config) -> mdstream.Engine:
    return mdstream.Engine(symbols=SYMBOLS, workers=2, ring_size=ring_size,
                           max_symbols=max_symbols, journal=JournalConfig(directory, **config))


def read_until(stream, last_seq: int, limit: int = 10_000_000) -> np.ndarray:
    """Rows of a batch stream until one has seq >= last_seq (or it ends)."""
    parts = []
    for batch in stream:
        parts.append(batch.rows)
        if len(batch) and batch.seq[-1] >= last_seq:
            break
        assert sum(map(len, parts)) <= limit
    return np.concatenate(parts) if parts else np.zeros(0, mdstream.RESULT_DTYPE)


def last_per_symbol(ref: np.ndarray, as_of: int, symbols) -> list[int]:
    """The seq (= index) of the newest reference result of each symbol at or
    before as_of, in symbol id order."""
    out = []
    for sid, name in enumerate(SYMBOLS):
        mine = np.flatnonzero(ref["symbol_id"][:as_of + 1] == sid)
        if name in symbols and len(mine):
            out.append(int(mine[-1]))
    return out


def result_rows(messages) -> np.ndarray:
    rows = np.zeros(len(messages), dtype=mdstream.RESULT_DTYPE)
    for i, m in enumerate(messages):
        for name in mdstream.RESULT_DTYPE.names:
            rows[name][i] = getattr(m, name)
    return rows


# -- snapshot first, fenced ---------------------------------------------------------

class Writer(threading.Thread):
    """Publishes ticks[:half] (then waits for `go_on`), then the rest."""

    def __init__(self, engine, ticks):
        super().__init__(name="writer", daemon=True)
        self.engine, self.ticks = engine, ticks
        self.go_on = threading.Event()
        self.error = None

    def run(self):
        try:
            half = len(self.ticks) // 2
            for start in range(0, len(self.ticks), 50):
                if start >= half:
                    self.go_on.wait(30)
                gjs.publish(self.engine, self.ticks[start:start + 50])
                time.sleep(0.0005)
        except Exception as exc:  # noqa: BLE001 - checked by the test
            self.error = exc


@pytest.mark.parametrize("kind, symbols, frame", [
    ("batches", None, 4096),
    ("batches", ["BBB", "DDD"], 1),          # a snapshot spanning frames
    ("results", ["CCC"], 4096),
    ("resume-batches", None, 4096),          # resume=True: GetSnapshot, then from as_of + 1
    ("resume-results", ["AAA", "CCC"], 4096),
])
def test_snapshot_first_is_fenced_with_concurrent_writers(make_server, make_client, kind,
                                                          symbols, frame):
    n = 12_000
    ticks = gjs.tick_stream(n)
    ref = gjs.reference_results(ticks)
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2)
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    writer = Writer(engine, ticks)
    writer.start()
    try:
        assert gjs_wait(lambda: engine.snapshot().as_of_seq >= 1000)
        resume = kind.startswith("resume")
        if kind.endswith("batches"):
            stream = client.stream_batches(symbols, snapshot=True, resume=resume,
                                           max_ticks_per_frame=frame)
        else:
            stream = client.stream_results(symbols, snapshot=True, resume=resume)
        it = iter(stream)
        if kind == "results":
            messages = [next(it)]
            while messages[-1].snapshot:
                messages.append(next(it))
            snap_msgs, live_msgs = messages[:-1], messages[-1:]
            as_of = snap_msgs[0].as_of_seq
            assert all(m.as_of_seq == as_of for m in snap_msgs)
            snap_rows = result_rows(snap_msgs)
        else:
            snap = stream.read_snapshot()
            as_of = snap.as_of_seq
            snap_rows = snap.results.rows
            if kind == "resume-results":
                snap_msgs = [next(it) for _ in range(len(snap_rows))]
                assert all(m.snapshot and m.as_of_seq == as_of for m in snap_msgs)
            live_msgs = []
        writer.go_on.set()              # the writers go on after the snapshot
        # Taken while the writer was writing: neither before it began nor after it ended.
        assert 1000 <= as_of < n // 2
        want = last_per_symbol(ref, as_of, symbols or SYMBOLS)
        assert snap_rows["seq"].tolist() == want
        gjs.assert_same_analytics(snap_rows, ref[want])
        # The live stream: exactly the results after as_of_seq, none missed.
        match = np.isin(ref["symbol_id"], [SYMBOLS.index(s) for s in symbols or SYMBOLS])
        expected = np.flatnonzero(match & (np.arange(n) > as_of))
        if kind.endswith("batches"):
            live = read_until(stream, int(expected[-1]))
        else:
            while not live_msgs or live_msgs[-1].seq < expected[-1]:
                live_msgs.append(next(it))
            live = result_rows(live_msgs)
        stream.cancel()
        assert live["seq"].tolist() == expected.tolist()
        gjs.assert_same_analytics(live, ref[expected])
    finally:
        writer.go_on.set()
        writer.join(30)
    assert writer.error is None


def gjs_wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_snapshot_and_from_seq_cannot_be_combined(make_server, make_client):
    server = make_server(mdstream.Engine(symbols=SYMBOLS), start_engine=True)
    client = make_client(server)
    with pytest.raises(mdstream.InvalidArgumentError, match="cannot be combined"):
        client.stream_batches(snapshot=True, from_seq=3)
    channel = grpc.insecure_channel(server.address)
    try:
        call = channel.unary_stream("/mdstream.v1.MDStream/StreamBatches",
                                    request_serializer=pb.SubscribeRequest.SerializeToString)
        with pytest.raises(grpc.RpcError) as info:
            list(call(pb.SubscribeRequest(snapshot=True, from_seq=3), timeout=10))
    finally:
        channel.close()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "snapshot and from_seq" in info.value.details()


def test_empty_snapshot_is_one_fence_frame(make_server, make_client):
    engine = mdstream.Engine(symbols=SYMBOLS)
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    stream = client.stream_batches(["BBB"], snapshot=True, max_wait=0.0)
    snap = stream.read_snapshot()
    assert snap.as_of_seq == -1 and len(snap.results) == 0
    engine.publish_trades("BBB", 10.0, 1)
    batch = next(stream)
    assert batch.seq.tolist() == [0] and batch.symbol_names().tolist() == ["BBB"]
    stream.cancel()


# -- OUT_OF_RANGE: an expired from_seq ------------------------------------------------

@pytest.mark.timeout(90)
def test_expired_from_seq_is_out_of_range_and_a_resuming_client_reports_the_gap(
        tmp_path, make_server, make_client):
    n = 12_000
    ticks = gjs.tick_stream(n)
    ref = gjs.reference_results(ticks)
    directory = tmp_path / "journal"
    # Small state files (64 symbols): the size limit keeps a few segments.
    engine = journal_engine(directory, ring_size=256, max_symbols=64, segment_bytes=1 << 16,
                            retain_bytes=4 << 16)
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    gjs.publish(engine, ticks)
    engine.close_ingest()

    def size():
        total = 0
        for _, p in list_segments(directory):
            try:
                total += p.stat().st_size
            except FileNotFoundError:       # retention removed it meanwhile
                pass
        return total

    # Retention runs once a second; wait until it has trimmed the journal.
    assert gjs_wait(lambda: engine.journal_status()["written_seq"] == n
                    and size() <= (4 << 16) and list_segments(directory)[0][0] > 0)
    oldest = list_segments(directory)[0][0]

    with pytest.raises(OutOfRangeError) as info:
        next(iter(client.stream_batches(from_seq=10)))
    assert info.value.code == grpc.StatusCode.OUT_OF_RANGE
    assert info.value.oldest == oldest
    assert f"seq {oldest}" in str(info.value)
    # One older than the ring but still in the journal is replayed.
    rows = read_until(client.stream_batches(from_seq=oldest + 7), n - 1)
    assert rows["seq"].tolist() == list(range(oldest + 7, n))

    # A resuming client reports what it cannot get back as a gap, then goes on.
    stream = client.stream_batches(from_seq=10, resume=True)
    batches = list(stream)
    assert batches[0].gap == mdstream.Gap(10, oldest, oldest - 10)
    assert all(b.gap is None for b in batches[1:])
    rows = np.concatenate([b.rows for b in batches])
    assert rows["seq"].tolist() == list(range(oldest, n))
    gjs.assert_same_analytics(rows, ref[oldest:])
    assert (stream.gaps, stream.missed, stream.reconnects) == (1, oldest - 10, 0)

    results = list(client.stream_results(["BBB"], from_seq=10, resume=True))
    bbb = np.flatnonzero(ref["symbol_id"] == SYMBOLS.index("BBB"))
    assert [m.seq for m in results] == bbb[bbb >= oldest].tolist()
    assert results[0].missed_before == oldest - 10
    assert all(m.missed_before == 0 for m in results[1:])


# -- DATA_LOSS: a damaged block reached by a resume -------------------------------

def test_damaged_journal_block_ends_a_resumed_stream_with_data_loss(tmp_path, make_server,
                                                                   make_client):
    n = 6000
    ticks = gjs.tick_stream(n)
    ref = gjs.reference_results(ticks)
    directory = tmp_path / "journal"
    engine = journal_engine(directory, segment_bytes=1 << 16)
    engine.start()
    gjs.publish(engine, ticks)
    engine.close_ingest()
    assert engine.wait(30)
    engine.stop()
    segments = list_segments(directory)
    assert len(segments) > 3
    (first, path), (second, _) = segments[1], segments[2]
    data = bytearray(path.read_bytes())
    where = len(data) // 2
    data[where] ^= 0x40
    path.write_bytes(bytes(data))

    engine = journal_engine(directory)          # starts: the damage is not in the tail
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    for resume in (False, True):
        stream = client.stream_batches(from_seq=0, resume=resume)
        parts = []
        with pytest.raises(JournalCorruptError) as info:
            for batch in stream:
                parts.append(batch.rows)
        err = info.value
        assert err.code == grpc.StatusCode.DATA_LOSS
        assert err.path == path.name and 0 <= err.offset <= where
        assert str(path.parent) not in err.details
        assert path.name in str(err) and f"offset {err.offset}" in str(err)
        # What came before the damage is exact; nothing of the damaged block was served.
        rows = np.concatenate(parts)
        assert rows["seq"].tolist() == list(range(len(rows)))
        assert first <= len(rows) < second
        gjs.assert_same_analytics(rows, ref[:len(rows)])
    # The per-result stream ends the same way, after the same results.
    seqs = []
    with pytest.raises(JournalCorruptError) as info:
        for message in client.stream_results(from_seq=0):
            seqs.append(message.seq)
    assert info.value.code == grpc.StatusCode.DATA_LOSS and info.value.path == path.name
    assert seqs == list(range(len(rows)))


# -- a large replay does not stall live subscribers ------------------------------------

@pytest.mark.timeout(90)
def test_replay_of_a_large_range_does_not_stall_live_subscribers(tmp_path, make_server,
                                                                  make_client):
    bulk = 300_000
    directory = tmp_path / "journal"
    first = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, count=bulk, seed=3),
                            journal=directory)
    first.start()
    assert first.wait(60)
    first.stop()

    engine = journal_engine(directory)
    assert engine.recovery.next_seq == bulk
    server = make_server(engine, start_engine=True)
    client = make_client(server)
    ticks = gjs.tick_stream(200_000, seed=9)
    stop = threading.Event()

    def publisher():
        for start in range(0, len(ticks), 100):
            if stop.is_set():
                return
            gjs.publish(engine, ticks[start:start + 100])
            time.sleep(0.002)

    live_seen: list[tuple[float, int, int]] = []      # (time, first seq, last seq)
    live = client.stream_batches(policy="block", max_wait=0.0)

    def live_reader():
        for batch in live:
            if len(batch):
                live_seen.append((time.monotonic(), int(batch.seq[0]), int(batch.seq[-1])))

    threads = [threading.Thread(target=publisher), threading.Thread(target=live_reader)]
    for t in threads:
        t.start()
    try:
        assert gjs_wait(lambda: len(live_seen) >= 3)
        replay = client.stream_batches(policy="block", from_seq=0, max_ticks_per_frame=16384)
        count, started, ended = 0, None, None
        expect = 0
        for batch in replay:
            if started is None:
                started = time.monotonic()
            assert batch.seq[0] == expect and batch.seq[-1] == expect + len(batch) - 1
            expect += len(batch)
            if expect >= bulk:
                ended = time.monotonic()
                break
        replay.cancel()
    finally:
        stop.set()
        threads[0].join(30)
        live.cancel()
        threads[1].join(30)
    # While the replay was being read, the live subscriber kept receiving, without a gap.
    during = [s for s in live_seen if started < s[0] < ended]
    assert len(during) >= 3, (len(during), ended - started)
    seqs = [(a, b) for _, a, b in live_seen]
    assert all(nxt[0] == prev[1] + 1 for prev, nxt in zip(seqs, seqs[1:]))


# -- the resuming client's logic, against scripted connections --------------------

class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details="", metadata=()):
        self._code, self._details, self._metadata = code, details, metadata

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._metadata


class FakeCall:
    """A call that yields its frames, then raises `error` (None: ends with OK)."""

    def __init__(self, items, error=None):
        self._items = iter(items)
        self._error = error
        self.cancelled = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.cancelled:
            raise FakeRpcError(grpc.StatusCode.CANCELLED)
        try:
            return next(self._items)
        except StopIteration:
            if self._error is not None:
                raise self._error from None
            raise

    def cancel(self):
        self.cancelled = True


class FakeClient:
    """What a resuming stream uses of a Client, scripted: each connection
    attempt takes the next script entry (a FakeCall, or an error to raise)."""

    target = "fake:1"
    timeout = 1.0

    def __init__(self, script, as_of_seq=-1):
        self.script = list(script)
        self.requests = []
        self.as_of_seq = as_of_seq

    def _get_snapshot(self, request, timeout=None):
        return pb.Snapshot(as_of_seq=self.as_of_seq)

    def _next(self, request):
        self.requests.append(request)
        entry = self.script.pop(0)
        if isinstance(entry, Exception):
            return FakeCall([], entry)
        return entry

    _stream_batches = _stream_results = _next


def frames(seqs_per_frame, gap=None):
    encoder = _codec.BatchEncoder(SYMBOLS)
    out = []
    for i, seqs in enumerate(seqs_per_frame):
        rows = np.zeros(len(seqs), dtype=mdstream.RESULT_DTYPE)
        rows["seq"] = seqs
        rows["symbol_id"] = np.asarray(seqs) % len(SYMBOLS)
        out.append(encoder.encode(rows, gap if i == 0 else None))
    return out


UNAVAILABLE = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "Socket closed")
FAST = Reconnect(initial_backoff=0.001, max_backoff=0.004, give_up_after=5.0)


def test_resume_drops_duplicates_and_resumes_from_the_last_seq():
    client = FakeClient([
        FakeCall(frames([[0, 1, 2], [3, 4]]), UNAVAILABLE),
        UNAVAILABLE,                                          # server still down
        FakeCall(frames([[3, 4, 5, 6], [5, 7]])),             # replays some again
    ])
    stream = ResumingBatchStream(client, pb.SubscribeRequest(), FAST, from_seq=0)
    batches = list(stream)
    assert [b.seq.tolist() for b in batches] == [[0, 1, 2], [3, 4], [5, 6], [7]]
    assert [r.from_seq for r in client.requests] == [0, 5, 5]
    assert (stream.reconnects, stream.attempts, stream.duplicates, stream.gaps) == (1, 2, 3, 0)
    assert batches[2].symbol_names().tolist() == ["BBB", "CCC"]


def test_resume_reports_out_of_range_as_a_gap_merged_with_a_server_gap():
    out_of_range = FakeRpcError(grpc.StatusCode.OUT_OF_RANGE, "older than the oldest (seq 20)",
                                (("mdstream-error", "OutOfRangeError"),
                                 ("mdstream-oldest-seq", "20")))
    client = FakeClient([
        FakeCall(frames([[8, 9]]), UNAVAILABLE),
        out_of_range,
        FakeCall(frames([[25, 26]], gap=(20, 25, 5))),        # and a skip right away
    ])
    stream = ResumingBatchStream(client, pb.SubscribeRequest(), FAST, from_seq=8)
    batches = list(stream)
    assert [b.seq.tolist() for b in batches] == [[8, 9], [25, 26]]
    assert batches[1].gap == mdstream.Gap(10, 25, 15)
    assert [r.from_seq for r in client.requests] == [8, 10, 20]
    assert (stream.gaps, stream.missed) == (2, 15)


def test_resume_without_from_seq_starts_after_a_snapshot():
    client = FakeClient([FakeCall(frames([[41, 42]]))], as_of_seq=40)
    stream = ResumingResultStream(client, pb.SubscribeRequest(), FAST)
    client._stream_results = lambda req: (client.requests.append(req) or FakeCall(
        [pb.Result(seq=40), pb.Result(seq=41, symbol="BBB")]))
    assert [m.seq for m in stream] == [41]
    assert client.requests[0].from_seq == 41 and stream.duplicates == 1


def test_resume_gives_up_with_a_clear_error():
    client = FakeClient([FakeCall(frames([[0]]), UNAVAILABLE)] + [UNAVAILABLE] * 1000)
    policy = Reconnect(initial_backoff=0.01, max_backoff=0.05, give_up_after=0.3)
    stream = ResumingBatchStream(client, pb.SubscribeRequest(), policy, from_seq=0)
    assert next(stream).seq.tolist() == [0]
    with pytest.raises(ReconnectError) as info:
        next(stream)
    err = info.value
    assert isinstance(err, RemoteError) and err.code == grpc.StatusCode.UNAVAILABLE
    assert err.last_seq == 0 and err.attempts >= 3
    assert "from_seq=1" in str(err) and "Socket closed" in str(err)


def test_resume_raises_errors_it_cannot_fix_at_once():
    bad = FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "unknown symbol 'X'")
    client = FakeClient([FakeCall(frames([[0]]), UNAVAILABLE), bad])
    stream = ResumingBatchStream(client, pb.SubscribeRequest(), FAST, from_seq=0)
    assert next(stream).seq.tolist() == [0]
    with pytest.raises(mdstream.InvalidArgumentError):
        next(stream)


def test_cancel_ends_a_stream_waiting_to_reconnect():
    client = FakeClient([UNAVAILABLE] * 1000)
    stream = ResumingBatchStream(client, pb.SubscribeRequest(),
                                 Reconnect(initial_backoff=0.5, max_backoff=0.5), from_seq=0)
    done = []
    t = threading.Thread(target=lambda: done.append(list(stream)))
    t.start()
    assert gjs_wait(lambda: stream.attempts >= 1)
    stream.cancel()
    t.join(10)
    assert not t.is_alive() and done == [[]]


def test_reconnect_settings_are_checked():
    with pytest.raises(mdstream.InvalidArgumentError):
        Reconnect(initial_backoff=3, max_backoff=1)
    with pytest.raises(mdstream.InvalidArgumentError):
        Reconnect(give_up_after=0)


def test_async_client_snapshot_first(make_server):
    import asyncio

    from mdstream.grpc.client import AsyncClient

    engine = mdstream.Engine(symbols=SYMBOLS)
    server = make_server(engine, start_engine=True)
    ticks = gjs.tick_stream(3000)
    ref = gjs.reference_results(ticks)
    gjs.publish(engine, ticks[:2000])
    assert gjs_wait(lambda: engine.snapshot().as_of_seq == 1999)

    async def main():
        async with AsyncClient(server.address) as client:
            stream = client.stream_batches(["AAA", "CCC"], snapshot=True, max_wait=0.0)
            snap = await stream.read_snapshot()
            gjs.publish(engine, ticks[2000:])
            rows = []
            async for batch in stream:
                rows.append(batch.rows)
                if batch.seq[-1] >= 2990:
                    break
            stream.cancel()
            return snap, np.concatenate(rows)

    snap, live = asyncio.run(main())
    assert snap.as_of_seq == 1999
    want = last_per_symbol(ref, 1999, ["AAA", "CCC"])
    assert snap.results.seq.tolist() == want
    gjs.assert_same_analytics(snap.results.rows, ref[want])
    assert snap.results.symbol_names().tolist() == ["AAA", "CCC"]
    expected = [i for i in range(2000, 3000) if SYMBOLS[ref["symbol_id"][i]] in ("AAA", "CCC")]
    assert live["seq"].tolist() == [s for s in expected if s <= live["seq"][-1]]
    assert live["seq"][-1] >= 2990
