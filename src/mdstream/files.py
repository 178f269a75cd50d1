"""Files written so that a crash or a power loss leaves the old one or the new
one, never half of either (the journal's settings and symbols, a recording's
checkpoints and parts)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "write_atomic"]


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, write) -> None:
    """Call write(file) on a hidden temporary file next to ``path``, fsync
    it, then rename it to ``path`` (the directory is not fsynced here)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
