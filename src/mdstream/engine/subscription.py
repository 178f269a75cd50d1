"""Subscription: one reader of the engine's results, as batches of NumPy columns."""

from __future__ import annotations

import itertools
import time

import numpy as np
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from mdstream._core import RESULT_DTYPE, LatencyHistogram, RowFilter
from mdstream.batch import KIND_NAMES, Gap, ResultBatch
from mdstream.engine.conflate import Conflator
from mdstream.errors import (
    JournalUnavailableError,
    MDStreamError,
    SubscriptionClosedError,
    TimeoutError,
)
from mdstream.request import StreamRequest

if TYPE_CHECKING:
    from mdstream._core import CoreReader
    from mdstream.batch import Snapshot
    from mdstream.engine.async_subscription import AsyncSubscription
    from mdstream.engine.catchup import JournalCatchUp

__all__ = ["Subscription", "StreamEnded"]

_ids = itertools.count(1)
#: Kind name -> code (TRADE 0, QUOTE 1, BAR 2).
KIND_CODES = {name: code for code, name in KIND_NAMES.items()}


class StreamEnded(MDStreamError, EOFError):
    """The engine stopped (or its feed ended) and every result was delivered."""


class Subscription:
    """Results of the engine for some symbols, from the moment of subscribing.

    Iterate over it for ResultBatch objects (iteration ends when the engine
    stops and everything has been delivered), or call next_batch(); in
    asyncio code ``async for batch in sub`` (see aiter()). Close it
    (or use it as a context manager) to leave: an open `block` subscription
    holds the engine back when it falls a ring behind.

    A Subscription is a ``mdstream.stream.BatchStream``: ``snapshot`` /
    ``read_snapshot()``, ``last_seq``, ``stats()`` and ``close()`` mean what
    they mean for a gRPC stream.
    """

    def __init__(self, reader: "CoreReader | None", symbols: Sequence[str],
                 request: StreamRequest, on_close: "Callable[[Subscription], None] | None" = None,
                 catchup: "JournalCatchUp | None" = None) -> None:
        self.id = next(_ids)
        self._reader = reader
        self._catchup = catchup      # a JournalCatchUp while replaying from the journal
        self._closed = False
        self._symbols = symbols
        #: The StreamRequest this subscription was opened with.
        self.request = request
        self.filter = None if request.symbols is None else list(request.symbols)
        self.policy = request.policy
        self._on_close = on_close
        #: With subscribe(snapshot=True): the Snapshot the stream continues from.
        self.snapshot: Snapshot | None = None
        self._received = 0           # results handed out by next_batch
        self._async: AsyncSubscription | None = None
        #: The kinds / price / size filter, run in the core (None: none).
        self._row_filter = None if not request.filters_rows else RowFilter(
            kinds=[KIND_CODES[k] for k in request.kinds or KIND_CODES],
            min_size=request.min_size, min_price=request.min_price, max_price=request.max_price)
        self._conflator = Conflator(request.conflate) if request.conflate else None
        self._ended = False          # conflating: the end was reached with results held

    def __repr__(self) -> str:
        what = "all symbols" if self.filter is None else ",".join(self.filter)
        if self.filter is not None and len(self.filter) > 5:
            what = f"{','.join(self.filter[:5])},... ({len(self.filter)} symbols)"
        if self.closed:
            state = "closed"
        else:
            try:
                c = self.counters()
                state = f"lag={c['lag']} missed={c['missed']}"
            except Exception:  # noqa: BLE001 - a repr never fails
                state = "open"
        return (f"<Subscription #{self.id} {what} policy={self.policy} "
                f"received={self._received} last_seq={self._last_seq_or_none()} {state}>")

    def _last_seq_or_none(self) -> int | None:
        try:
            return self.last_seq
        except Exception:  # noqa: BLE001 - a closed reader may have no counters
            return None

    def next_batch(self, timeout: float | None = None, max_ticks_per_frame: int = 0,
                   max_wait: float | None = None, *,
                   adaptive: bool = False) -> ResultBatch | None:
        """The next batch of results, waiting up to timeout seconds (None: forever).

        Returns None if the timeout passed with nothing new (that passes the
        request's filters: kinds, min_size, min_price, max_price; results
        filtered out are skipped without a gap, and the wait goes on).
        ``max_ticks_per_frame`` caps the batch (0: the subscription's own);
        ``max_wait`` waits up to that many seconds after the first result for
        the batch to fill (None: the subscription's own). ``adaptive=True``
        makes max_wait a cap, as Nagle's algorithm with a cork: the batch is
        handed out at once when results trickle in (the previous batch had
        fewer than 64 results, or this call found none waiting and the
        previous batch ended 200 us or more ago) and waits only while they
        pour in, until max_wait after the previous batch (the
        gRPC server's default for StreamBatches frames).
        Raises StreamEnded when the engine has stopped and all was delivered,
        SlowConsumerError when a 'disconnect' subscription fell behind,
        JournalUnavailableError (a JournalError naming the file and the OS
        error) when the engine's journal cannot be written: the subscription
        is then closed, and SubscriptionClosedError after close().

        With ``conflate`` (StreamRequest.conflate) a batch holds the newest
        result of each symbol of one interval, its Gap counting the results
        folded away; None until an interval ends.
        """
        # An unfiltered subscription reads straight from the core: no filter
        # pass per batch.
        read = self._next_batch if self._row_filter is None else self._filtered_batch
        if self._conflator is None:
            return read(timeout, max_ticks_per_frame, max_wait, adaptive)
        conf = self._conflator
        if self._ended:
            raise StreamEnded("the data ended (or the engine stopped) and every result was delivered")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if conf.due(now):
                return self._conflated(conf)
            waits = [w for w in (conf.wait(now), None if deadline is None else deadline - now)
                     if w is not None]
            left = max(0.0, min(waits)) if waits else None
            try:
                batch = read(left, max_ticks_per_frame, max_wait, adaptive)
            except StreamEnded:
                if not conf.holding:
                    raise
                self._ended = True          # hand out what is held, then end
                return self._conflated(conf)
            if batch is not None:
                conf.add(batch.rows, batch.gap, time.monotonic())
            elif deadline is not None and time.monotonic() >= deadline and not conf.due(
                    time.monotonic()):
                return None

    def _conflated(self, conf: Conflator) -> ResultBatch:
        rows, gap = conf.take()
        if rows is None:
            rows = np.empty(0, dtype=RESULT_DTYPE)
        return ResultBatch(rows, self._symbols, gap, self.request.fields)

    def _filtered_batch(self, timeout: float | None, max_ticks_per_frame: int,
                        max_wait: float | None, adaptive: bool) -> ResultBatch | None:
        """next_batch() before conflation, for a subscription with row filters:
        _next_batch() with the request's row filters applied."""
        assert self._row_filter is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            batch = self._next_batch(left, max_ticks_per_frame, max_wait, adaptive)
            if batch is None:
                return None
            rows = self._row_filter.apply(batch.rows)
            self._received -= len(batch.rows) - len(rows)
            if len(rows) or batch.gap is not None:
                return ResultBatch(rows, self._symbols, batch.gap, self.request.fields)
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def _next_batch(self, timeout: float | None, max_ticks_per_frame: int,
                    max_wait: float | None, adaptive: bool) -> ResultBatch | None:
        """next_batch() before the request's row filters."""
        if self._catchup is not None:
            if self._closed:
                raise SubscriptionClosedError("the subscription was closed")
            rows, reader = self._catchup.next()
            if rows is not None:
                self._received += len(rows)
                return ResultBatch(rows, self._symbols, None, self.request.fields)
            self._reader = reader
            self._catchup = None
            if self._closed:            # closed from another thread meanwhile
                reader.close()
        if self._reader is None:
            raise SubscriptionClosedError("the subscription was closed")
        try:
            rows, gap = self._reader.read(timeout, max_ticks_per_frame,
                                          self.request.max_wait if max_wait is None else max_wait,
                                          adaptive)
        except EOFError:
            raise StreamEnded("the data ended (or the engine stopped) and every result was delivered") from None
        except JournalUnavailableError:
            # The journal cannot be written: the subscription ends (and no
            # longer holds the engine back); resume with from_seq=last_seq + 1.
            self.close()
            raise
        if rows is None:
            return None
        self._received += len(rows)
        return ResultBatch(rows, self._symbols, Gap(*gap) if gap is not None else None,
                           self.request.fields)

    def batches(self, timeout: float | None = None, max_ticks_per_frame: int = 0,
                max_wait: float | None = None) -> Iterator[ResultBatch]:
        """Iterate over batches until the stream ends.

        With a timeout, raises mdstream.TimeoutError when no batch arrives
        within that many seconds (a quiet market or a stopped feed).
        """
        while True:
            try:
                batch = self.next_batch(timeout, max_ticks_per_frame, max_wait)
            except StreamEnded:
                return
            if batch is None:
                raise TimeoutError(f"no results within {timeout} s on {self!r}")
            yield batch

    def __iter__(self) -> Iterator[ResultBatch]:
        return self.batches()

    def close(self) -> None:
        """Leave the engine; safe to call more than once and from another thread."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.close()
        if self._on_close is not None:
            self._on_close(self)

    @property
    def closed(self) -> bool:
        return self._closed or (self._reader is not None and self._reader.closed)

    def latency(self, stage: str, window: bool = False) -> LatencyHistogram:
        """LatencyHistogram of 'processed_to_sent' or 'age_at_send' (event time
        to hand-out) for this subscription; window=True: the last 10 s only."""
        if self._reader is None:
            return LatencyHistogram()
        return self._reader.latency(stage, window)

    def counters(self) -> dict[str, Any]:
        """cursor, lag (results not yet read), delivered, missed, gaps, disconnected."""
        if self._reader is None:
            assert self._catchup is not None        # replaying from the journal
            return {"cursor": self._catchup.position, "lag": 0, "delivered": self._catchup.replayed,
                    "missed": 0, "gaps": 0, "disconnected": False}
        return self._reader.counters()

    # -- the BatchStream protocol ----------------------------------------------

    @property
    def last_seq(self) -> int:
        """The newest engine sequence number accounted for: every result at or
        below it was delivered, skipped with a gap notice, or filtered out
        (-1 before the first; resume with ``from_seq=last_seq + 1``)."""
        # The cursor is the next seq the subscription looks at; a conflating
        # subscription has not accounted for the interval it still holds.
        if self._conflator is not None and self._conflator.first_seq >= 0:
            return self._conflator.first_seq - 1
        return int(self.counters()["cursor"]) - 1

    def read_snapshot(self) -> "Snapshot | None":
        """The Snapshot the stream started from (``snapshot=True``), else None.
        In process it is taken when subscribing, so this never waits."""
        return self.snapshot

    def stats(self) -> dict[str, Any]:
        """counters() plus ``received``: results handed out by this object."""
        counters = dict(self.counters())
        counters["received"] = self._received
        return counters

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- asyncio -----------------------------------------------------------------

    def aiter(self) -> "AsyncSubscription":
        """This subscription for ``async for`` (an mdstream.stream.AsyncBatchStream):
        waits for batches without blocking the event loop, ends at the end of
        the data, and can be cancelled without losing a batch (see
        mdstream.engine.async_subscription). The same object every call."""
        if self._async is None:
            from mdstream.engine.async_subscription import AsyncSubscription

            self._async = AsyncSubscription(self)
        return self._async

    def __aiter__(self) -> "AsyncSubscription":
        return self.aiter()
