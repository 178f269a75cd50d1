"""JournalConfig's settings: one name and one unit (seconds) each, the former
millisecond keyword still accepted with a DeprecationWarning; and the
retention thread."""

from __future__ import annotations

import dataclasses
import threading
import time
import warnings

import pytest

import mdstream
from mdstream.journal import JournalConfig
from mdstream.journal.directory import Journal
from mdstream.journal.retention import RetentionThread


def test_fsync_interval_is_in_seconds_and_the_core_gets_ns(tmp_path):
    config = JournalConfig(tmp_path)
    assert config.fsync_interval == 0.1 and config.fsync_interval_ns == 100_000_000
    config = JournalConfig(tmp_path, durability="interval", fsync_interval=0.005)
    assert config.fsync_interval_ns == 5_000_000
    assert dataclasses.replace(config, durability="fsync").fsync_interval == 0.005
    with pytest.raises(mdstream.InvalidArgumentError, match="fsync_interval must be > 0 seconds"):
        JournalConfig(tmp_path, fsync_interval=0)


def test_fsync_interval_ms_is_a_deprecated_alias(tmp_path):
    with pytest.warns(DeprecationWarning, match="fsync_interval=... in seconds"):
        config = JournalConfig(tmp_path, durability="interval", fsync_interval_ms=5)
    assert config.fsync_interval == 0.005
    assert config == JournalConfig(tmp_path, durability="interval", fsync_interval=0.005)
    with pytest.warns(DeprecationWarning):
        assert config.fsync_interval_ms == 5
    with pytest.warns(DeprecationWarning), pytest.raises(mdstream.InvalidArgumentError, match="not both"):
        JournalConfig(tmp_path, fsync_interval=1.0, fsync_interval_ms=5)
    with pytest.warns(DeprecationWarning), pytest.raises(mdstream.InvalidArgumentError, match="> 0"):
        JournalConfig(tmp_path, fsync_interval_ms=0)


def test_an_interval_journal_fsyncs_at_its_interval(tmp_path):
    config = JournalConfig(tmp_path, durability="interval", fsync_interval=0.01)
    engine = mdstream.Engine(symbols=["A"], journal=config)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)     # nothing uses the old name
        with engine:
            engine.publish_trades("A", 1.0, 1.0)
            deadline = time.monotonic() + 10
            while engine.stats().journal.fsyncs < 2:
                assert time.monotonic() < deadline, "no fsync at the interval"
                engine.publish_trades("A", 1.0, 1.0)
                time.sleep(0.02)
    assert engine.stats().journal.durability == "interval"


def test_no_retention_thread_without_retention(tmp_path):
    journal = Journal(JournalConfig(tmp_path), {"ema_alpha": 0.1, "bar_intervals_ns": []})
    try:
        before = {t.name for t in threading.enumerate()}
        retention = RetentionThread(journal)
        assert "mdstream-retention" not in {t.name for t in threading.enumerate()} - before
        retention.stop()
    finally:
        journal.close()
