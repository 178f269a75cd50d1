"""A journal directory that runs out of room: what makes write() fail here.

Tests run as root, where a read-only directory (chmod) does not stop a
write. Two ways that do, both undone by `make_room()`:

- ``tmpfs``: the directory is on a 2 MiB tmpfs mounted for the test (root,
  with mount allowed): writes fail with ENOSPC "No space left on device",
  the issue's case; make_room() remounts it at 64 MiB.
- ``fsize``: RLIMIT_FSIZE of this process at 2 MiB (SIGXFSZ ignored):
  writes past it fail with EFBIG "File too large"; make_room() lifts it.
  Works for any user; used where mounting is not allowed.

Use as a context manager: ``with DiskFull(tmp_path) as disk: disk.directory``.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

ROOM = 2 << 20


def tmpfs_allowed(where: Path) -> bool:
    """Whether this process can mount a tmpfs (root in a permissive container)."""
    if os.geteuid() != 0:
        return False
    probe = where / "mount-probe"
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
    except OSError:
        return False
    if ok:
        subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return ok


class DiskFull:
    """A directory (``directory``) where writes fail once ~2 MiB are used."""

    def __init__(self, base: Path, kind: str | None = None):
        self.base = Path(base)
        self.kind = kind or ("tmpfs" if tmpfs_allowed(self.base) else "fsize")
        self.mount = self.base / "small-fs"
        self.directory = self.mount / "journal"
        #: The errno the journal fails with.
        self.errno = errno.ENOSPC if self.kind == "tmpfs" else errno.EFBIG
        self.words = os.strerror(self.errno)
        self._limit = None
        self._handler = None

    def __enter__(self) -> "DiskFull":
        self.mount.mkdir(parents=True, exist_ok=True)
        if self.kind == "tmpfs":
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={ROOM}", "tmpfs",
                            str(self.mount)], check=True)
        else:
            self._handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            self._limit = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (ROOM, self._limit[1]))
        self.directory.mkdir()
        return self

    def make_room(self) -> None:
        """Take the cause away: writes succeed again."""
        if self.kind == "tmpfs":
            subprocess.run(["mount", "-o", "remount,size=64m", str(self.mount)], check=True)
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE, self._limit)

    def __exit__(self, *exc) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.mount)], check=False)
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE, self._limit)
            signal.signal(signal.SIGXFSZ, self._handler)


def fsize_limited(cmd: list[str], limit: int = ROOM) -> list[str]:
    """cmd run with its files stopped at limit bytes (RLIMIT_FSIZE, SIGXFSZ
    ignored): a small Python that sets both, then execs cmd. (Not
    preexec_fn, which is unsafe in a process with threads.)"""
    setup = ("import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
             "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), "
             "resource.getrlimit(resource.RLIMIT_FSIZE)[1])); os.execv(sys.argv[2], sys.argv[2:])")
    return [sys.executable, "-c", setup, str(limit), *cmd]
