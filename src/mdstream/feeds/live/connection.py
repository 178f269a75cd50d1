"""LiveFeed: the venue-independent connection core of the live feeds.

One thread per feed runs its own asyncio event loop with a ``websockets``
client connection (https://websockets.readthedocs.io/en/stable/reference/asyncio/client.html):

- **Connect, subscribe, read.** After each connect the venue's subscribe
  messages are sent, at most ``Venue.subscribe_rate`` a second. Received
  messages are decoded as they come into a TickBuffer; the buffer goes to the
  engine (``sink.ingest``, one TICK_DTYPE array) when the loop has nothing
  else ready, i.e. once per burst of messages, or every ``batch_size`` ticks.
- **Reconnect** with jittered exponential backoff: tenacity's
  ``wait_random_exponential`` ("full jitter": a random wait between 0 and
  min(backoff_max, backoff_initial * 2^attempt) s). An attempt succeeds when
  the first message arrives; one refused, failed, closed before any message
  or silent for ``stale_after`` seconds waits before the next. A connection
  that was live and drops is reopened at once.
- **Pings**: WebSocket protocol pings both ways are the websockets library's
  (``ping_interval``, ``ping_timeout``); a venue's application-level ping
  message is sent every ``Venue.app_ping_interval`` seconds.
- **Stale connections**: a connection that stays open but delivers no
  message for ``stale_after`` seconds is closed and replaced (counted in
  ``stats().stale``).
- **Planned disconnects without a hole**: before a venue's connection age
  limit (``Venue.max_connection_age``: Binance closes every connection after
  24 h) or on a venue's reconnect notice, a new connection is opened and
  subscribed while the old one keeps delivering; the old one is closed once
  the new one is live. Trades seen twice in the overlap are dropped by their
  ids (``stats().duplicates``).
- **Bad input is never fatal**: a malformed or unknown message is counted
  (``stats().malformed``) and logged once per kind; a gap in a venue's
  sequence numbers or trade ids is counted (``stats().gaps``) and logged.

``recv_ns``: the engine stamps every tick with its own clock when it takes
the batch (``TickSink.ingest`` overwrites ``recv_ns``), so a live tick's
``recv_ns`` is the engine's receive time, a little after the socket read
(the decoding of the burst it came in); the receive time of the newest
message is ``stats().last_message_ns``. ``ts_ns`` is the venue's event time.

Backpressure: ``sink.ingest`` waits while the engine is saturated, and the
feed's loop (reading, pings) waits with it; a venue may then drop the
connection as a slow consumer, which is reconnected and shows as a gap.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Literal, Sequence

import websockets
from tenacity import AsyncRetrying, retry_if_exception, wait_random_exponential
from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException

from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.feeds.base import Feed
from mdstream.feeds.live.buffer import TickBuffer
from mdstream.feeds.live.stats import FeedCounters, FeedStats
from mdstream.feeds.live.venue import RECONNECT, Decoder, MalformedMessage, Venue, venue_url
from mdstream.feeds.sink import TickSink

__all__ = ["LiveFeed", "DEFAULT_STALE_AFTER_S"]

log = logging.getLogger("mdstream.feeds.live")

#: Seconds without any message after which a connection is replaced (``stale_after``).
DEFAULT_STALE_AFTER_S = 60.0
#: How long before a venue's connection age limit the connection is replaced, s.
_AGE_MARGIN_S = 600.0
#: What ends a connection attempt that is retried (anything else ends the feed).
_RETRYABLE = (OSError, asyncio.TimeoutError, WebSocketException)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RETRYABLE) and not isinstance(exc, InvalidURI)


class _Ended(Exception):
    """Why a connection ended: ``planned`` ones are replaced before closing."""

    def __init__(self, reason: str, planned: bool = False):
        super().__init__(reason)
        self.planned = planned


class LiveFeed(Feed):
    """Ticks from a venue's public WebSocket market-data API.

    ``venue``: a Venue (the venue modules make them: BinanceFeed, CoinbaseFeed,
    KrakenFeed are LiveFeeds for their venue); ``symbols``: as the venue names
    them (a list or one comma-separated string); the engine's symbols are
    ``PREFIX:SYMBOL`` (``feed.symbols``). ``url``: the endpoint (default:
    the venue's environment variable, else its public endpoint);
    ``stale_after``: seconds without any message after which the connection
    is replaced; ``batch_size``: the most ticks per ``sink.ingest`` call;
    ``open_timeout``: seconds for a connection's opening handshake;
    ``ping_interval`` / ``ping_timeout``: WebSocket protocol pings, s;
    ``backoff_initial`` / ``backoff_max``: reconnect backoff, s (see the
    module docstring); ``max_connection_age``: replace a connection after
    this many seconds (default: the venue's limit less 10 minutes; None: no
    limit).

    Raises InvalidArgumentError for an unusable symbol, url or setting. The
    feed never ends by itself: network and protocol errors (OSError,
    TimeoutError, websockets' WebSocketException) are retried for ever
    (logged); anything else ends it as ``feed.error`` (the engine raises it
    from ``wait()`` and ``stop()``). ``stats()`` gives the counters (FeedStats); ``bad_rows``
    (EngineStats.bad_rows) is ``stats().malformed``.
    """

    def __init__(self, venue: Venue, symbols: Sequence[str] | str, *, url: str | None = None,
                 stale_after: float = DEFAULT_STALE_AFTER_S, batch_size: int = 4096,
                 open_timeout: float = 10.0,
                 ping_interval: float = 20.0, ping_timeout: float = 20.0,
                 backoff_initial: float = 0.5, backoff_max: float = 30.0,
                 max_connection_age: float | None | Literal["venue"] = "venue"):
        for name, value in (("stale_after", stale_after), ("open_timeout", open_timeout),
                            ("ping_interval", ping_interval), ("ping_timeout", ping_timeout),
                            ("backoff_initial", backoff_initial), ("backoff_max", backoff_max)):
            if not value > 0:
                raise InvalidArgumentError(f"{name} must be > 0 seconds, got {value!r}")
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be >= 1, got {batch_size!r}")
        if max_connection_age == "venue":
            age = venue.max_connection_age
            max_connection_age = None if age is None else max(age - _AGE_MARGIN_S, age / 2)
        elif max_connection_age is not None and not max_connection_age > 0:
            raise InvalidArgumentError(f"max_connection_age must be > 0 seconds or None, got "
                                       f"{max_connection_age!r}")
        self.venue = venue
        self.venue_symbols = venue.venue_symbols(symbols)
        self.symbols = [venue.mdstream_symbol(s) for s in self.venue_symbols]
        self.url = venue_url(venue.resolve_url(url))
        venue.url(self.url, self.venue_symbols)          # refuses what it cannot address
        self.stale_after = float(stale_after)
        self.batch_size = int(batch_size)
        self.open_timeout = float(open_timeout)
        self.ping_interval = float(ping_interval)
        self.ping_timeout = float(ping_timeout)
        self.backoff_initial = float(backoff_initial)
        self.backoff_max = float(backoff_max)
        self.max_connection_age: float | None = max_connection_age
        self._counters = FeedCounters(venue.name)
        self._buffer = TickBuffer(self._counters)
        self._sink: TickSink | None = None
        self._decoder: Decoder | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._flush_scheduled = False
        self._error: BaseException | None = None
        self._connections: set[_Connection] = set()     # open ones (two during a handover)

    # -- the Feed contract ---------------------------------------------------------

    def bind(self, sink: TickSink) -> None:
        """Learn the symbols' engine ids (once, before start)."""
        self._sink = sink
        ids = dict(zip(self.venue_symbols, sink.symbol_ids(self.symbols)))
        self._decoder = self.venue.decoder(ids, self._counters)

    def start(self) -> None:
        """Connect and stream from the feed's own thread."""
        if self._sink is None:
            raise RuntimeError("LiveFeed.start() before bind()")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                        name=f"mdstream-{self.venue.name}-feed")
        self._thread.start()

    def stop(self) -> None:
        """Close the connection and join the thread (within a few seconds)."""
        self._stopping = True
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            try:
                loop.call_soon_threadsafe(self._cancel)
            except RuntimeError:        # the loop has just closed
                pass
            thread.join(timeout=10)

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def bad_rows(self) -> int:
        """Malformed messages and refused ticks (``stats().malformed``)."""
        return self._counters.malformed

    def stats(self) -> FeedStats:
        """The feed's counters now (see FeedStats)."""
        return self._counters.snapshot()

    def malformed_kinds(self) -> dict[str, int]:
        """Malformed messages by kind ("bad JSON", "unknown type 'x'", ...)."""
        return self._counters.malformed_kinds()

    # -- the feed's thread -----------------------------------------------------------

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _close_sink(self) -> None:
        """A feed that failed ends the data (the engine then raises its error)."""
        if self._sink is None:              # start() needs bind(): not reached
            return
        try:
            self._sink.close()
        except Exception:               # noqa: BLE001 - the engine is stopping anyway
            pass

    def _thread_main(self) -> None:
        loop = self._loop
        assert loop is not None             # start() made it before the thread
        asyncio.set_event_loop(loop)
        try:
            if not self._stopping:
                self._task = loop.create_task(self._run())
                loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except EngineStateError:        # the engine stopped taking ticks: the end
            pass
        except BaseException as exc:    # noqa: BLE001 - kept as the feed's error, not lost
            if not self._stopping:      # after stop(), what ended the feed is no error
                log.error("%s feed ended: %s: %s", self.venue.name, type(exc).__name__, exc)
                self._error = exc
                self._close_sink()
        finally:
            self._counters.connected = False
            pending = asyncio.all_tasks(loop)       # what a cancel left: let it unwind
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _run(self) -> None:
        current = None
        try:
            # _stopping as well as the cancel of stop(): asyncio.wait_for in Python < 3.12
            # can swallow a cancel that races with its own timeout, and then a venue
            # that keeps refusing would be retried for ever.
            while not self._stopping:
                new = await self._open_retrying()
                if current is not None:          # a planned handover: the new one is live
                    await current.close()
                current = new
                try:
                    await current.finished
                except _Ended as end:
                    if end.planned:
                        log.info("%s: %s; opening the next connection before closing this one",
                                 self.venue.name, end)
                        continue
                    log.warning("%s: %s; reconnecting", self.venue.name, end)
                await current.close()
                current = None
        finally:
            for conn in list(self._connections):     # the current one, or one being opened
                await conn.close()
            self._flush()

    async def _open_retrying(self) -> "_Connection":
        retrying = AsyncRetrying(
            wait=wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max),
            retry=retry_if_exception(_retryable), stop=lambda _state: self._stopping,
            before_sleep=self._log_retry, reraise=True)
        async for attempt in retrying:
            with attempt:
                return await self._open()
        raise AssertionError("unreachable")     # pragma: no cover

    def _log_retry(self, state) -> None:
        exc = state.outcome.exception()
        log.warning("%s: cannot connect to %s (attempt %d): %s: %s; next try in %.1f s",
                    self.venue.name, self.url, state.attempt_number, type(exc).__name__, exc,
                    state.next_action.sleep if state.next_action else 0.0)

    async def _open(self) -> "_Connection":
        url = self.venue.url(self.url, self.venue_symbols)
        ws = await websockets.connect(url, open_timeout=self.open_timeout,
                                      ping_interval=self.ping_interval,
                                      ping_timeout=self.ping_timeout, max_size=1 << 22,
                                      max_queue=64)
        try:
            spacing = 1.0 / self.venue.subscribe_rate
            for i, message in enumerate(self.venue.subscribe(self.venue_symbols)):
                if i:
                    await asyncio.sleep(spacing)
                await ws.send(message)
        except BaseException:
            await ws.close()
            raise
        conn = _Connection(self, ws)
        # Live only once something arrives: a venue that accepts and then closes
        # (or says nothing) is a failed attempt, retried with backoff, not a loop.
        await asyncio.wait((conn.first_message, conn.finished), timeout=self.stale_after,
                           return_when=asyncio.FIRST_COMPLETED)
        if not conn.first_message.done():
            why = (f"no message within stale_after={self.stale_after:g} s"
                   if not conn.finished.done() else "closed before its first message")
            await conn.close()
            raise ConnectionError(f"{self.venue.name}: the connection was {why}")
        return conn

    def _live(self) -> None:
        """A connection's first message: it counts as connected."""
        c = self._counters
        c.connects += 1
        c.connected = True
        if c.connects > 1:
            log.info("%s: reconnected to %s and subscribed again (%d symbols)", self.venue.name,
                     self.url, len(self.venue_symbols))

    # -- messages ------------------------------------------------------------------

    def _on_message(self, raw: bytes | str, conn: "_Connection") -> None:
        now = time.time_ns()
        c = self._counters
        c.messages += 1
        c.last_message_ns = now
        assert self._decoder is not None    # bind() made it; messages come after start()
        try:
            notice = self._decoder.decode(raw, now, self._buffer)
        except MalformedMessage as bad:
            c.bad_message(bad.kind, bad.detail, raw)
            notice = None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # a message the decoder did not foresee: counted like any bad one, never fatal
            c.bad_message(f"undecodable ({type(exc).__name__})", str(exc), raw)
            notice = None
        if notice == RECONNECT:
            conn.end(_Ended("the venue announced a reconnect", planned=True))
        if len(self._buffer) >= self.batch_size:
            self._flush()
        elif not self._flush_scheduled and len(self._buffer):
            self._flush_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        """_flush as a loop callback: what it raises ends the feed (the engine
        stopped taking ticks: quietly; anything else: as ``error``)."""
        try:
            self._flush()
        except EngineStateError:
            self._cancel()
        except Exception as exc:        # noqa: BLE001 - kept as the feed's error
            log.error("%s feed ended: %s: %s", self.venue.name, type(exc).__name__, exc)
            self._error = exc
            self._cancel()

    def _flush(self) -> None:
        """Hand the ticks decoded so far to the engine as one array."""
        self._flush_scheduled = False
        if not len(self._buffer):
            return
        ticks = self._buffer.take()
        if len(ticks):
            assert self._sink is not None   # ticks are decoded only after bind()
            self._sink.ingest(ticks, checked=True)
            self._counters.batches += 1


class _Connection:
    """One open WebSocket connection: its reader and its watchdog (staleness,
    age, application pings). ``finished`` raises _Ended when it is over."""

    def __init__(self, feed: LiveFeed, ws):
        self.feed = feed
        self.ws = ws
        loop = asyncio.get_running_loop()
        self.finished: asyncio.Future = loop.create_future()
        self.finished.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved
        self.first_message: asyncio.Future = loop.create_future()
        self.opened = self.last_message = time.monotonic()
        self.tasks = [loop.create_task(self._read()), loop.create_task(self._watch())]
        feed._connections.add(self)

    def end(self, why: _Ended) -> None:
        if not self.finished.done():
            self.finished.set_exception(why)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.end(_Ended("closed"))
        self.feed._connections.discard(self)
        try:
            await asyncio.wait_for(self.ws.close(), timeout=2.0)
        except (asyncio.TimeoutError, OSError, WebSocketException):
            pass
        self.feed._counters.connected = bool(self.feed._connections)

    async def _read(self) -> None:
        feed = self.feed
        try:
            first: asyncio.Future | None = self.first_message
            async for raw in self.ws:
                self.last_message = time.monotonic()
                if first is not None:
                    feed._live()
                    first.set_result(None)
                    first = None
                feed._on_message(raw, self)
            code = self.ws.close_code
            self.end(_Ended(f"the venue closed the connection (code {code}, "
                            f"{self.ws.close_reason or 'no reason given'})"))
        except ConnectionClosed as exc:
            self.end(_Ended(f"connection lost: {exc}"))
        except Exception as exc:
            if not self.finished.done():
                self.finished.set_exception(exc)    # an engine error ends the feed
            raise

    async def _watch(self) -> None:
        feed, venue = self.feed, self.feed.venue
        tick = min(1.0, feed.stale_after / 4)
        ping = venue.ping
        next_ping = self.opened + venue.app_ping_interval if ping is not None else None
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if now - self.last_message > feed.stale_after:
                feed._counters.stale += 1
                self.end(_Ended(f"no message for {now - self.last_message:.1f} s "
                                f"(stale_after={feed.stale_after:g} s): replacing the connection"))
                return
            age = feed.max_connection_age
            if age is not None and now - self.opened > age:
                self.end(_Ended(f"the connection is {now - self.opened:,.0f} s old "
                                f"(max_connection_age={age:g} s)", planned=True))
                return
            if ping is not None and next_ping is not None and now >= next_ping:
                next_ping = now + venue.app_ping_interval
                try:
                    await self.ws.send(ping())
                except ConnectionClosed:
                    return          # the reader sees it too
