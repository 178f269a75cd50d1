"""RetentionThread: applies a journal's retention once a second, off the data path."""

from __future__ import annotations

import threading

from mdstream.journal.directory import Journal

__all__ = ["RetentionThread"]


class RetentionThread:
    """Deletes the journal's expired segments once a second while it runs;
    no thread at all when the journal keeps everything."""

    def __init__(self, journal: Journal, period: float = 1.0):
        self._journal = journal
        self._period = period
        self._stop = threading.Event()
        self._thread = None
        if journal.config.retain_bytes is not None or journal.config.retain_age_s is not None:
            self._thread = threading.Thread(target=self._run, name="mdstream-retention", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self._journal.apply_retention()

    def stop(self) -> None:
        """Stop and join the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
