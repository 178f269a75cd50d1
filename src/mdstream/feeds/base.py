"""The interface every feed implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from mdstream.engine import Engine

__all__ = ["Feed"]


class Feed:
    """A source of ticks for an Engine.

    The engine calls ``bind(engine)`` once before it starts (after adding
    ``symbols`` to its symbol table), ``start()`` when it starts and ``stop()``
    when it stops. A feed delivers ticks with ``engine.publish_*`` (from its own
    thread) or, for feeds implemented in the core, by configuring the core in
    ``bind``. A finite feed calls ``engine.close_ingest()`` when it is done, so
    subscriptions end after the last result.
    """

    #: The symbols this feed produces, added to the engine's table in this order.
    symbols: Sequence[str] = ()

    def bind(self, engine: "Engine") -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Begin producing (feeds run in the core need nothing here)."""

    def stop(self) -> None:
        """Stop producing and join any thread; must return promptly."""
