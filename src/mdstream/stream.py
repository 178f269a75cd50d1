"""BatchStream: the one protocol every stream of results follows.

An in-process ``Subscription``, a gRPC ``StreamBatches`` stream (sync or
asyncio) and their resuming wrappers all yield ResultBatch objects in
sequence order and expose the same few members, so code written against one
runs against the others. A resuming stream is a wrapper over "open a stream
at sequence number N" (the engine's journal catch-up is the same idea on the
server side).
"""

from __future__ import annotations

from typing import AsyncIterator, Iterator, Protocol, runtime_checkable

from mdstream.batch import ResultBatch, Snapshot

__all__ = ["BatchStream", "AsyncBatchStream"]


@runtime_checkable
class BatchStream(Protocol):
    """What every batch stream offers.

    - iterating yields ResultBatch objects (asyncio streams: ``async for``);
      iteration ends when the source ended and every result was delivered;
    - ``snapshot``: with ``snapshot=True``, the Snapshot the stream started
      from (its batches start at ``snapshot.as_of_seq + 1``), else None;
      ``read_snapshot()`` waits for it;
    - ``last_seq``: the newest engine sequence number accounted for (every
      result at or below it was delivered, reported in a gap, or filtered
      out), -1 or None before the first;
    - ``close()``: leave the stream; safe twice and from another thread;
    - ``stats()``: a dict of counters (at least ``received`` and ``missed``).
    """

    @property
    def snapshot(self) -> Snapshot | None: ...

    @property
    def last_seq(self) -> int | None: ...

    def __iter__(self) -> Iterator[ResultBatch]: ...

    def read_snapshot(self) -> Snapshot | None: ...

    def close(self) -> None: ...

    def stats(self) -> dict: ...


@runtime_checkable
class AsyncBatchStream(Protocol):
    """BatchStream for asyncio: ``async for`` yields ResultBatch objects and
    ``await read_snapshot()`` waits for the snapshot; ``snapshot``,
    ``last_seq``, ``close()`` and ``stats()`` are as on BatchStream."""

    @property
    def snapshot(self) -> Snapshot | None: ...

    @property
    def last_seq(self) -> int | None: ...

    def __aiter__(self) -> AsyncIterator[ResultBatch]: ...

    async def read_snapshot(self) -> Snapshot | None: ...

    def close(self) -> None: ...

    def stats(self) -> dict: ...
