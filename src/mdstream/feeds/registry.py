"""Feeds found by name: ``--feed NAME[:ARG]`` and ``feed_config("NAME:ARG")``.

Two feeds are built in: ``sim`` (the simulated random walk) and ``csv``
(``csv:PATH[,PATH...]``). Any installed package adds more through the
``mdstream.feeds`` entry-point group, so ``--feed NAME:ARG`` works for a feed
that mdstream itself does not ship::

    # the other package's pyproject.toml
    [project.entry-points."mdstream.feeds"]
    myvenue = "myvenue_mdstream:feed_config"

An entry point names a *factory*: ``factory(arg: str, **options) ->
FeedConfig``. ``arg`` is the text after the first ``:`` ("" without one);
``options`` are the settings the user gave for the feed (for the CLI: the
replay options ``speed``, ``loop``, ``symbol``, ``preset``, ``on_bad_row``
when given, and the simulated feed's ``symbols``...). A factory takes only the
keywords it supports: an option it does not declare is refused with a message
naming the option and the feed. It raises InvalidArgumentError for an
argument it cannot use. See docs/ARCHITECTURE.md ("Adding a feed") for the
Feed contract and a template.
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any, Callable

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.base import FeedConfig
from mdstream.feeds.configs import CSVFeedConfig, SimulatedFeedConfig, replay_paths

__all__ = ["ENTRY_POINT_GROUP", "FeedFactory", "feed_config", "feed_names", "feed_factory",
           "split_spec", "unknown_settings"]

#: The entry-point group other packages register feeds in.
ENTRY_POINT_GROUP = "mdstream.feeds"

FeedFactory = Callable[..., FeedConfig]


def _sim(arg: str, *, symbols=None, rate=None, seed=None, count=None,
         quote_ratio=None) -> SimulatedFeedConfig:
    """``sim``, or ``sim:AAPL,MSFT`` (the symbols)."""
    given = {"rate": rate, "seed": seed, "count": count, "quote_ratio": quote_ratio}
    names = tuple(s for s in arg.split(",") if s) or symbols
    if names:
        given["symbols"] = tuple(names)
    return SimulatedFeedConfig(**{k: v for k, v in given.items() if v is not None})


def _csv(arg: str, *, speed=None, loop=False, symbol=None, preset=None,
         on_bad_row=None) -> CSVFeedConfig:
    """``csv:PATH[,PATH...]``: plain or gzip CSV files merged by timestamp."""
    paths = replay_paths(arg, "csv: needs at least one file, e.g. csv:trades.csv")
    return CSVFeedConfig(paths, speed=1.0 if speed is None else speed, loop=loop, symbol=symbol,
                         preset=preset, on_bad_row=on_bad_row or "raise")


_BUILT_IN: dict[str, FeedFactory] = {"sim": _sim, "csv": _csv}


def _installed() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def feed_names() -> list[str]:
    """The names ``--feed`` knows: the built-in feeds, then installed ones, sorted."""
    return list(_BUILT_IN) + sorted(set(_installed()) - set(_BUILT_IN))


def split_spec(spec: str) -> tuple[str, str]:
    """``"NAME:ARG"`` -> ``("name", "ARG")``; ``"NAME"`` -> ``("name", "")``."""
    name, _, arg = spec.partition(":")
    return name.strip().lower(), arg


def feed_factory(name: str) -> FeedFactory:
    """The factory of feed ``name`` (built in, or from the entry-point group).

    Raises InvalidArgumentError for a name nothing provides, listing the
    names that exist, or for an entry point that fails to load (naming it).
    """
    if name in _BUILT_IN:
        return _BUILT_IN[name]
    installed = _installed()
    if name not in installed:
        raise InvalidArgumentError(
            f"unknown feed {name!r}: the feeds here are {', '.join(feed_names())} (a feed from "
            f"another package registers itself in the {ENTRY_POINT_GROUP!r} entry-point group)")
    ep = installed[name]
    try:
        return ep.load()
    except Exception as exc:    # noqa: BLE001 - a broken plug-in is named, not a traceback
        raise InvalidArgumentError(
            f"feed {name!r} ({ep.value}) could not be loaded: {type(exc).__name__}: {exc}") from exc


def feed_config(spec: str, **options: Any) -> FeedConfig:
    """The FeedConfig of ``spec`` (``"csv:trades.csv"``, ``"sim"``, ``"NAME:ARG"``).

    ``options``: the feed's settings, by keyword (None values are left out,
    so a caller may pass everything it has). Raises InvalidArgumentError for
    an unknown feed, an option the feed does not take (naming both), or an
    argument the feed refuses.
    """
    name, arg = split_spec(spec)
    factory = feed_factory(name)
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    unknown = unknown_settings(factory, given)
    if unknown:
        raise InvalidArgumentError(f"{', '.join(unknown)}: not a setting of the {name!r} feed")
    return factory(arg, **given)


def unknown_settings(factory: FeedFactory, names) -> list[str]:
    """The names among ``names`` that ``factory`` takes no keyword for
    (none if it takes ``**options``), sorted."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):      # no signature to read: it gets everything
        return []
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return []
    return sorted(set(names) - set(params))
