"""Publisher: every result of an engine into a NATS JetStream stream.

    import mdstream
    from mdstream.nats import Publisher

    engine = mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"]),
                             journal="/var/lib/mdstream")
    with Publisher(engine, "nats://127.0.0.1:4222", replicas=1):
        with engine:
            ...

A publisher is a subscriber of the engine like any other (a subscription
with a policy, read on a thread of its own): publishing never holds back the
engine's other subscribers. For every engine batch it sends one JetStream
message per symbol in it (subjects and headers: mdstream.nats.subjects),
each a ResultBatch frame encoded by the core (mdstream.nats.frames), and
waits for JetStream's acknowledgements of that batch before the next one,
so the messages of a batch are stored together and in batch order. A
message that is not acknowledged (a node down, a leader election) is sent
again with the same ``Nats-Msg-Id`` until it is: JetStream stores it once.

On start it reads the newest message of the stream: the engine continues
after the newest batch stored whole (``from_seq``, replayed from the ring or
the engine's journal), or repeats a batch cut short by a crash with the same
message ids; so restarting the engine on its journal adds no duplicate
within JetStream's duplicate window (``duplicate_window``, 120 s).

Policy: with a journal, ``disconnect`` (a publisher that falls a whole ring
behind is dropped and resubscribes from the journal: no gap); without one,
``skip`` (results it could not keep up with are lost, counted in
``stats().missed``, and edges see the gap). ``policy="block"`` makes the
engine wait for JetStream instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
import time
from typing import TYPE_CHECKING

from mdstream.engine.subscription import StreamEnded
from mdstream.errors import (
    InvalidArgumentError,
    JournalUnavailableError,
    OutOfRangeError,
    SlowConsumerError,
    SubscriptionClosedError,
)
from mdstream.nats.frames import encode_part, merge_parts, split_by_symbol
from mdstream.nats.loop import LoopThread
from mdstream.nats.stream import (
    NatsError,
    StreamSettings,
    connect,
    ensure_stream,
    parse_servers,
    stored_seqs,
)
from mdstream.nats.subjects import (
    DEFAULT_STREAM,
    DEFAULT_SUBJECT_PREFIX,
    MSG_ID,
    MessageSeqs,
    msg_id,
    subject_of,
)
from mdstream.request import DEFAULT_TICKS_PER_FRAME, POLICIES, StreamRequest

if TYPE_CHECKING:
    import numpy as np
    from nats.aio.client import Client
    from nats.js import JetStreamContext

    from mdstream.engine import Engine
    from mdstream.engine.subscription import Subscription

__all__ = ["Publisher", "PublisherStats"]

log = logging.getLogger("mdstream.nats.publish")


@dataclasses.dataclass(frozen=True)
class PublisherStats:
    """What a Publisher has done (``Publisher.stats()``).

    ``messages``/``ticks``/``bytes``: stored in JetStream by this publisher;
    ``duplicates``: messages JetStream already had (a batch repeated after a
    restart or a lost acknowledgement); ``last_seq``: newest engine seq
    stored (-1: none); ``lag``: results of the engine not yet read by the
    publisher (sequence numbers); ``errors``: failed send attempts (each
    retried), ``last_error`` the newest in words; ``gaps``/``missed``:
    results skipped (policy ``skip`` fell behind, or older than the engine
    holds); ``resubscribes``: times the subscription was opened again;
    ``resumed_from``: the engine seq publishing started at.
    """

    running: bool
    stream: str
    messages: int
    duplicates: int
    ticks: int
    bytes: int
    batches: int
    last_seq: int
    lag: int
    errors: int
    last_error: str
    gaps: int
    missed: int
    resubscribes: int
    resumed_from: int | None


class Publisher:
    """Publishes an engine's results to a JetStream stream (see the module doc).

    Parameters
    ----------
    engine:
        The engine; start the publisher before the engine to publish from
        its first result (or on a journal: from where the stream stopped).
    servers:
        ``"nats://host:port"``, several comma-separated or a list (a cluster).
    stream, subject_prefix:
        The JetStream stream (default ``MDSTREAM``, created when missing)
        and its subjects ``<prefix>.<SYMBOL>`` (default ``mdstream``).
    replicas, storage, duplicate_window, max_age, max_bytes:
        The stream's settings when it is created (mdstream.nats.stream.StreamSettings:
        replicas 1-5, "file" or "memory", seconds, seconds (0: forever), bytes (-1: no limit)).
    policy:
        The subscription's policy (None: ``disconnect`` with a journal,
        ``skip`` without one; see the module doc).
    max_ticks_per_frame, max_wait:
        The engine batch (and so the message) size bound, in results, and
        how long (seconds) a result may wait for its batch to fill.
    connect_timeout, ack_timeout:
        Seconds to reach NATS and JetStream at start (NatsError after), and
        to wait for an acknowledgement before sending a message again.

    Raises InvalidArgumentError for bad settings, NatsError from start()
    when NATS cannot be reached, the stream has other subjects, or it holds
    another engine's stream (another ``stream_id``: an engine restarted
    without its journal must publish to a new or emptied stream).
    """

    def __init__(self, engine: "Engine", servers, *, stream: str = DEFAULT_STREAM,
                 subject_prefix: str = DEFAULT_SUBJECT_PREFIX, replicas: int = 1,
                 storage: str = "file", duplicate_window: float = 120.0, max_age: float = 0.0,
                 max_bytes: int = -1, policy: str | None = None,
                 max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME, max_wait: float = 0.002,
                 connect_timeout: float = 10.0, ack_timeout: float = 5.0):
        if policy is not None and policy not in POLICIES:
            raise InvalidArgumentError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.engine = engine
        self.servers = parse_servers(servers)
        self.settings = StreamSettings(stream, subject_prefix, replicas, storage,
                                       duplicate_window, max_age, max_bytes)
        self.policy = policy or ("disconnect" if engine.journal_status() is not None else "skip")
        self._request = StreamRequest(None, self.policy, max_ticks_per_frame=max_ticks_per_frame,
                                      max_wait=max_wait)
        self.connect_timeout = connect_timeout
        self.ack_timeout = ack_timeout
        self._loop: LoopThread | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._cut: int | None = None          # repeat the batch ending here first
        self._held: list = []                 # its rows, until the batch is whole
        self._from_seq: int | None = None
        self.error: BaseException | None = None   # what ended the publishing thread
        # counters (written by the publishing thread)
        self._messages = self._duplicates = self._ticks = self._bytes = self._batches = 0
        self._errors = self._gaps = self._missed = self._resubscribes = 0
        self._last_error = ""
        self._last_seq = -1

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> "Publisher":
        """Connect, create or check the stream, find where it stopped and
        start publishing from there (on a thread of its own)."""
        if self._loop is not None:
            raise InvalidArgumentError("the publisher was already started")
        self._loop = LoopThread("mdstream-nats-publish-io")
        try:
            self._from_seq = self._loop.run(self._setup(), self.connect_timeout + 15)
        except concurrent.futures.TimeoutError:
            self._close_connection()
            raise NatsError(f"JetStream at {', '.join(self.servers)} did not answer in time") \
                from None
        except BaseException:
            self._close_connection()
            raise
        self._last_seq = self._from_seq - 1
        self._subscribe(self._from_seq)
        self._thread = threading.Thread(target=self._run, name="mdstream-nats-publish",
                                        daemon=True)
        self._thread.start()
        log.debug("publishing to JetStream stream %s at %s from seq %d", self.settings.name,
                 ", ".join(self.servers), self._from_seq)
        return self

    async def _setup(self) -> int:
        self._nc = await connect(self.servers, "mdstream-publisher", self.connect_timeout)
        self._js = self._nc.jetstream(timeout=self.ack_timeout)
        info = await ensure_stream(self._js, self.settings, True, self.connect_timeout)
        return await self._resume_point(info.state.last_seq if info.state.messages else 0)

    async def _resume_point(self, last: int) -> int:
        """The engine seq to publish from, after what JetStream holds."""
        if last == 0:
            return 0
        seqs = None
        while seqs is None and last > 0:      # the newest messages may have been deleted
            seqs = await stored_seqs(self._js, self.settings.name, last)
            last -= seqs is None
        if seqs is None:
            return 0
        if seqs.stream_id and seqs.stream_id != self.engine.stream_id:
            raise NatsError(
                f"JetStream stream {self.settings.name!r} holds the results of stream id "
                f"{seqs.stream_id!r}, but this engine's stream id is {self.engine.stream_id!r} "
                "(an engine restarted without its journal numbers its results anew): publish to "
                "another stream (--publish-stream) or delete this one (nats stream rm "
                f"{self.settings.name})")
        self._check_not_ahead(seqs.batch_last)
        whole = seqs.part == seqs.parts - 1
        if whole and seqs.parts > 1:
            head = await stored_seqs(self._js, self.settings.name, last - seqs.parts + 1)
            whole = head is not None and head.part == 0 and head.batch_last == seqs.batch_last
        if whole:
            return seqs.batch_last + 1
        # A batch cut short: send it again whole (same message ids), then go on.
        self._cut = seqs.batch_last
        return seqs.batch_first

    def _check_not_ahead(self, stored_last: int) -> None:
        """JetStream holding results the engine's journal does not (a journal
        restored from an older copy, or a tail lost with the machine) would
        mean two different results under one seq: refused, naming both."""
        journal = self.engine.stats().journal
        if journal is None or self.engine.running:
            return
        if stored_last >= journal.next_seq:
            raise NatsError(
                f"JetStream stream {self.settings.name!r} holds results up to seq {stored_last}, "
                f"but this engine's journal continues at seq {journal.next_seq}: the journal has "
                "lost results JetStream has (restored from an older copy?); publish to another "
                f"stream (--publish-stream) or delete this one (nats stream rm {self.settings.name})")

    def _subscribe(self, from_seq: int) -> None:
        try:
            self._sub = self.engine.open(dataclasses.replace(self._request, from_seq=from_seq))
        except OutOfRangeError as exc:
            # The engine no longer holds these results (no journal, or retention).
            start = exc.oldest if self.engine.journal_status() is not None else None
            missed = (exc.oldest - from_seq) if start is not None else 0
            self._gaps += 1
            self._missed += missed
            self._cut, self._held = None, []
            log.warning("JetStream stream %s: results from seq %d are no longer in the engine; "
                        "publishing from %s", self.settings.name, from_seq,
                        "the newest" if start is None else f"seq {start}")
            self._sub = self.engine.open(dataclasses.replace(self._request, from_seq=start))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything the (stopped) engine produced is published;
        False if still publishing after ``timeout`` s."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop publishing (what is not acknowledged yet is not waited for:
        call drain() after stopping the engine for that) and close the connection."""
        self._stop.set()
        if self._sub is not None:
            self._sub.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close_connection()

    def _close_connection(self) -> None:
        if self._loop is None:
            return
        self._loop.close(self._nc)
        self._nc = None

    def __enter__(self) -> "Publisher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the publishing thread ------------------------------------------------------

    def _run(self) -> None:
        try:
            assert self._sub is not None        # start() subscribed before starting the thread
            while not self._stop.is_set():
                try:
                    batch = self._sub.next_batch(0.2)
                except StreamEnded:
                    return
                except SubscriptionClosedError:
                    if self._stop.is_set():
                        return
                    self._resubscribe("the subscription was closed")
                    continue
                except (SlowConsumerError, JournalUnavailableError) as exc:
                    self._resubscribe(str(exc))
                    continue
                if batch is None:
                    continue
                if batch.gap is not None:
                    self._gaps += 1
                    self._missed += batch.gap.missed
                for rows in self._whole_batches(batch.rows):
                    self._publish(rows)
        except BaseException as exc:        # never silently: stats and the log say it
            self.error = exc
            self._last_error = f"publishing stopped: {exc}"
            log.exception("publishing to JetStream stopped")
        finally:
            with self._progress:
                self._progress.notify_all()

    def _resubscribe(self, why: str) -> None:
        self._resubscribes += 1
        self._last_error = why
        log.warning("JetStream publisher: %s; resubscribing from seq %d", why, self._next_seq())
        if self._sub is not None:
            self._sub.close()
        if self._stop.wait(0.05):
            return
        self._held = []
        self._subscribe(self._next_seq())

    def _next_seq(self) -> int:
        if self._cut is not None:
            assert self._from_seq is not None   # start() set both
            return self._from_seq
        return self._last_seq + 1

    def _whole_batches(self, rows: "np.ndarray") -> list:
        """The batches to publish from rows read: the batch being repeated
        (up to ``_cut``) once it is whole, as it was first sent."""
        if self._cut is None:
            return [rows] if len(rows) else []
        self._held.append(rows)
        if not len(rows) or rows["seq"][-1] < self._cut:
            return []
        held = merge_parts(self._held)
        cut, self._cut, self._held = self._cut, None, []
        head, tail = held[held["seq"] <= cut], held[held["seq"] > cut]
        return [r for r in (head, tail) if len(r)]

    def _publish(self, rows: "np.ndarray") -> None:
        """One engine batch: a message per symbol, sent until all are stored."""
        seq = rows["seq"]
        first, last = int(seq[0]), int(seq[-1])
        names = self.engine.symbol_table.names
        stream_id = self.engine.stream_id
        parts = list(split_by_symbol(rows))
        pending = []
        for i, (sid, part) in enumerate(parts):
            symbol = names[sid]
            pseq = part["seq"]
            p_first, p_last = int(pseq[0]), int(pseq[-1])
            headers = MessageSeqs(p_first, p_last, first, last, len(parts), i,
                                  stream_id).headers()
            headers[MSG_ID] = msg_id(stream_id, p_first, p_last, symbol)
            pending.append((subject_of(self.settings.subject_prefix, symbol),
                            encode_part(part, names), headers, len(part)))
        delay = 0.05
        assert self._loop is not None           # start() made it
        while pending:
            try:
                results = self._loop.run(self._send(pending), self.ack_timeout * 2 + 5)
            except concurrent.futures.TimeoutError as exc:
                results = [exc] * len(pending)
            failed = []
            for message, result in zip(pending, results):
                if isinstance(result, BaseException):
                    failed.append(message)
                elif result.duplicate:
                    self._duplicates += 1
                else:
                    self._messages += 1
                    self._ticks += message[3]
                    self._bytes += len(message[1])
            if failed:
                self._errors += 1
                error = next(r for r in results if isinstance(r, BaseException))
                self._last_error = (f"{len(failed)} of {len(pending)} messages not stored "
                                    f"(seq {first} to {last}): {error or type(error).__name__}")
                if self._errors == 1 or self._errors % 100 == 0:
                    log.warning("JetStream: %s; sending them again", self._last_error)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 1.0)
            pending = failed
        self._batches += 1
        with self._progress:
            self._last_seq = last
            self._progress.notify_all()

    async def _send(self, messages: list) -> list:
        js, stream, timeout = self._js, self.settings.name, self.ack_timeout
        assert js is not None                   # start() connected
        return await asyncio.gather(
            *(js.publish(subject, data, timeout=timeout, stream=stream, headers=headers)
              for subject, data, headers, _n in messages), return_exceptions=True)

    # -- watching it ---------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The newest engine seq stored in JetStream (-1: none yet)."""
        return self._last_seq

    def wait_published(self, seq: int, timeout: float | None = None) -> bool:
        """Wait until engine seq ``seq`` is stored in JetStream (False: not
        within ``timeout`` s, or the publishing thread ended)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            while self._last_seq < seq:
                if self._thread is None or not self._thread.is_alive():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._progress.wait(left if left is not None else 1.0)
            return True

    def stats(self) -> PublisherStats:
        sub = self._sub
        lag = 0
        if sub is not None and not sub.closed:
            try:
                lag = int(sub.counters()["lag"])
            except Exception:
                lag = 0
        return PublisherStats(
            running=self._thread is not None and self._thread.is_alive(),
            stream=self.settings.name, messages=self._messages, duplicates=self._duplicates,
            ticks=self._ticks, bytes=self._bytes, batches=self._batches, last_seq=self._last_seq,
            lag=lag, errors=self._errors, last_error=self._last_error, gaps=self._gaps,
            missed=self._missed, resubscribes=self._resubscribes, resumed_from=self._from_seq)

    def metric_families(self):
        """Prometheus metric families of stats() (``mdstream_nats_*``, label
        ``stream``), for mdstream.observe.metrics' ``extra``."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        st = self.stats()
        for kind, name, doc, value in (
                (CounterMetricFamily, "mdstream_nats_published_messages",
                 "JetStream messages stored by the publisher.", st.messages),
                (CounterMetricFamily, "mdstream_nats_published_ticks",
                 "Results stored in JetStream by the publisher.", st.ticks),
                (CounterMetricFamily, "mdstream_nats_published_bytes",
                 "Bytes of the messages stored in JetStream.", st.bytes),
                (CounterMetricFamily, "mdstream_nats_publish_errors",
                 "Failed send attempts to JetStream (each retried).", st.errors),
                (CounterMetricFamily, "mdstream_nats_missed",
                 "Results the publisher skipped (fell behind without a journal).", st.missed),
                (GaugeMetricFamily, "mdstream_nats_last_seq",
                 "Newest engine seq stored in JetStream.", st.last_seq),
                (GaugeMetricFamily, "mdstream_nats_lag",
                 "Results of the engine not yet read by the publisher.", st.lag)):
            family = kind(name, doc, labels=["stream"])
            family.add_metric([st.stream], value)
            yield family
