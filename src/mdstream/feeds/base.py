"""The interface every feed implements."""

from __future__ import annotations

from typing import ClassVar, Protocol, Sequence, runtime_checkable

from mdstream.feeds.sink import TickSink

__all__ = ["Feed", "FeedConfig", "TickSink"]


class Feed:
    """A source of ticks for an Engine.

    The contract between a feed and the engine that runs it:

    - ``symbols``: the names the feed produces; the engine declares them, in
      this order, before it binds the feed.
    - ``bind(sink)``: called once, by ``Engine(feed=...)``, before the engine
      starts. The TickSink is the feed's only way into the engine: it turns
      names into ids, takes ticks (``sink.ingest``), and ends the data
      (``sink.close()``). Feeds implemented in the core configure it here
      (``sink.simulate``).
    - ``start()``: called when the engine starts; a Python feed publishes from
      its own thread, and a finite one calls ``sink.close()`` when it is done
      so that subscriptions end after the last result.
    - ``stop()``: called when the engine stops, before the engine stops
      taking ticks; stop producing and join any thread, promptly, without
      raising.
    - ``error``: the exception that ended the feed in its own thread (a bad
      input row, say), or None. A feed that fails also calls ``sink.close()``;
      the engine raises the error from ``wait()`` and ``stop()``, so a failure
      is never silent.
    - ``bad_rows``: input rows skipped as malformed (0 for a feed without
      input); reported as ``EngineStats.bad_rows``.
    - ``wait_for_subscriber``: False (the default) to be started with the
      engine; True for a replay that must not begin before its reader: the
      engine starts it at its first subscription (registered first, so it
      sees the first row), or when ``Engine.wait()`` is called with none
      open; a number of seconds: the same, but started after that long
      without a subscription.
    """

    #: The symbols this feed produces, added to the engine's table in this order.
    symbols: Sequence[str] = ()

    #: False, True, or seconds: see the class docstring (replays wait for a reader).
    wait_for_subscriber: bool | float = False

    def bind(self, sink: TickSink) -> None:
        """Keep the sink the feed will deliver to (once, before start)."""
        raise NotImplementedError

    def start(self) -> None:
        """Begin producing (feeds run in the core need nothing here)."""

    def stop(self) -> None:
        """Stop producing and join any thread; must return promptly."""

    @property
    def error(self) -> BaseException | None:
        """What ended the feed with an error (None if nothing did)."""
        return None

    @property
    def bad_rows(self) -> int:
        """Input rows skipped as malformed."""
        return 0


@runtime_checkable
class FeedConfig(Protocol):
    """The settings of a feed, as a NodeConfig holds them.

    - ``kind``: the feed's name, as in ``--feed NAME:ARG`` (``"sim"``,
      ``"csv"``, or a name registered in the ``mdstream.feeds`` entry-point
      group: see mdstream.feeds.registry);
    - ``build()``: a new Feed with these settings (raising MDStreamError or
      OSError for settings that cannot be used: a missing file, say);
    - optionally ``describe(feed) -> str``: one line on the running feed for
      ``mdstream serve`` ("replaying 1,000 rows of ...").
    """

    kind: ClassVar[str]

    def build(self) -> Feed: ...
