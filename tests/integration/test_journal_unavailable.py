"""A server whose journal cannot be written says so, and recovers.

The journal's file system fills up (tests/journal/disk_full.py: a 2 MiB tmpfs
as root, else RLIMIT_FSIZE). Streams end with UNAVAILABLE /
JOURNAL_UNAVAILABLE and a message naming the file and the OS error in words;
health says NOT_SERVING; GetStats carries the error text; the log says it
once. With the default (retry), once there is room again intake resumes,
health is SERVING again, and a resuming client goes on with no gap and no
duplicate. `mdstream serve --on-journal-error exit` exits non-zero.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mdstream.errors import JournalUnavailableError
from mdstream.grpc.resume import Reconnect
from mdstream.journal import JournalConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "journal"))
from disk_full import DiskFull, fsize_limited  # noqa: E402

TOTAL = 30_000


def publish(engine, n: int, symbols) -> None:
    """n trades, round robin over symbols, in batches."""
    for start in range(0, n, 500):
        k = min(500, n - start)
        names = [symbols[i % len(symbols)] for i in range(start, start + k)]
        engine.publish_trades(names, np.full(k, 100.0) + np.arange(k) * 0.01, np.ones(k))


def health_of(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5).status


def test_a_full_journal_ends_streams_unavailable_and_the_server_recovers(
        tmp_path, caplog, helpers, make_server, make_client):
    caplog.set_level(logging.WARNING, logger="mdstream.journal")
    with DiskFull(tmp_path) as disk:
        engine = helpers.publish_engine(ring_size=1 << 12, channel_capacity=1 << 10, journal=JournalConfig(
            disk.directory, retry_interval=0.05))
        server = make_server(engine)
        engine.start()
        client = make_client(server)
        assert health_of(server.address) == health_pb2.HealthCheckResponse.SERVING

        # A resuming client reads everything, across the failure.
        seqs: list[np.ndarray] = []
        resuming = client.stream_batches(policy="block", from_seq=0, resume=Reconnect(
            initial_backoff=0.05, max_backoff=0.2, give_up_after=60))

        def read_all() -> None:
            for batch in resuming:
                seqs.append(batch.rows["seq"].copy())
                if sum(map(len, seqs)) >= TOTAL:
                    return

        reader = threading.Thread(target=read_all, daemon=True)
        reader.start()
        plain = client.stream_batches(policy="block", from_seq=0)
        helpers.wait_for_streams(server, 2)
        publisher = threading.Thread(target=publish, args=(engine, TOTAL, helpers.SYMBOLS),
                                     daemon=True)
        publisher.start()

        # A plain stream ends with UNAVAILABLE, the file and the error in words.
        with pytest.raises(JournalUnavailableError) as failed:
            for _ in plain:
                pass
        exc = failed.value
        assert exc.code == grpc.StatusCode.UNAVAILABLE
        # The file and the OS error in words; the server's paths stay in its log.
        assert disk.words in str(exc) and ".mdj" in str(exc)
        assert str(disk.directory) not in str(exc) and exc.errno == disk.errno
        assert exc.path.endswith(".mdj") and "/" not in exc.path
        assert helpers.wait_until(lambda: health_of(server.address)
                                  == health_pb2.HealthCheckResponse.NOT_SERVING)
        stats = client.get_stats()
        assert disk.words in stats.journal.error and str(disk.directory) not in stats.journal.error
        assert stats.journal.failures == 1
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and disk.words in errors[0].getMessage()
        assert str(disk.directory) in errors[0].getMessage()      # the log has the path
        assert publisher.is_alive()                  # intake waits

        disk.make_room()
        publisher.join(30)
        assert not publisher.is_alive(), "intake did not resume"
        reader.join(30)
        assert not reader.is_alive(), f"the resuming client has {sum(map(len, seqs))} results"
        resuming.cancel()
        got = np.concatenate(seqs)
        assert np.array_equal(got, np.arange(TOTAL))          # no gap, no duplicate
        assert resuming.reconnects >= 1 and resuming.duplicates == 0 and resuming.gaps == 0
        assert helpers.wait_until(lambda: health_of(server.address)
                                  == health_pb2.HealthCheckResponse.SERVING)
        assert client.get_stats().journal.error == ""
        assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_serve_on_journal_error_exit_exits_non_zero(tmp_path, helpers):
    """`mdstream serve --on-journal-error exit` on a journal that cannot grow
    past 2 MiB (RLIMIT_FSIZE of the server process: EFBIG)."""
    journal = tmp_path / "journal"
    cmd = helpers.mdstream_command("serve", "--port", "0", "--journal", str(journal),
                                   "--rate", "0", "--on-journal-error", "exit")
    with helpers.popen(fsize_limited(cmd)) as proc:
        try:
            out, err = proc.communicate(timeout=60)
        except Exception:
            proc.kill()
            raise
    assert proc.returncode == 1, (out, err)
    assert "File too large" in err and str(journal) in err, err
    assert "--on-journal-error exit" in err
