"""JournalConfig: how an engine journals its results; RecoveryReport: what a
start on an existing journal found."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

from mdstream import _core
from mdstream.errors import InvalidArgumentError

__all__ = ["JournalConfig", "RecoveryReport", "DEFAULT_FSYNC_INTERVAL_S", "ON_ERROR",
           "DEFAULT_RETRY_INTERVAL_S"]

#: Seconds between fsync() calls with durability "interval".
DEFAULT_FSYNC_INTERVAL_S = 0.1

#: What the journal writer does when it cannot write: "retry" (keep trying
#: every retry_interval; intake waits and resumes once a write succeeds) or
#: "stop" (stop taking ticks for good).
ON_ERROR = ("retry", "stop")

#: Seconds between attempts to write again with on_error="retry".
DEFAULT_RETRY_INTERVAL_S = 0.5


@dataclass(frozen=True, init=False)
class JournalConfig:
    """How an engine journals its results.

    durability:
        ``"write"``: each block is handed to the operating system as it is
        written; everything survives a crash of the process (kill -9), a power
        loss or kernel crash may lose what the OS had not yet written out.
        ``"interval"``: also fsync() every ``fsync_interval`` seconds; a power
        loss loses at most about that much. ``"fsync"``: fsync() every block
        before any subscriber sees it; nothing a subscriber saw is lost to a
        power loss (slowest).
    fsync_interval:
        Seconds between fsync() calls with durability ``"interval"`` (default
        0.1). ``fsync_interval_ms=`` (milliseconds) is its deprecated former
        name, still accepted.
    segment_bytes:
        A segment file is closed and a new one started past this size.
    retain_bytes, retain_age_s:
        Delete the oldest whole segments while the journal is larger than
        retain_bytes, or when their last write is older than retain_age_s
        (None: keep). The active segment is never deleted.
    on_error, retry_interval:
        When the journal cannot be written (a full file system, a directory
        made read-only or deleted, no file descriptor left), subscriptions
        end with JournalUnavailableError naming the file and the OS error,
        and ``engine.stats().journal.error`` says the same. ``"retry"``
        (default): the writer tries again every ``retry_interval`` seconds
        (0.5); intake waits meanwhile (backpressure) and goes on once a write
        succeeds, with nothing lost and nothing written twice. ``"stop"``: the
        engine stops taking ticks for good.
    """

    directory: str | os.PathLike
    durability: str = "write"
    fsync_interval: float = DEFAULT_FSYNC_INTERVAL_S
    segment_bytes: int = 64 << 20
    retain_bytes: int | None = None
    retain_age_s: float | None = None
    on_error: str = "retry"
    retry_interval: float = DEFAULT_RETRY_INTERVAL_S

    def __init__(self, directory: str | os.PathLike, durability: str = "write",
                 fsync_interval: float | None = None, segment_bytes: int = 64 << 20,
                 retain_bytes: int | None = None, retain_age_s: float | None = None, *,
                 fsync_interval_ms: float | None = None, on_error: str = "retry",
                 retry_interval: float = DEFAULT_RETRY_INTERVAL_S):
        if fsync_interval_ms is not None:
            warnings.warn("JournalConfig(fsync_interval_ms=...) is deprecated: use "
                          "fsync_interval=... in seconds", DeprecationWarning, stacklevel=2)
            if fsync_interval is not None:
                raise InvalidArgumentError(
                    "give fsync_interval (seconds) or the deprecated fsync_interval_ms, not both")
            if fsync_interval_ms <= 0:
                raise InvalidArgumentError(f"fsync_interval_ms must be > 0, got {fsync_interval_ms}")
            fsync_interval = fsync_interval_ms / 1000.0
        if fsync_interval is None:
            fsync_interval = DEFAULT_FSYNC_INTERVAL_S
        set_ = object.__setattr__
        set_(self, "directory", directory)
        set_(self, "durability", durability)
        set_(self, "fsync_interval", fsync_interval)
        set_(self, "segment_bytes", segment_bytes)
        set_(self, "retain_bytes", retain_bytes)
        set_(self, "retain_age_s", retain_age_s)
        set_(self, "on_error", on_error)
        set_(self, "retry_interval", retry_interval)
        self._check()

    def _check(self) -> None:
        if self.durability not in _core.DURABILITY:
            raise InvalidArgumentError(
                f"unknown durability {self.durability!r}: choose one of {', '.join(_core.DURABILITY)}")
        if not self.fsync_interval > 0:
            raise InvalidArgumentError(
                f"fsync_interval must be > 0 seconds, got {self.fsync_interval}")
        if self.segment_bytes < 1 << 16:
            raise InvalidArgumentError(f"segment_bytes must be >= 65536, got {self.segment_bytes}")
        if self.retain_bytes is not None and self.retain_bytes <= 0:
            raise InvalidArgumentError("retain_bytes must be > 0 or None")
        if self.retain_age_s is not None and self.retain_age_s <= 0:
            raise InvalidArgumentError("retain_age_s must be > 0 or None")
        if self.on_error not in ON_ERROR:
            raise InvalidArgumentError(
                f"unknown on_error {self.on_error!r}: choose one of {', '.join(ON_ERROR)}")
        if not self.retry_interval > 0:
            raise InvalidArgumentError(
                f"retry_interval must be > 0 seconds, got {self.retry_interval}")

    @property
    def fsync_interval_ms(self) -> float:
        """Deprecated: ``fsync_interval`` in milliseconds."""
        warnings.warn("JournalConfig.fsync_interval_ms is deprecated: use fsync_interval "
                      "(seconds)", DeprecationWarning, stacklevel=2)
        return self.fsync_interval * 1000.0

    @property
    def fsync_interval_ns(self) -> int:
        """``fsync_interval`` in nanoseconds, as the core's journal writer takes it."""
        return int(round(self.fsync_interval * 1e9))


@dataclass(frozen=True)
class RecoveryReport:
    """What a start on an existing journal found."""

    segments: int
    results: int                 # results replayed into the analytics state
    next_seq: int                # where the sequence continues
    torn_bytes_cut: int          # bytes of a torn tail that were cut off
    torn_file: str | None
