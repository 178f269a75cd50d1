"""kill -9 of a journaling server during writes, restart on the same journal,
and clients that resume: by hand from their last sequence number, and by
themselves (resume=True) across the restarts.

The server is a real process (grpc_journal_server.py) that publishes a
deterministic tick stream, continuing after each restart where its journal
ends, so the whole stream must equal reference_results() of those ticks:
every sequence number exactly once, every value as an uninterrupted engine
computes it.
"""

from __future__ import annotations

import random
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import numpy as np
import pytest

from mdstream import RESULT_DTYPE, _core
from mdstream.grpc.client import Client, RemoteError
from mdstream.errors import JournalCorruptError
from mdstream.journal import list_segments
from mdstream.grpc.resume import Reconnect

import grpc_journal_server as gjs

HERE = Path(__file__).parent
TOTAL = 60_000
TICKS = gjs.tick_stream(TOTAL)
REFERENCE = gjs.reference_results(TICKS)
SEGMENT_BYTES = 1 << 17                  # ~700 results a segment: many rolls


class ServerProcess:
    """grpc_journal_server.py on a journal directory; start() again after a kill."""

    def __init__(self, directory: Path, logs: Path, **options):
        self.directory = directory
        self.logs = logs
        self.options = options
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts: list[tuple[int, int]] = []      # (next_seq, torn bytes cut) of each start

    def start(self, same_port: bool = False) -> int:
        """Start (on the previous port if same_port); returns the journal's next seq."""
        cmd = [sys.executable, str(HERE / "grpc_journal_server.py"), "--journal", str(self.directory),
               "--total", str(TOTAL), "--segment-bytes", str(SEGMENT_BYTES),
               "--port", str(self.port if same_port else 0)]
        for name, value in self.options.items():
            cmd += [f"--{name.replace('_', '-')}", str(value)]
        log = open(self.logs / f"server-{len(self.starts)}.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=HERE)
        log.close()
        line = self._readline(30)
        assert line.startswith("ready"), (line, self._log())
        _, port, next_seq, torn = line.split()
        self.port = int(port)
        self.starts.append((int(next_seq), int(torn)))
        return int(next_seq)

    def _readline(self, timeout: float) -> str:
        box = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0] if box else ""

    def _log(self) -> str:
        return (self.logs / f"server-{len(self.starts)}.log").read_text()[-2000:]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """kill -9, and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)
            self.proc.stdout.close()

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), kill -9 if it does not end."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


@pytest.fixture
def server(tmp_path):
    servers = []

    def make(**options) -> ServerProcess:
        s = ServerProcess(tmp_path / "journal", tmp_path, **options)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


JOURNAL_MAGIC = 0x424A444D           # a block header: magic, count, first_seq, record
HEADER = struct.Struct("<IIqIII")        # size, payload CRC, flags; then the header's CRC


def tear_the_tail(directory: Path, rng: random.Random, where: str) -> int:
    """Append to the newest segment what a kill in the middle of writing the
    next block leaves (cut inside its header or inside one of its records);
    returns the bytes appended (0 if the kill itself left a torn tail)."""
    first, path = list_segments(directory)[-1]
    scanner = _core.SegmentScanner(str(path), first)
    try:
        while scanner.next_block() is not None:
            pass
    except JournalCorruptError as exc:
        assert exc.torn, exc
        return 0
    finally:
        scanner.close()
    seq, count, size = scanner.expected_seq, 40, RESULT_DTYPE.itemsize
    rows = REFERENCE[seq:seq + count].copy()
    rows["seq"] = np.arange(seq, seq + len(rows))
    payload = rows.tobytes()
    header = HEADER.pack(JOURNAL_MAGIC, len(rows), seq, size, _core.crc32c(payload), 0)
    block = header + struct.pack("<I", _core.crc32c(header)) + payload
    if where == "header":
        cut = rng.randrange(1, 32)
    else:
        cut = 32 + rng.randrange(0, len(rows) - 1) * size + rng.randrange(1, size)
    with open(path, "ab") as f:
        f.write(block[:cut])
    return cut


def check_stream(rows: np.ndarray) -> None:
    assert rows["seq"].tolist() == list(range(TOTAL)), "not every seq exactly once"
    gjs.assert_same_analytics(rows, REFERENCE)


def full_replay(address: str) -> np.ndarray:
    with Client(address) as client:
        return np.concatenate([b.rows for b in client.stream_batches(policy="block", from_seq=0,
                                                                     max_ticks_per_frame=16384)])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("durability", ["write", "fsync"])
def test_kill_9_during_writes_then_resume_from_the_last_seq(server, durability):
    """Three kills at random moments; after each, the remains of a block
    write cut short (inside a header, inside a record) are added to the
    journal's tail, as a kill in the middle of that write() leaves them."""
    rng = random.Random(durability)
    srv = server(durability=durability, pace=30_000)
    assert srv.start() == 0
    parts: list[np.ndarray] = []
    last = -1
    kills = 3
    for round_ in range(kills + 1):
        client = Client(srv.address)
        stream = client.stream_batches(policy="block", from_seq=last + 1, max_wait=0.0)
        killer = None
        if round_ < kills:
            # At a random moment while the server writes (paced: it cannot be done yet).
            killer = threading.Timer(rng.uniform(0.15, 0.5), srv.kill)
            killer.start()
        try:
            for batch in stream:
                parts.append(batch.rows)
                if len(batch):
                    last = int(batch.seq[-1])
            assert round_ == kills, "the stream ended with OK while the server was being killed"
        except RemoteError as exc:
            assert round_ < kills, exc
            assert exc.code == grpc.StatusCode.UNAVAILABLE
        finally:
            if killer is not None:
                killer.join()
            client.close()
        if round_ < kills:
            torn = tear_the_tail(srv.directory, rng, "header" if round_ == 0 else "record")
            next_seq = srv.start()
            assert last < next_seq < TOTAL      # killed during writes; nothing seen was lost
            if torn:
                assert srv.starts[-1][1] == torn    # the restart cut exactly the torn block
    rows = np.concatenate(parts)
    check_stream(rows)
    # The journal after all the kills, read back in full, is the same stream.
    check_stream(full_replay(srv.address))


@pytest.mark.timeout(120)
def test_resuming_clients_ride_through_kill_9_and_restarts(server):
    rng = random.Random(5)
    # As fast as it goes, once both clients are connected: they hold it back
    # (policy block), so it is still writing when it is killed.
    srv = server(pace=0, wait_streams=2)
    srv.start()
    client = Client(srv.address)
    policy = Reconnect(initial_backoff=0.02, max_backoff=0.5, give_up_after=30)
    batches = client.stream_batches(policy="block", from_seq=0, resume=policy, max_wait=0.0)
    results = client.stream_results(["BBB"], "block", from_seq=0, resume=policy)
    out: dict = {"batches": [], "results": []}

    def drain(name, stream):
        try:
            for item in stream:
                out[name].append(item)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            out[name + "_error"] = exc

    threads = [threading.Thread(target=drain, args=("batches", batches)),
               threading.Thread(target=drain, args=("results", results))]
    for t in threads:
        t.start()
    try:
        seen = 0
        kills = 0
        for k in range(3):
            # Kill once the batch client is well past the restart (the per-result
            # client trails it, often replaying), keep the server down a moment,
            # restart it on the same port.
            target = rng.randrange(seen + 2000, seen + 12_000)
            if target >= TOTAL:
                break
            assert wait_for(lambda: batches.last_seq is not None and batches.last_seq >= target,
                            out), f"the client stalled before seq {target}"
            srv.kill()
            kills += 1
            threading.Event().wait(rng.uniform(0.0, 0.4))
            seen = srv.start(same_port=True)
            assert target <= seen <= TOTAL
            if seen == TOTAL:       # everything was journaled before this kill
                break
        assert kills >= 1
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    finally:
        batches.cancel()
        results.cancel()
        for t in threads:
            t.join(10)
        client.close()
    assert "batches_error" not in out and "results_error" not in out, out
    check_stream(np.concatenate([b.rows for b in out["batches"]]))
    assert all(b.gap is None for b in out["batches"])
    assert (batches.reconnects, batches.gaps, batches.duplicates) == (kills, 0, 0)

    bbb = np.flatnonzero(REFERENCE["symbol_id"] == gjs.SYMBOLS.index("BBB"))
    msgs = out["results"]
    assert [m.seq for m in msgs] == bbb.tolist()
    assert all(m.missed_before == 0 and m.symbol == "BBB" for m in msgs)
    np.testing.assert_array_equal([m.vwap for m in msgs], REFERENCE["vwap"][bbb])
    np.testing.assert_array_equal([m.volume for m in msgs], REFERENCE["volume"][bbb])
    # (it may not have received anything between two kills: fewer reconnects)
    assert 1 <= results.reconnects <= kills and (results.gaps, results.duplicates) == (0, 0)


def wait_for(predicate, out: dict, timeout: float = 60.0) -> bool:
    """Poll until predicate() (False at once if a client failed)."""
    stop = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        if "batches_error" in out or "results_error" in out:
            return False
        stop.wait(0.01)
    return False


@pytest.mark.timeout(120)
def test_async_resuming_stream_rides_through_kill_9_and_a_restart(server):
    """AsyncClient.stream_batches(resume=True): the same resume logic as the
    sync client's, across a kill -9 of the server and a restart on its journal."""
    import asyncio

    from mdstream.grpc.aio import AsyncClient

    srv = server(pace=30_000)
    srv.start()
    policy = Reconnect(initial_backoff=0.02, max_backoff=0.5, give_up_after=30)

    async def main():
        parts, restarted = [], None
        async with AsyncClient(srv.address) as client:
            stream = client.stream_batches(policy="block", from_seq=0, resume=policy, max_wait=0.0)
            async for batch in stream:
                parts.append(batch.rows)
                if restarted is None and stream.last_seq >= 5000:
                    srv.kill()
                    await asyncio.sleep(0.2)
                    restarted = await asyncio.to_thread(srv.start, True)
            return parts, restarted, stream

    parts, restarted, stream = asyncio.run(main())
    assert restarted is not None and 5000 <= restarted < TOTAL    # killed during writes
    check_stream(np.concatenate(parts))
    assert (stream.reconnects, stream.gaps, stream.duplicates) == (1, 0, 0)
    assert stream.stats()["received"] == TOTAL


@pytest.mark.timeout(120)
def test_async_resuming_result_stream_rides_through_kill_9_and_a_restart(server):
    """AsyncClient.stream_results(resume=True): every result of one symbol
    exactly once, with the reference analytics, across a kill -9 and a restart."""
    import asyncio

    from mdstream.grpc.aio import AsyncClient

    srv = server(pace=30_000)
    srv.start()
    policy = Reconnect(initial_backoff=0.02, max_backoff=0.5, give_up_after=30)

    async def main():
        msgs, restarted = [], None
        async with AsyncClient(srv.address) as client:
            stream = client.stream_results(["BBB"], "block", from_seq=0, resume=policy)
            async for msg in stream:
                msgs.append(msg)
                if restarted is None and msg.seq >= 5000:
                    srv.kill()
                    await asyncio.sleep(0.2)
                    restarted = await asyncio.to_thread(srv.start, True)
            return msgs, restarted, stream

    msgs, restarted, stream = asyncio.run(main())
    assert restarted is not None and 5000 <= restarted < TOTAL    # killed during writes
    bbb = np.flatnonzero(REFERENCE["symbol_id"] == gjs.SYMBOLS.index("BBB"))
    assert [m.seq for m in msgs] == bbb.tolist()
    assert all(m.missed_before == 0 and m.symbol == "BBB" for m in msgs)
    np.testing.assert_array_equal([m.vwap for m in msgs], REFERENCE["vwap"][bbb])
    assert (stream.reconnects, stream.gaps, stream.duplicates) == (1, 0, 0)
