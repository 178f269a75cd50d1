"""JournalWatch: notices when the journal writer cannot write, and when it
can again; says so once in the log and tells the listeners (the gRPC
server's health, a node that exits on a journal error)."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from mdstream.errors import journal_error_text

__all__ = ["JournalWatch", "error_text"]

log = logging.getLogger("mdstream.journal")


def error_text(status: dict | None, last: bool = False) -> str:
    """The writer's error in words (path and OS error), "" while all is well;
    last=True: the newest failure, even once recovered."""
    if not status:
        return ""
    err = status.get("last_error" if last else "error") or 0
    if not err:
        return ""
    return journal_error_text(status.get("error_path", ""), err)


class JournalWatch:
    """Looks at a core's journal writer every `period` seconds. On each
    failure (not each failed attempt) it logs an error once and calls every
    listener with the error's text; when a write succeeds again, it logs
    that and calls them with None."""

    def __init__(self, core, period: float = 0.1):
        self._core = core
        self._period = period
        self._listeners: list[Callable[[str | None], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failing = False
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name="mdstream-journal-watch", daemon=True)
        self._thread.start()

    def add_listener(self, listener: Callable[[str | None], None]) -> None:
        """Call listener(error text) on a failure and listener(None) once the
        journal is written again (from the watch's thread)."""
        with self._lock:
            self._listeners.append(listener)
            failing, text = self._failing, error_text(self._core.journal_status())
        if failing and text:
            listener(text)

    def check(self) -> None:
        """Look now (the thread does every period)."""
        status = self._core.journal_status()
        if status is None:
            return
        with self._lock:
            failing = bool(status["error"])
            new_failure = status["failures"] > self._failures
            self._failures = status["failures"]
            changed = new_failure or failing != self._failing
            self._failing = failing
            listeners = list(self._listeners)
        if not changed:
            return
        if new_failure:
            text = error_text(status, last=True)
            if status.get("retry"):
                log.error("journal: %s; the engine stops taking ticks and its streams end "
                          "(UNAVAILABLE) until it can write again; retrying", text)
            else:
                log.error("journal: %s; the engine stops taking ticks for good", text)
            for listener in listeners:
                listener(text)
        if not failing:
            log.warning("journal: writing again after a failure (%s); the engine takes ticks again",
                        error_text(status, last=True))
            for listener in listeners:
                listener(None)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.check()
            except Exception:                   # never let the watch die silently
                log.exception("journal: the journal watch failed")

    def stop(self) -> None:
        """Stop and join the thread (after a last look)."""
        self._stop.set()
        self._thread.join()
        self.check()
