"""A subscription to the paper venue's execution reports."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, Callable, Iterator, Sequence

import numpy as np

from mdstream.errors import SubscriptionClosedError
from mdstream.venue.reports import ExecutionReports

if TYPE_CHECKING:
    from mdstream._core import CoreReader
    from mdstream.venue.catchup import ReportCatchUp

__all__ = ["ExecutionReportSubscription"]


class ExecutionReportSubscription:
    """Execution reports in order, as ExecutionReports batches.

    Iterate over it (iteration ends once the engine has stopped and every
    report was delivered), or call ``read(timeout)``; ``async for`` works in
    asyncio code. Reports carry their own gap-free ``seq``: a subscription
    opened with ``from_seq`` starts there (OutOfRangeError if the report ring
    no longer holds it). ``account``: only that account's reports (filtered
    here; their seqs then have holes). Close it (or use ``with``): an open
    'block' subscription holds the venue back when it falls a ring behind.
    """

    def __init__(self, reader: "CoreReader | None", symbols: Sequence[str],
                 accounts: Sequence[str], account_id: int | None, timeout_step: float = 0.25,
                 on_close: "Callable[[], None] | None" = None,
                 catchup: "ReportCatchUp | None" = None) -> None:
        self._reader = reader
        self._catchup = catchup      # made again from the journal until the live ring has it
        self._closed = False
        self._symbols = symbols
        self._accounts = accounts
        self._account_id = account_id
        self._step = timeout_step
        self._on_close = on_close
        #: seq of the last report handed out (-1: none yet).
        self.last_seq = -1

    def read(self, timeout: float | None = None) -> ExecutionReports | None:
        """The next batch (None when none came within ``timeout`` seconds).
        Raises EOFError once the engine stopped and all was delivered,
        SubscriptionClosedError after close(), SlowConsumerError when a
        'disconnect' subscription fell a ring behind."""
        if self.closed:
            raise SubscriptionClosedError("the execution report subscription is closed")
        while True:
            if self._catchup is not None:
                rows, live = self._catchup.next()
                if rows is None:
                    self._reader, self._catchup = live, None
                    continue
            else:
                assert self._reader is not None
                rows, _gap = self._reader.read(timeout)
            if rows is None:
                return None
            if len(rows):
                self.last_seq = int(rows["seq"][-1])
            batch = ExecutionReports(rows, self._symbols, self._accounts)
            if self._account_id is not None:
                keep = batch.account_id == self._account_id
                if not keep.all():
                    batch = ExecutionReports(np.ascontiguousarray(batch.data[keep]),
                                             self._symbols, self._accounts)
            if len(batch) or timeout is not None:
                return batch

    def __iter__(self) -> Iterator[ExecutionReports]:
        while True:
            try:
                batch = self.read(self._step)
            except EOFError:
                return
            if batch is not None and len(batch):
                yield batch

    def reports(self) -> Iterator:
        """One ExecutionReport at a time, in order."""
        for batch in self:
            yield from batch.rows()

    async def __aiter__(self) -> AsyncIterator[ExecutionReports]:
        loop = asyncio.get_running_loop()
        while True:
            try:
                batch = await loop.run_in_executor(None, self.read, self._step)
            except EOFError:
                return
            if batch is not None and len(batch):
                yield batch

    def close(self) -> None:
        """Leave; a read in progress returns at once."""
        if self._closed:
            return
        self._closed = True
        self._catchup = None
        if self._reader is not None:
            self._reader.close()
        if self._on_close is not None:
            self._on_close()

    @property
    def closed(self) -> bool:
        return self._closed or (self._reader is not None and bool(self._reader.closed))

    def __enter__(self) -> "ExecutionReportSubscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
