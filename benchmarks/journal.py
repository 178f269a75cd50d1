"""The journal: what journaling costs in throughput, and how fast a journal
is read back.

Journaling cost: Engine(SimulatedFeed(rate=0, count=N)) with one 'block'
subscription reading NumPy batches (and checking the sequence numbers have
no gap), from start() until the subscriber has the N-th result; ticks/s for
each durability setting of JournalConfig ("write", "interval" with the
default 100 ms, "fsync"), against the same engine without a journal (the
baseline). Every journaled run writes to a fresh directory, removed after
it. Runs alternate (none, write, interval, fsync, none, ...).

Replay speed: a journal of N results is written once; then
- ``replay_inprocess``: engine.subscribe(from_seq=0) on an engine opened on
  it reads all N back (ticks/s);
- ``replay_grpc``: a server process opened on it (the journal only, no
  feed) and a StreamBatches(from_seq=0, 16384 ticks a frame) client in this
  process decoding the frames into NumPy batches, until the N-th result.
The ring holds 65536 results, so nearly all of it comes from the files.

    python -m benchmarks.journal                 # N = 2,000,000
    python -m benchmarks.journal --quick         # N = 200,000
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mdstream.benchmarking import CpuClock, result_line

NAME = "journal"
N_SYMBOLS = 8
SYMBOLS = [f"SYM{i}" for i in range(N_SYMBOLS)]
DURABILITIES = ("write", "interval", "fsync")

_SERVER = """
import sys
import mdstream
from mdstream.grpc.server import Server
engine = mdstream.Engine(symbols={symbols!r}, journal=sys.argv[1])
server = Server(engine, "127.0.0.1", 0).start()
engine.start()
print(server.port, engine.recovery.next_seq, flush=True)
sys.stdin.read()
server.stop(0.5)
engine.stop()
"""


def _engine(n: int, journal=None):
    import mdstream

    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, seed=7, count=n)
    return mdstream.Engine(feed=feed, workers=2, journal=journal)


def ticks_per_s(n: int, durability: str | None, root: Path) -> dict:
    """N ticks through an engine (journaling with `durability`, or not) to one subscriber."""
    from mdstream.journal import JournalConfig

    directory = Path(tempfile.mkdtemp(prefix="journal-", dir=root))
    try:
        journal = None if durability is None else JournalConfig(directory, durability=durability)
        engine = _engine(n, journal)
        sub = engine.subscribe(policy="block", max_ticks_per_frame=4096)
        got = gaps = 0
        with CpuClock() as clock:
            engine.start()
            while got < n:
                b = sub.next_batch(timeout=30)
                seq = b.seq
                if seq[0] != got or seq[-1] - seq[0] + 1 != len(seq):
                    gaps += 1
                b.price.sum()
                got += len(b)
        status = engine.journal_status()
        engine.stop()
        return {"rate": n / clock.wall, "cpu_cores": clock.cpu / clock.wall, "seq_gaps": gaps,
                "fsyncs": status["fsyncs"] if status else 0,
                "bytes": status["bytes"] if status else 0}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_journal(n: int, directory: Path) -> None:
    engine = _engine(n, directory)
    engine.start()
    if not engine.wait(600):
        raise RuntimeError("writing the journal took too long")
    engine.stop()


def replay_inprocess(n: int, directory: Path) -> float:
    import mdstream

    engine = mdstream.Engine(symbols=SYMBOLS, journal=directory)
    try:
        t0 = time.perf_counter()
        sub = engine.subscribe(from_seq=0, max_ticks_per_frame=16384)
        got = 0
        while got < n:
            b = sub.next_batch(timeout=30)
            if b.seq[0] != got:
                raise AssertionError(f"replay gap at {got}")
            got += len(b)
        dt = time.perf_counter() - t0
        sub.close()
    finally:
        engine.stop()
    return n / dt


def replay_grpc(n: int, directory: Path) -> float:
    from mdstream.grpc.client import Client

    proc = subprocess.Popen([sys.executable, "-c", _SERVER.format(symbols=SYMBOLS), str(directory)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port, next_seq = map(int, proc.stdout.readline().split())
        if next_seq != n:
            raise AssertionError(f"the journal holds {next_seq} results, expected {n}")
        with Client(f"127.0.0.1:{port}") as client:
            client.wait_ready(30, fail_fast=False)
            t0 = time.perf_counter()
            stream = client.stream_batches(policy="block", from_seq=0, max_ticks_per_frame=16384,
                                           max_wait=0.0)
            got = 0
            for b in stream:
                if b.seq[0] != got:
                    raise AssertionError(f"replay gap at {got}")
                got += len(b)
                if got >= n:
                    break
            dt = time.perf_counter() - t0
            stream.cancel()
    finally:
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return n / dt


def run(opts, machine):
    n = 200_000 if opts.quick else 2_000_000
    root = Path(tempfile.mkdtemp(prefix="mdstream-bench-journal-"))
    try:
        runs: dict = {d: [] for d in (None, *DURABILITIES)}
        for _ in range(opts.repeat):
            for d in runs:
                runs[d].append(ticks_per_s(n, d, root))
        params = {"ticks": n, "workers": 2, "symbols": N_SYMBOLS, "feed": "SimulatedFeed(rate=0)",
                  "policy": "block", "max_ticks_per_frame": 4096, "segment_bytes": 64 << 20}
        base = [r["rate"] for r in runs[None]]
        for d in DURABILITIES:
            extra = {"cpu_cores": statistics.median(r["cpu_cores"] for r in runs[d]),
                     "baseline_cpu_cores": statistics.median(r["cpu_cores"] for r in runs[None]),
                     "fsyncs": statistics.median(r["fsyncs"] for r in runs[d]),
                     "journal_bytes": runs[d][0]["bytes"],
                     "seq_gaps": sum(r["seq_gaps"] for r in runs[d])}
            yield result_line(NAME, f"throughput_{d}", "ticks/s",
                              {**params, "durability": d,
                               **({"fsync_interval": 0.1} if d == "interval" else {})},
                              [r["rate"] for r in runs[d]], base,
                              "the same engine without a journal", extra=extra, machine=machine)

        directory = root / "replay"
        write_journal(n, directory)
        size = sum(p.stat().st_size for p in directory.glob("*.mdj"))
        local, remote = [], []
        for _ in range(opts.repeat):
            local.append(replay_inprocess(n, directory))
            remote.append(replay_grpc(n, directory))
        params = {"results": n, "journal_bytes": size, "symbols": N_SYMBOLS, "from_seq": 0}
        yield result_line(NAME, "replay_inprocess", "ticks/s",
                          {**params, "max_ticks_per_frame": 16384}, local, machine=machine)
        yield result_line(NAME, "replay_grpc", "ticks/s",
                          {**params, "rpc": "StreamBatches", "max_ticks_per_frame": 16384,
                           "transport": "loopback TCP", "client": "mdstream.Client, NumPy batches"},
                          remote, machine=machine)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
