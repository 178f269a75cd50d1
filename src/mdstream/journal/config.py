"""JournalConfig: how an engine journals its results; RecoveryReport: what a
start on an existing journal found."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mdstream import _core
from mdstream.errors import InvalidArgumentError

__all__ = ["JournalConfig", "RecoveryReport"]


@dataclass(frozen=True)
class JournalConfig:
    """How an engine journals its results.

    durability:
        ``"write"``: each block is handed to the operating system as it is
        written; everything survives a crash of the process (kill -9), a power
        loss or kernel crash may lose what the OS had not yet written out.
        ``"interval"``: also fsync() every ``fsync_interval_ms``; a power loss
        loses at most about that much. ``"fsync"``: fsync() every block before
        any subscriber sees it; nothing a subscriber saw is lost to a power
        loss (slowest).
    segment_bytes:
        A segment file is closed and a new one started past this size.
    retain_bytes, retain_age_s:
        Delete the oldest whole segments while the journal is larger than
        retain_bytes, or when their last write is older than retain_age_s
        (None: keep). The active segment is never deleted.
    """

    directory: str | os.PathLike
    durability: str = "write"
    fsync_interval_ms: float = 100.0
    segment_bytes: int = 64 << 20
    retain_bytes: int | None = None
    retain_age_s: float | None = None

    def __post_init__(self):
        if self.durability not in _core.DURABILITY:
            raise InvalidArgumentError(
                f"unknown durability {self.durability!r}: choose one of {', '.join(_core.DURABILITY)}")
        if self.fsync_interval_ms <= 0:
            raise InvalidArgumentError(f"fsync_interval_ms must be > 0, got {self.fsync_interval_ms}")
        if self.segment_bytes < 1 << 16:
            raise InvalidArgumentError(f"segment_bytes must be >= 65536, got {self.segment_bytes}")
        if self.retain_bytes is not None and self.retain_bytes <= 0:
            raise InvalidArgumentError("retain_bytes must be > 0 or None")
        if self.retain_age_s is not None and self.retain_age_s <= 0:
            raise InvalidArgumentError("retain_age_s must be > 0 or None")


@dataclass(frozen=True)
class RecoveryReport:
    """What a start on an existing journal found."""

    segments: int
    results: int                 # results replayed into the analytics state
    next_seq: int                # where the sequence continues
    torn_bytes_cut: int          # bytes of a torn tail that were cut off
    torn_file: str | None
