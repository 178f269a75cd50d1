"""AsyncSubscription: ``async for`` over an in-process Subscription.

    async for batch in engine.subscribe(["AAPL"]):      # or sub.aiter()
        ...

The core's read blocks (without the GIL) until results arrive, so it must
not run on the event loop. Each ``__anext__`` first takes what is already
there without waiting (no thread hop while data flows); only when nothing
is there does it wait in the loop's default executor, in slices of
``poll`` seconds (0.1 s: the same slices the core's blocking waits use), so
the event loop never blocks; while results flow, it yields to other tasks
after every batch (``await asyncio.sleep(0)``). Cancelling the awaiting task (``wait_for``,
``TaskGroup`` shutdown, Ctrl-C) ends the await at once; the read still in
the executor finishes within ``poll`` s and its batch is handed out by the
next ``__anext__``, so a cancellation never loses results.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mdstream.batch import ResultBatch, Snapshot
from mdstream.errors import SubscriptionClosedError

if TYPE_CHECKING:
    from mdstream.engine.subscription import Subscription

__all__ = ["AsyncSubscription", "DEFAULT_POLL_S"]

#: Seconds one executor read waits before it returns and is started again.
DEFAULT_POLL_S = 0.1


class AsyncSubscription:
    """A Subscription for ``async for``: an mdstream.stream.AsyncBatchStream.

    Yields ResultBatch objects; iteration ends when the engine's data ended
    and every result was delivered (StreamEnded), or after ``close()``.
    Raises what ``Subscription.next_batch`` raises (SlowConsumerError,
    JournalUnavailableError). ``snapshot``, ``last_seq``, ``stats()`` and
    ``close()`` are the subscription's; ``await read_snapshot()`` never waits.
    """

    def __init__(self, subscription: "Subscription", poll: float = DEFAULT_POLL_S) -> None:
        if not poll > 0:
            raise ValueError(f"poll must be > 0 seconds, got {poll}")
        self.subscription = subscription
        self.poll = poll
        self._pending: asyncio.Future[ResultBatch | None] | None = None
        self._ended = False

    def __repr__(self) -> str:
        waiting = " waiting" if self._pending is not None else ""
        return f"<AsyncSubscription of {self.subscription!r}{waiting}>"

    @property
    def snapshot(self) -> Snapshot | None:
        """The Snapshot the subscription started from (snapshot=True), else None."""
        return self.subscription.snapshot

    @property
    def last_seq(self) -> int:
        """The newest sequence number accounted for (see Subscription.last_seq)."""
        return self.subscription.last_seq

    async def read_snapshot(self) -> Snapshot | None:
        """The Snapshot (taken when subscribing, so this never waits)."""
        return self.subscription.snapshot

    def stats(self) -> dict[str, Any]:
        """The subscription's counters (see Subscription.stats)."""
        return self.subscription.stats()

    def close(self) -> None:
        """Leave the engine (see Subscription.close); iteration then ends."""
        self.subscription.close()

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> ResultBatch:
        sub = self.subscription
        while True:
            if self._ended or sub.closed:
                raise StopAsyncIteration
            try:
                if self._pending is None:
                    # What is there already: no thread, no wait.
                    batch = sub.next_batch(timeout=0, max_wait=0.0)
                    if batch is not None:
                        # Let other tasks run between batches: a flood of
                        # ready results must not starve the loop.
                        await asyncio.sleep(0)
                        return batch
                    loop = asyncio.get_running_loop()
                    self._pending = loop.run_in_executor(None, sub.next_batch, self.poll)
                # shield: a cancelled await leaves the read running; the next
                # __anext__ takes its batch.
                batch = await asyncio.shield(self._pending)
                self._pending = None
            except StopAsyncIteration:
                raise
            except EOFError:                    # StreamEnded: all was delivered
                self._pending = None
                self._ended = True
                raise StopAsyncIteration from None
            except SubscriptionClosedError:
                self._pending = None
                if sub.closed:
                    raise StopAsyncIteration from None
                raise
            except asyncio.CancelledError:
                raise
            except BaseException:
                self._pending = None
                raise
            if batch is not None:
                return batch
