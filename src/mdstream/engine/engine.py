"""Engine: the in-process market-data engine (feeds -> workers -> subscriptions)."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
import warnings
from typing import Callable, Iterable, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from mdstream import _core
from mdstream.batch import ResultBatch, Snapshot
from mdstream.durations import parse_duration_ns
from mdstream.engine.catchup import JournalCatchUp
from mdstream.engine.limits import DEFAULT_MAX_SUBSCRIBERS, check_engine_settings
from mdstream.engine.publish import Quote, Trade, bar_ticks, quote_ticks, trade_ticks, tuple_ticks
from mdstream.engine.registry import SubscriptionRegistry
from mdstream.engine.sink import EngineSink
from mdstream.engine.stats import (EngineStats, Percentiles, StageLatency, VenueStats,
                                   journal_stats)
from mdstream.engine.subscription import Subscription
from mdstream.engine.symbols import SymbolTable
from mdstream.engine.trading import Trading
from mdstream.errors import EngineStateError, InvalidArgumentError, OutOfRangeError
from mdstream.feeds.base import Feed
from mdstream.journal import Journal, JournalConfig
from mdstream.journal.retention import RetentionThread
from mdstream.journal.watch import JournalWatch
from mdstream.journal.watch import error_text as journal_error_of
from mdstream.request import (DEFAULT_TICKS_PER_FRAME, Policy, StreamRequest, field_list,
                              kind_list, symbol_list)
from mdstream.venue.config import PaperVenue

__all__ = ["Engine", "Trade", "Quote", "Snapshot"]

#: A symbol argument of publish_*: a name or an id, or one per tick.
SymbolArg = Union[str, int, Sequence[str], Sequence[int], np.ndarray]


class Engine(Trading):
    """A market-data engine running in this process.

    A feed (or your own code, through publish()) sends ticks in; the core
    sequences them, shards them by symbol over ``workers`` threads that
    compute per-symbol analytics without the GIL, and writes the results to
    a ring that every subscription reads at its own pace.

    Parameters
    ----------
    feed:
        Where ticks come from (e.g. SimulatedFeed, CSVFeed); None to publish
        only. The feed is bound to a TickSink of this engine, never to the
        engine itself (see mdstream.feeds.Feed).
    workers:
        Worker threads; symbol id % workers picks a symbol's worker.
    symbols:
        Symbols to declare up front (the feed's are added automatically).
    ring_size:
        Results the ring holds (a power of two): how far a subscriber may fall
        behind before its policy applies.
    channel_capacity:
        Ticks each worker's ingest channel holds before the feed waits.
    ema_span:
        Span N of the price EMA (alpha = 2 / (N + 1)); or give ``ema_alpha``.
    bars:
        OHLCV bar intervals, e.g. ``("1s", "1m")`` (up to 4; numbers are
        seconds). Bars are cut by event time and arrive in the stream as
        results of kind BAR when their interval closes, and at end of data.
    max_symbols, max_subscribers:
        Fixed capacities of the core's tables. Each sizing setting has a range
        (``mdstream.engine.limits.LIMITS``: workers 1-256, ring_size 2-2**24,
        channel_capacity 1-2**22, max_symbols 1-2**20, max_subscribers
        1-4096); outside it, InvalidArgumentError names the setting.
    latency:
        Keep latency histograms per stage (stats().latency); a few ns per tick.
    journal:
        A directory (or a JournalConfig) to journal every result into. On a
        directory that already holds a journal the engine recovers: it cuts a
        torn tail, rebuilds the analytics and continues the sequence, and
        subscriptions can resume from any journaled seq (``from_seq``).
        Subscribers see a result once it is journaled.
    venue:
        A PaperVenue: the engine then takes orders (submit_order(), ...)
        and fills them from its own market data (mdstream.engine.trading).
        None: no orders.
    drain_timeout:
        On stop(), how long (seconds) workers may take to finish queued ticks
        when a 'block' subscriber holds them back.
    """

    def __init__(self, feed: Feed | None = None, *, workers: int = 2,
                 symbols: Iterable[str] = (), ring_size: int = 1 << 16,
                 channel_capacity: int = 1 << 15, ema_span: float = 20.0,
                 ema_alpha: float | None = None, bars: Iterable[str | float] = (),
                 max_symbols: int = 4096,
                 max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS, drain_timeout: float = 1.0, latency: bool = True,
                 journal: "str | os.PathLike | JournalConfig | None" = None,
                 venue: PaperVenue | None = None):
        # Each within its range (engine/limits.py), before anything is allocated.
        checked = check_engine_settings(
            workers=workers, ring_size=ring_size, channel_capacity=channel_capacity,
            max_symbols=max_symbols, max_subscribers=max_subscribers, drain_timeout=drain_timeout)
        workers, ring_size, channel_capacity, max_symbols, max_subscribers, drain_timeout = (
            checked.values())
        if ema_alpha is None:
            if ema_span < 1:
                raise InvalidArgumentError(f"ema_span must be >= 1, got {ema_span}")
            ema_alpha = 2.0 / (ema_span + 1.0)
        self.ema_alpha = float(ema_alpha)
        self.workers = int(workers)
        self.drain_timeout = float(drain_timeout)
        self.bar_intervals_ns = [parse_duration_ns(b) for b in bars]
        self._core = _core.Core(self.workers, max_symbols, ring_size, channel_capacity,
                                self.ema_alpha, max_subscribers, self.bar_intervals_ns, latency)
        self._setup_venue(venue)
        self._journal = None
        self._retention: RetentionThread | None = None
        self.recovery = None
        if journal is not None:
            config = journal if isinstance(journal, JournalConfig) else JournalConfig(journal)
            self._journal = Journal(config, {"ema_alpha": self.ema_alpha,
                                             "bar_intervals_ns": self.bar_intervals_ns})
            try:
                self.symbol_table = SymbolTable(max_symbols, on_new=self._journal.append_symbols,
                                                existing=self._journal.load_symbols())
                self._core.enable_journal(str(config.directory), config.segment_bytes,
                                          _core.DURABILITY[config.durability],
                                          config.fsync_interval_ns, config.on_error == "retry",
                                          int(round(config.retry_interval * 1e9)))
                #: What the start on an existing journal found (a RecoveryReport).
                self.recovery = self._journal.recover(self._core, self._venue)
            except BaseException:
                self._journal.close()       # release the directory's lock at once
                raise
        else:
            self.symbol_table = SymbolTable(max_symbols)
        #: The id of the stream of this engine's sequence numbers: its
        #: journal's (kept across restarts on that journal), else new for
        #: every engine. A client resuming with from_seq checks it.
        self.stream_id: str = (self._journal.stream_id if self._journal is not None
                               else uuid.uuid4().hex)
        self._journal_watch: JournalWatch | None = None
        self._journal_listeners: list = []
        self._subs = SubscriptionRegistry()
        self._state = "new"
        self._started_at = 0.0
        self._stopped_at = 0.0
        self.feed = feed
        self._feed_lock = threading.Lock()
        self._feed_started = False
        self._feed_timer: threading.Timer | None = None
        if feed is not None:
            self.symbol_table.add(feed.symbols)
        self.symbol_table.add(symbols)
        if feed is not None:
            # The feed's only way in: names to ids, ticks through _ingest, end of data.
            feed.bind(EngineSink(self._core, self.symbol_table, self._ingest))

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "Engine":
        """Start the workers and the feed. An engine starts once."""
        if self._state != "new":
            raise EngineStateError(f"the engine is {self._state}; an Engine can be started once")
        self._core.start()
        if self._journal is not None:
            self._journal.attach(self._core)
            self._retention = RetentionThread(self._journal)
            watch = self._journal_watch = JournalWatch(self._core)
            for listener in self._journal_listeners:
                watch.add_listener(listener)
        self._state = "running"
        self._started_at = time.monotonic()
        if self.feed is not None:
            wait = getattr(self.feed, "wait_for_subscriber", False)
            if wait is False or wait is None or len(self._subs) > 0:
                self._start_feed()
            elif wait is not True:
                # A number of seconds: start then even without a subscriber.
                self._feed_timer = threading.Timer(float(wait), self._start_feed)
                self._feed_timer.daemon = True
                self._feed_timer.name = "mdstream-feed-start"
                self._feed_timer.start()
        return self

    def _start_feed(self) -> None:
        """Start the feed, once, while the engine runs (at start(), or for a
        replay that waits for its reader: at the first subscription, at
        wait(), or after its wait_for_subscriber seconds)."""
        with self._feed_lock:
            if self._feed_started or self._state != "running":
                return
            self._feed_started = True
        if self._feed_timer is not None:
            self._feed_timer.cancel()
        # not None on this path (see the checks above)
        self.feed.start()  # type: ignore[union-attr]

    @property
    def feed_waiting(self) -> bool:
        """True while a replay feed waits for the first subscription
        (``Feed.wait_for_subscriber``) before it produces anything."""
        return (self.feed is not None and self._state == "running"
                and not self._feed_started)

    def stop(self) -> None:
        """Stop the feed and the workers and join every thread.

        Queued ticks are processed (up to drain_timeout when a 'block'
        subscriber holds the workers back); subscriptions then deliver what is
        left and end. Always returns; safe to call twice.
        """
        if self._state == "stopped":
            return
        if self._feed_timer is not None:
            self._feed_timer.cancel()
        with self._feed_lock:
            feed_started = self._feed_started
            self._feed_started = True       # never started after this
        if self.feed is not None and self._state == "running" and feed_started:
            self.feed.stop()
        self._core.stop(self.drain_timeout)
        if self._journal is not None:
            if self._retention is not None:
                self._retention.stop()
            if self._journal_watch is not None:
                self._journal_watch.stop()
            self._journal.close()
        self._state = "stopped"
        self._stopped_at = time.monotonic()
        self._raise_feed_error()

    def _raise_feed_error(self) -> None:
        """A feed that failed in its own thread (e.g. a bad input row) has its
        error raised here, so it is never silent."""
        error = self.feed.error if self.feed is not None else None
        if error is not None:
            raise error

    def __repr__(self) -> str:
        c = self._core.counters()
        feed = type(self.feed).__name__ if self.feed is not None else "no feed"
        journal = f" journal={self._journal.config.directory}" if self._journal is not None else ""
        return (f"<mdstream.Engine {self._state} {feed} workers={self.workers} "
                f"symbols={len(self.symbol_table)} ticks_in={c['ingested']} "
                f"results={c['results']} next_seq={self._core.next_seq} "
                f"subscriptions={len(self._subs)}{journal}>")

    def __enter__(self) -> "Engine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def finished(self) -> bool:
        """True once the feed has ended (or stop()) and every result is in the log."""
        return bool(self._core.counters()["finished"])

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the engine finishes (a finite feed ended and all was processed).

        Returns True if it did within timeout seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.feed_waiting:
            # Waiting for the end with no subscriber yet: nobody is about to
            # read from the start, so a replay waiting for its reader goes now.
            self._start_feed()
        while not self.finished:
            if self._state == "new":
                raise EngineStateError("the engine was not started; call start() first")
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        self._raise_feed_error()
        return True

    def close_ingest(self) -> None:
        """Declare the end of data: open bars close, and once every result is
        delivered, subscriptions end."""
        self._core.close_ingest()

    # -- symbols -----------------------------------------------------------

    @property
    def symbols(self) -> Sequence[str]:
        """Symbol names by id."""
        return self.symbol_table.names

    def add_symbols(self, names: Iterable[str]) -> list[int]:
        """Declare more symbols (usable while running); returns their ids."""
        return self.symbol_table.add(names)

    # -- subscriptions -----------------------------------------------------

    def subscribe(self, symbols: Iterable[str] | str | None = None, policy: Policy = "block",
                  max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME, from_seq: int | None = None,
                  snapshot: bool = False, *, max_wait: float = 0.0,
                  block_deadline: float | None = None,
                  max_batch: int | None = None,
                  fields: Iterable[str] | str | None = None,
                  kinds: Iterable[str] | str | None = None, min_size: float | None = None,
                  min_price: float | None = None,
                  max_price: float | None = None,
                  conflate: float | None = None) -> Subscription:
        """Subscribe to results from now on (or from ``from_seq``).

        ``symbols``: names to receive (None: all, including symbols added
        later; "AAPL,MSFT" is two). ``policy`` says what happens if the
        subscription falls a whole ring behind: 'block' (the engine waits for
        it), 'skip' (jump ahead, with a Gap notice on the next batch) or
        'disconnect' (SlowConsumerError). Subscribe before start() to receive
        every result from the first. ``max_ticks_per_frame`` caps a batch;
        ``max_wait`` (seconds) lets a batch wait that long after its first
        result to fill up. ``block_deadline`` (seconds, policy 'block' only;
        None: none): a subscription that holds the engine back for longer
        than that without reading is disconnected (SlowConsumerError naming
        the deadline); one that reads, however slowly, is waited for.

        ``from_seq``: start at this sequence number: one the ring still holds
        is replayed from memory, one beyond the newest is waited for, an older
        one raises OutOfRangeError (with ``.oldest``). ``snapshot=True``: the
        subscription's ``snapshot`` holds the newest result of each symbol,
        and the stream starts exactly at the next sequence number after it.

        ``fields``: the columns wanted (names of ``mdstream.request.FIELDS``,
        e.g. ``["seq", "ts_ns", "symbol_id", "price", "size"]``; None: all).
        In process the batches still hold full rows (views of the ring, no
        copy), but their ``fields`` name the projection: other columns raise
        AttributeError and to_pandas() holds only these. ``kinds`` ("trade",
        "quote", "bar"; None: all), ``min_size``, ``min_price``,
        ``max_price`` (inclusive; None: no bound): filters run in the core
        without the GIL; a filtered batch is a copy of the matching rows, and
        results filtered out are not gaps (see StreamRequest). ``conflate``
        (seconds; None: off): at most one result per symbol per interval,
        the newest, the folded ones counted in the batch's Gap.

        Raises InvalidArgumentError (see StreamRequest; an unknown field lists
        the valid ones), UnknownSymbolError,
        EngineStateError once stopped, TooManySubscribersError.
        ``max_batch`` is the former name of ``max_ticks_per_frame``.
        """
        if max_batch is not None:
            warnings.warn("Engine.subscribe(max_batch=...) is now max_ticks_per_frame=...",
                          DeprecationWarning, stacklevel=2)
            max_ticks_per_frame = max_batch
        return self.open(StreamRequest(symbol_list(symbols), policy, max_ticks_per_frame, max_wait,
                                       from_seq=from_seq, snapshot=snapshot,
                                       fields=field_list(fields), kinds=kind_list(kinds),
                                       min_size=min_size, min_price=min_price,
                                       max_price=max_price, conflate=conflate),
                         block_deadline=block_deadline)

    def open(self, request: StreamRequest, *, block_deadline: float | None = None) -> Subscription:
        """Open a subscription for a validated request (what subscribe() and
        the gRPC servicer both call). ``block_deadline``: seconds a 'block'
        subscription may hold the engine back without reading before it is
        disconnected (None or 0: no deadline).

        The first subscription starts a replay feed that waits for its reader
        (``Feed.wait_for_subscriber``), once it is registered: it sees the
        replay from its first row."""
        if request.policy is None:            # the in-process default
            request = dataclasses.replace(request, policy="block")
        if block_deadline is not None and not block_deadline >= 0:
            raise InvalidArgumentError(
                f"block_deadline must be >= 0 seconds (or None), got {block_deadline}")
        deadline_ns = 0 if not block_deadline else max(1, round(block_deadline * 1e9))
        if self._state == "stopped":
            raise EngineStateError("the engine is stopped; subscribe before or while it runs")
        names = None if request.symbols is None else list(request.symbols)
        ids = None if names is None else self.symbol_table.ids(names)
        from_seq = request.from_seq
        snapshot = request.snapshot
        max_batch = request.max_ticks_per_frame
        code = _core.POLICIES[request.policy or "block"]
        catchup = None
        try:
            reader = self._core.reader(code, ids, max_batch, -1 if from_seq is None else from_seq,
                                       snapshot, deadline_ns)
        except OutOfRangeError:
            if self._journal is None:
                raise
            # Older than the ring: replay from the journal, then go live.
            reader = None
            catchup = JournalCatchUp(
                self._journal, lambda pos: self._core.reader(code, ids, max_batch, pos, False,
                                                             deadline_ns),
                # not None on this path (see the checks above)
                from_seq, ids)  # type: ignore[arg-type]
        first = None
        if snapshot:
            snap_ids = ids if ids is not None else list(range(len(self.symbol_table)))
            # not None on this path (see the checks above)
            head, rows, _ = reader.snapshot_and_register(snap_ids)  # type: ignore[union-attr]
            first = Snapshot(head - 1, ResultBatch(rows, self.symbol_table.names))
        sub = Subscription(reader, self.symbol_table.names, request, self._subs.forget, catchup)
        sub.snapshot = first
        self._subs.add(sub)
        if self.feed_waiting:
            self._start_feed()
        return sub

    def snapshot(self, symbols: Iterable[str] | str | None = None) -> "Snapshot":
        """The newest result of each symbol (last trade, VWAP, volume, quote,
        ...), all as of one sequence number: ``as_of_seq``."""
        if isinstance(symbols, str):
            symbols = [symbols]
        ids = (list(range(len(self.symbol_table))) if symbols is None
               else self.symbol_table.ids(list(symbols)))
        head, rows, _ = self._core.snapshot(ids)
        return Snapshot(head - 1, ResultBatch(rows, self.symbol_table.names))

    # -- publishing ----------------------------------------------------------

    def _ingest(self, ticks: np.ndarray) -> int:
        """The one way ticks come in: publish_* and a bound feed's sink."""
        if self._state != "running":
            raise EngineStateError(f"the engine is {self._state}: call start() before publishing")
        return self._core.ingest(ticks)

    def publish_trades(self, symbol: SymbolArg, price: ArrayLike, size: ArrayLike,
                       ts_ns: ArrayLike | None = None) -> int:
        """Publish trades from arrays (or scalars, broadcast). Returns the count taken.

        ``symbol``: names or ids (one for all, or one per trade); ``price``: any
        finite number (negative and 0 too); ``size``: finite, >= 0; ``ts_ns``:
        event times in ns since the epoch (default: now). Waits while the engine
        is saturated (backpressure). The rules (mdstream.tick_rules) are those of
        every ingestion path: a bad value raises InvalidArgumentError naming the
        tick and the field, and nothing of the call is taken.
        """
        return self._ingest(trade_ticks(self.symbol_table, symbol, price, size, ts_ns))

    def publish_quotes(self, symbol: SymbolArg, bid: ArrayLike, ask: ArrayLike,
                       bid_size: ArrayLike = 0.0, ask_size: ArrayLike = 0.0,
                       ts_ns: ArrayLike | None = None) -> int:
        """Publish best bid/offer updates from arrays (or scalars). Returns the count taken.

        A side with price NaN or 0 and size 0 is absent (no bid, no ask): it is
        stored as NaN / 0 and makes the mid and spread NaN. NaN with a size > 0,
        infinity and negative sizes raise InvalidArgumentError (mdstream.tick_rules).
        """
        return self._ingest(quote_ticks(self.symbol_table, symbol, bid, ask, bid_size, ask_size,
                                        ts_ns))

    def publish_bars(self, symbol: SymbolArg, open: ArrayLike, high: ArrayLike, low: ArrayLike,
                     close: ArrayLike, volume: ArrayLike, *, ts_ns: ArrayLike,
                     interval_ns: ArrayLike) -> int:
        """Publish finished OHLCV bars (from a vendor's bar data) from arrays
        (or scalars, broadcast). Returns the count taken.

        ``ts_ns``: each bar's start (ns since the epoch; required);
        ``interval_ns``: its length in ns (> 0), e.g. 60_000_000_000 for 1 min.
        Each bar gets the next sequence number and comes out as a result of
        kind ``bar`` with ``open``, ``high``, ``low``, the close in ``price``,
        the volume in ``size`` and ``volume``, ``interval_ns``, and
        ``trade_count`` 0, ``value`` and ``vwap`` NaN (a vendor's OHLCV bar has
        neither notional nor trades). It changes no session analytics (those
        come from trades) and no bar the engine makes itself (``bars=``, from
        trades). Bad values (non-finite prices, not low <= open, close <= high,
        a negative volume, interval_ns <= 0) raise InvalidArgumentError naming
        the bar, and nothing of the call is taken.
        """
        return self._ingest(bar_ticks(self.symbol_table, symbol, open, high, low, close, volume,
                                      ts_ns, interval_ns))

    def publish(self, ticks: Iterable[Trade | Quote | tuple]) -> int:
        """Publish a sequence of Trade / Quote tuples in order (plain tuples
        ``(symbol, price, size[, ts_ns])`` are trades). Returns the count taken."""
        return self._ingest(tuple_ticks(self.symbol_table, ticks))

    # -- statistics ----------------------------------------------------------

    def journal_status(self) -> dict | None:
        """The journal writer's counters (written_seq, bytes, fsyncs, error, ...), or None."""
        return self._core.journal_status()

    @property
    def journal_error(self) -> str:
        """The journal writer's error now: the file and the OS error in words
        ("" while all is well, or without a journal)."""
        return journal_error_of(self._core.journal_status())

    def on_journal_error(self, listener: Callable[[str | None], None]) -> None:
        """Call listener(text) when the journal cannot be written (once per
        failure, not per attempt) and listener(None) once it is written again;
        from a thread of the engine. Without a journal it is never called."""
        self._journal_listeners.append(listener)
        if self._journal_watch is not None:
            self._journal_watch.add_listener(listener)

    def symbol_result_counts(self) -> list[int]:
        """Results written per symbol since start, by symbol id (aligned with ``symbols``)."""
        return self._core.symbol_result_counts(len(self.symbol_table))

    def latency_histograms(self) -> "dict[str, _core.LatencyHistogram]":
        """The since-start latency histogram (ns, ~0.8 % buckets) of each stage:
        feed_to_ingest, ingest_to_processed (the workers'), processed_to_sent
        and age_at_send (every subscription's, closed ones included). Merged
        copies of the core's counts: cumulative, so they only grow while the
        engine lives (empty with ``latency=False``)."""
        out = {stage: self._core.latency(stage, False)
               for stage in ("feed_to_ingest", "ingest_to_processed")}
        out.update(self._subs.total_latency())
        return out

    def stats(self) -> EngineStats:
        """Counters of the engine and of each open subscription."""
        c = self._core.counters()
        sub_stats, sub_latency = self._subs.stats()
        latency = {stage: StageLatency(Percentiles.of(self._core.latency(stage, True)),
                                       Percentiles.of(self._core.latency(stage, False)))
                   for stage in ("feed_to_ingest", "ingest_to_processed")}
        latency.update(sub_latency)
        if self._state == "new":
            uptime = 0.0
        else:
            end = self._stopped_at if self._state == "stopped" else time.monotonic()
            uptime = end - self._started_at
        processed = sum(c["processed"])
        return EngineStats(
            running=self._state == "running",
            finished=c["finished"],
            uptime_s=uptime,
            ticks_in=c["ingested"],
            processed=processed,
            results=c["results"],
            ticks_per_s=processed / uptime if uptime > 0 else 0.0,
            processed_per_worker=c["processed"],
            channel_depth=c["channel_depth"],
            dropped=sum(s.missed for s in sub_stats),
            disconnected=sum(1 for s in sub_stats if s.disconnected),
            bad_rows=self.feed.bad_rows if self.feed is not None else 0,
            subscriptions=sub_stats,
            latency=latency,
            journal=journal_stats(self._journal, self._core.journal_status(), self.recovery),
            late_ticks=c["late_ticks"],
            stream_id=self.stream_id,
            order_requests=c["order_requests"],
            venue=None if self._venue is None else VenueStats(**self._venue.counters()),
        )
