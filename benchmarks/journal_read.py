"""Reading a journal without an engine: JournalReader and `mdstream journal
export`, each against what it took before (an engine opened on the journal).

A journal of N results (SimulatedFeed, 8 symbols, 64 MiB segments) is
written once; then, alternating runs:

- ``reader``: JournalReader(dir).batches() reads all N (every block's
  CRC-32C checked), results/s; baseline: an Engine opened on the journal
  (lock, settings check, recovery of the analytics state) and
  engine.subscribe(from_seq=0) reading all N back, the only way to read a
  journal before JournalReader, timed from opening the engine;
- ``export_parquet``: the journal to Parquet as `mdstream journal export`
  does (ParquetRecorder, kind partitions, zstd), results/s; baseline: the
  same recorder fed by the engine's replay subscription (`record()`);
- ``metrics_scrape``: one scrape of /metrics (with the latency histograms
  made from the core's counts) of an engine that ran N ticks, ms per scrape
  (lower is better); no baseline.

    python -m benchmarks journal_read            # N = 2,000,000
    python -m benchmarks journal_read --quick    # N = 200,000
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mdstream.benchmarking import result_line

NAME = "journal_read"
N_SYMBOLS = 8
SYMBOLS = [f"SYM{i}" for i in range(N_SYMBOLS)]


def write_journal(n: int, directory: Path) -> None:
    import mdstream

    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, seed=7, count=n)
    engine = mdstream.Engine(feed=feed, workers=2, journal=directory)
    engine.start()
    if not engine.wait(600):
        raise RuntimeError("writing the journal took too long")
    engine.stop()


def read_with_reader(n: int, directory: Path) -> float:
    from mdstream.journal import JournalReader

    t0 = time.perf_counter()
    got = 0
    for batch in JournalReader(directory).batches():
        if batch.seq[0] != got:
            raise AssertionError(f"gap at {got}")
        got += len(batch)
    dt = time.perf_counter() - t0
    if got != n:
        raise AssertionError(f"read {got} of {n}")
    return n / dt


def _replay(directory: Path):
    """An engine on the journal and a subscription from seq 0 (the old way)."""
    import mdstream

    engine = mdstream.Engine(symbols=SYMBOLS, journal=directory)
    return engine, engine.subscribe(from_seq=0, max_ticks_per_frame=65_536)


def read_with_engine(n: int, directory: Path) -> float:
    t0 = time.perf_counter()
    engine, sub = _replay(directory)
    try:
        got = 0
        while got < n:
            b = sub.next_batch(timeout=30)
            if b.seq[0] != got:
                raise AssertionError(f"gap at {got}")
            got += len(b)
        dt = time.perf_counter() - t0
        sub.close()
    finally:
        engine.stop()
    return n / dt


def export_with_reader(n: int, directory: Path, out: Path) -> float:
    from mdstream.journal import JournalReader
    from mdstream.record import ParquetRecorder

    t0 = time.perf_counter()
    with ParquetRecorder(out, flush_interval=0) as rec:
        for batch in JournalReader(directory).batches():
            rec.write(batch)
    dt = time.perf_counter() - t0
    if rec.stats()["rows"] != n:
        raise AssertionError(f"exported {rec.stats()['rows']} of {n}")
    shutil.rmtree(out)
    return n / dt


def export_with_engine(n: int, directory: Path, out: Path) -> float:
    from mdstream.record import ParquetRecorder

    t0 = time.perf_counter()
    engine, sub = _replay(directory)
    try:
        with ParquetRecorder(out, flush_interval=0) as rec:
            while rec.stats()["buffered"] + rec.stats()["rows"] < n:
                b = sub.next_batch(timeout=30)
                rec.write(b)
        dt = time.perf_counter() - t0
        sub.close()
    finally:
        engine.stop()
    if rec.stats()["rows"] != n:
        raise AssertionError(f"recorded {rec.stats()['rows']} of {n}")
    shutil.rmtree(out)
    return n / dt


def scrape_ms(n: int, repeat: int) -> list[float]:
    import mdstream
    from mdstream.observe.metrics import start_metrics_server

    feed = mdstream.SimulatedFeed(symbols=SYMBOLS, rate=0, seed=7, count=n)
    engine = mdstream.Engine(feed=feed, workers=2)
    sub = engine.subscribe()
    server, _ = start_metrics_server(engine, 0)
    try:
        with engine:
            for _ in sub:
                pass
            url = f"http://127.0.0.1:{server.server_port}/metrics"
            urllib.request.urlopen(url, timeout=10).read()            # warm up
            runs = []
            for _ in range(max(repeat, 5)):
                t0 = time.perf_counter()
                urllib.request.urlopen(url, timeout=10).read()
                runs.append((time.perf_counter() - t0) * 1000)
    finally:
        server.shutdown()
        server.server_close()
    return runs


def run(opts, machine):
    n = 200_000 if opts.quick else 2_000_000
    root = Path(tempfile.mkdtemp(prefix="mdstream-bench-journal-read-"))
    try:
        directory = root / "journal"
        write_journal(n, directory)
        size = sum(p.stat().st_size for p in directory.glob("*.mdj"))
        params = {"results": n, "journal_bytes": size, "symbols": N_SYMBOLS, "from_seq": 0}
        reader, engine = [], []
        for _ in range(opts.repeat):
            reader.append(read_with_reader(n, directory))
            engine.append(read_with_engine(n, directory))
        yield result_line(NAME, "reader", "results/s", {**params, "max_results": 4_096},
                          reader, engine,
                          "an engine opened on the journal, subscribe(from_seq=0)",
                          extra={"MB_per_s_median": round(
                              sorted(reader)[len(reader) // 2] * size / n / 1e6, 1)},
                          machine=machine)
        exported, recorded = [], []
        for _ in range(opts.repeat):
            exported.append(export_with_reader(n, directory, root / "export"))
            recorded.append(export_with_engine(n, directory, root / "record"))
        yield result_line(NAME, "export_parquet", "results/s",
                          {**params, "partition_by": "kind", "compression": "zstd"},
                          exported, recorded,
                          "ParquetRecorder fed by an engine's replay subscription",
                          machine=machine)
        yield result_line(NAME, "metrics_scrape", "ms", {"ticks": n, "stages": 4,
                                                         "buckets_per_stage": 23},
                          scrape_ms(n, opts.repeat), higher_is_better=False, machine=machine)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
