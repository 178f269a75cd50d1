"""An asyncio event loop on a thread of its own, for nats-py from threaded code.

nats-py is an asyncio library; the engine's subscriptions and grpcio's
handlers are threads. A :class:`LoopThread` runs one event loop (one NATS
connection lives on it) and lets any thread run a coroutine there and wait
for its result.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine

__all__ = ["LoopThread"]


class LoopThread:
    """One asyncio loop running on a daemon thread named ``name``."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine, timeout: float | None = None) -> Any:
        """Run ``coro`` on the loop and return its result (its exception is
        raised here; concurrent.futures.TimeoutError after ``timeout`` s, the
        coroutine then cancelled)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def submit(self, coro: Coroutine):
        """Start ``coro`` on the loop; returns its concurrent.futures.Future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, callback, *args) -> None:
        """Call ``callback(*args)`` on the loop's thread."""
        self.loop.call_soon_threadsafe(callback, *args)

    def close(self, nc=None, timeout: float = 5.0) -> None:
        """Close the NATS connection ``nc`` living on the loop (if any; an
        error closing it is ignored: it is going anyway), then stop()."""
        if nc is not None:
            try:
                self.run(nc.close(), timeout)
            except Exception:
                pass
        self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and join its thread (safe to call twice)."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()
