"""DataEndWatcher: tells `mdstream serve`'s user when a finite feed has ended."""

from __future__ import annotations

import logging
import threading
import time

from mdstream.cli.output import plural

__all__ = ["DataEndWatcher"]

log = logging.getLogger("mdstream.serve")


class DataEndWatcher:
    """Logs once (logger mdstream.serve) when a finite feed's data has all been processed (or the
    feed failed); the server goes on serving.

    ``node`` is a mdstream.node.Node; ``started`` is a time.monotonic()
    reading, the start of the "in N s" it prints. Only public state is read:
    ``engine.finished``, ``engine.stats()`` and the feed's ``error`` and
    ``published``.
    """

    def __init__(self, node, started: float):
        self.engine = node.engine
        self.feed = node.feed
        self.started = started
        #: The feed's error, once it failed (and the watcher reported it).
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mdstream-cli-data-end", daemon=True)

    def start(self) -> "DataEndWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (joins the thread, within 2 s)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def _ended(self) -> bool:
        if not self.engine.finished:
            return False
        # With a journal, results become visible once journaled: wait for all.
        st = self.engine.stats()
        return st.results >= st.ticks_in

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                if not self._ended():
                    continue
            except Exception:   # noqa: BLE001 - the engine is stopping
                return
            error = self.feed.error
            st = self.engine.stats()
            if error is not None:
                self.failed = error
                log.error("the feed stopped: %s", error)
                log.info("the data ended early after %s ticks; still serving what came before; "
                         "Ctrl-C to stop", f"{st.processed:,}")
                return
            published = getattr(self.feed, "published", None)
            rows = f"{published:,} rows replayed, " if published is not None else ""
            bad = f", {plural(st.bad_rows, 'bad row')} skipped" if st.bad_rows else ""
            log.info("the data ended: %s%s results (ticks and bars)%s in %.1f s, last seq %s; "
                     "still serving (late clients can take a snapshot, or resume with --from-seq from "
                     "what --ring-size or --journal still holds); "
                     "Ctrl-C to stop", rows, f"{st.processed:,}", bad,
                     time.monotonic() - self.started, f"{st.results - 1:,}")
            return
