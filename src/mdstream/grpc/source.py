"""ResultSource: what the gRPC server serves from.

The servicer (mdstream.grpc.servicer), the server (mdstream.grpc.server)
and their helpers (identity.py, stats.py, entitlements.py) use a few members
of what they serve, never the whole Engine. Two classes provide them, and
satisfy these protocols structurally (no base class):

- ``mdstream.engine.Engine``: results computed here;
- ``mdstream.nats.EdgeSource``: results read from a NATS JetStream stream
  (``mdstream edge``).

A new source (another bus, a replay service) is served by the same code once
it has these members with these meanings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Protocol, Sequence

if TYPE_CHECKING:
    from mdstream.batch import ResultBatch, Snapshot
    from mdstream.engine.stats import EngineStats
    from mdstream.request import StreamRequest

__all__ = ["ResultSource", "ResultSubscription", "SymbolNames"]


class SymbolNames(Protocol):
    """A source's symbol table: names by symbol id."""

    @property
    def names(self) -> Sequence[str]:
        """Symbol names, indexed by symbol id (the ids results carry)."""
        ...

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is a known symbol."""
        ...


class ResultSubscription(Protocol):
    """One stream of results, as ``ResultSource.open`` returns it
    (mdstream.engine.Subscription, mdstream.nats.edge.EdgeSubscription)."""

    @property
    def id(self) -> int:
        """A number unique in the process (GetStats' ``subscription_id``)."""
        ...

    @property
    def snapshot(self) -> Snapshot | None:
        """With ``request.snapshot``: the Snapshot the stream continues after
        (``as_of_seq``); else None."""
        ...

    @property
    def last_seq(self) -> int:
        """Every result at or below this seq was delivered or filtered out (-1: none)."""
        ...

    @property
    def closed(self) -> bool:
        """close() was called (by the server, or the client went away)."""
        ...

    def next_batch(self, timeout: float | None = None, max_ticks_per_frame: int = 0,
                   max_wait: float | None = None, *,
                   adaptive: bool = False) -> ResultBatch | None:
        """The next ResultBatch (RESULT_DTYPE rows in seq order, ``gap`` set
        after results were skipped), waiting up to ``timeout`` s; None when
        nothing came in time. ``max_wait``: seconds to let a batch fill after
        its first result (None: the request's); ``adaptive``: max_wait only
        caps the wait, which happens only while results pour in (the
        servicer's frame_linger="adaptive"; a source may ignore it). Raises StreamEnded at the end
        of the data (the call ends with OK), SubscriptionClosedError after
        close(), SlowConsumerError / JournalUnavailableError / OutOfRangeError
        (their gRPC statuses: mdstream.grpc.contract)."""
        ...

    def close(self) -> None:
        """Stop the stream; safe to call twice and from another thread."""
        ...


class ResultSource(Protocol):
    """What MDStreamServicer and Server serve: an Engine or an EdgeSource.

    Members, and what the server uses them for:

    - ``symbol_table`` (SymbolNames): request checks, ListSymbols, the codec's names;
    - ``symbols`` (names by id): GetStats' symbol count;
    - ``stream_id`` (str, "" while unknown): initial metadata, heartbeats,
      snapshots; a resume expecting another gets FAILED_PRECONDITION;
    - ``feed``: described in GetStats (any object; None: no feed);
    - ``open(request, block_deadline=s)``: one stream (ResultSubscription);
      UnknownSymbolError (INVALID_ARGUMENT), OutOfRangeError (OUT_OF_RANGE),
      EngineStateError (UNAVAILABLE);
    - ``snapshot(symbols)``: GetSnapshot's Snapshot (newest result per symbol
      as of ``as_of_seq``); UnknownSymbolError;
    - ``stats()``: GetStats' EngineStats;
    - ``on_journal_error(listener)``: ``listener(text)`` while results cannot
      be had (a journal that cannot be written; NATS unreachable), then
      ``listener(None)``: the health service follows it;
    - ``running``, ``finished``, ``start()``, ``stop()``: serve() starts the
      source if it is not running or finished, and stops it at the end.
    """

    @property
    def symbol_table(self) -> SymbolNames: ...

    @property
    def symbols(self) -> Sequence[str]: ...

    @property
    def stream_id(self) -> str: ...

    @property
    def feed(self) -> object: ...

    @property
    def running(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    def open(self, request: StreamRequest, *,
             block_deadline: float | None = None) -> ResultSubscription: ...

    def snapshot(self, symbols: Iterable[str] | str | None = None) -> Snapshot: ...

    def stats(self) -> EngineStats: ...

    def on_journal_error(self, listener: Callable[[str | None], None]) -> None: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...
