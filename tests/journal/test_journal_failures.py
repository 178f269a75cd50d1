"""A journal that cannot be written is loud and recoverable (in process).

The journal's file system fills up (disk_full.py: a 2 MiB tmpfs as root,
else RLIMIT_FSIZE): subscriptions end with JournalUnavailableError naming
the file and the OS error in words, engine.stats().journal.error says the
same, the log says it once; with on_error="retry" intake resumes once there
is room again, and a subscription resuming from last_seq + 1 continues with
no gap and no duplicate, every value as an uninterrupted engine computes
it; with on_error="stop" the engine stops taking ticks for good.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

import mdstream
from mdstream.errors import JournalError, JournalUnavailableError
from mdstream.journal import JournalConfig

from disk_full import DiskFull, tmpfs_allowed
from helpers import SYMBOLS, assert_same_analytics, collect, publish_ticks, reference_results, tick_stream

TOTAL = 30_000                       # ~5.5 MB of results: more than the 2 MiB of room
TICKS = tick_stream(TOTAL)
REFERENCE = reference_results(TICKS)


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def read_until_error(sub: mdstream.Subscription, timeout: float = 20.0):
    """Every seq a subscription delivers until it fails; (seqs, the error)."""
    seqs = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            batch = sub.next_batch(timeout=1.0)
        except mdstream.MDStreamError as exc:
            return np.concatenate(seqs) if seqs else np.zeros(0, np.int64), exc
        if batch is not None:
            seqs.append(batch.rows["seq"].copy())
    raise AssertionError("the subscription did not fail")


@pytest.fixture(params=["tmpfs", "fsize"])
def disk_kind(request, tmp_path):
    if request.param == "tmpfs" and not tmpfs_allowed(tmp_path):
        pytest.skip("cannot mount a tmpfs here (not root, or not allowed); the fsize case runs")
    return request.param


def test_a_full_journal_fails_subscriptions_loudly_and_retry_resumes(tmp_path, caplog, disk_kind):
    caplog.set_level(logging.WARNING, logger="mdstream.journal")
    with DiskFull(tmp_path, disk_kind) as disk:
        config = JournalConfig(disk.directory, retry_interval=0.05)
        # A ring smaller than the results to come: intake has to wait for the journal.
        engine = mdstream.Engine(symbols=SYMBOLS, journal=config, ring_size=1 << 12).start()
        try:
            sub = engine.subscribe()
            publisher = threading.Thread(target=publish_ticks, args=(engine, TICKS), daemon=True)
            publisher.start()
            seqs, error = read_until_error(sub)

            # The subscription ends with the file and the OS error in words, not StreamEnded.
            assert isinstance(error, JournalUnavailableError) and isinstance(error, JournalError)
            assert not isinstance(error, EOFError)
            assert error.errno == disk.errno and error.retrying
            assert str(disk.directory) in str(error) and disk.words in str(error)
            assert error.path.startswith(str(disk.directory))
            assert np.array_equal(seqs, np.arange(len(seqs)))        # all up to the failure
            stats = engine.stats().journal
            assert disk.words in stats.error and str(disk.directory) in stats.error
            assert stats.failures == 1 and engine.journal_error == stats.error
            # Nothing is published past what is journaled, and intake waits.
            assert engine.stats().results == stats.written_seq == len(seqs)
            assert publisher.is_alive()
            # Once, not once per attempt (the writer has retried many times by now).
            time.sleep(0.5)
            errors = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert len(errors) == 1, [r.getMessage() for r in errors]
            assert disk.words in errors[0].getMessage()
            assert str(disk.directory) in errors[0].getMessage()

            disk.make_room()
            assert wait_until(lambda: engine.journal_error == ""), "the writer did not recover"
            publisher.join(30)
            assert not publisher.is_alive(), "intake did not resume once there was room"
            resumed = engine.subscribe(from_seq=len(seqs))
            rest = collect(resumed, TOTAL - len(seqs))
            resumed.close()
            everything = np.concatenate([seqs, rest["seq"]])
            assert np.array_equal(everything, np.arange(TOTAL))      # no gap, no duplicate
            stats = engine.stats().journal
            assert stats.error == "" and disk.words in stats.last_error
            assert wait_until(lambda: any("writing again" in r.getMessage() for r in caplog.records))
            sub.close()
        finally:
            engine.stop()
        # What the journal holds is whole: every result once, none torn or cut.
        again = mdstream.Engine(symbols=SYMBOLS, journal=config)
        assert again.recovery.next_seq == TOTAL and again.recovery.torn_bytes_cut == 0
        sub = again.subscribe(from_seq=0)
        assert_same_analytics(collect(sub, TOTAL), REFERENCE)
        sub.close()
        again.stop()


def test_on_error_stop_ends_intake_for_good(tmp_path):
    with DiskFull(tmp_path) as disk:
        config = JournalConfig(disk.directory, on_error="stop")
        engine = mdstream.Engine(symbols=SYMBOLS, journal=config).start()
        try:
            sub = engine.subscribe()
            publisher = threading.Thread(target=lambda: _publish_quietly(engine), daemon=True)
            publisher.start()
            seqs, error = read_until_error(sub)
            assert isinstance(error, JournalUnavailableError) and not error.retrying
            assert "for good" in str(error) and disk.words in str(error)
            disk.make_room()
            publisher.join(10)
            assert not publisher.is_alive()
            assert engine.stats().results == len(seqs)               # nothing more came
            assert disk.words in engine.stats().journal.error
            with pytest.raises(JournalUnavailableError):             # a new one fails too
                engine.subscribe(from_seq=len(seqs)).next_batch(timeout=1.0)
        finally:
            engine.stop()


def _publish_quietly(engine) -> None:
    try:
        publish_ticks(engine, TICKS)
    except mdstream.MDStreamError:
        pass                            # intake stopped for good: the point of the test


def test_a_deleted_journal_directory_fails_loudly(tmp_path):
    """Deleting the directory fails the next new file (a segment or a state
    file): ENOENT, named, not a silent end."""
    config = JournalConfig(tmp_path / "j", segment_bytes=1 << 16, retry_interval=0.05)
    engine = mdstream.Engine(symbols=SYMBOLS, journal=config).start()
    try:
        sub = engine.subscribe()
        import shutil
        shutil.rmtree(tmp_path / "j")
        publisher = threading.Thread(target=_publish_quietly, args=(engine,), daemon=True)
        publisher.start()
        _, error = read_until_error(sub)
        assert isinstance(error, JournalUnavailableError)
        assert "No such file or directory" in str(error) and str(tmp_path / "j") in str(error)
        assert "No such file or directory" in engine.stats().journal.error
    finally:
        engine.stop()


def test_stream_id_is_the_journals_and_new_without_one(tmp_path):
    a, b = mdstream.Engine(symbols=SYMBOLS), mdstream.Engine(symbols=SYMBOLS)
    assert a.stream_id != b.stream_id and len(a.stream_id) == 32
    assert a.stats().stream_id == a.stream_id
    first = mdstream.Engine(symbols=SYMBOLS, journal=tmp_path / "j")
    first.stop()
    second = mdstream.Engine(symbols=SYMBOLS, journal=tmp_path / "j")
    assert second.stream_id == first.stream_id                       # kept in journal.json
    second.stop()
    other = mdstream.Engine(symbols=SYMBOLS, journal=tmp_path / "k")
    assert other.stream_id != first.stream_id
    other.stop()
