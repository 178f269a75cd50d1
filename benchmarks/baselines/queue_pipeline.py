"""The engine written the usual way: threads joined by queue.Queue.

    feed thread ──► inbox[w] (queue.Queue) ──► worker w ──► subscriber queues (queue.Queue)

The feed generates random-walk trades and quotes (like mdstream's
SimulatedFeed) and sends each tick to the worker that owns its symbol
(``symbol_id % workers``), so each symbol's state has one writer. Each
worker computes the symbol's analytics and puts the Result on every
subscriber's queue. Every queue is bounded: a slow subscriber blocks the
workers, which block the feed (backpressure, no loss).
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time

from benchmarks.baselines.analytics import QUOTE, TRADE, Analytics, Tick

#: Put on a subscriber's queue after the last result of a finite feed.
END = None


class QueuePipeline:
    """A feed thread, ``workers`` worker threads and any number of subscribers.

    ``rate``: ticks per second (0: as fast as possible); ``count``: ticks in
    all (0: no end). Subscribe before start() to get every result.
    """

    def __init__(self, n_symbols: int = 8, workers: int = 2, rate: float = 0.0, count: int = 0,
                 seed: int = 7, quote_ratio: float = 0.2, ema_alpha: float = 2.0 / 21.0,
                 queue_size: int = 10_000):
        self.n_symbols = n_symbols
        self.symbols = [f"SYM{i}" for i in range(n_symbols)]
        self.rate = rate
        self.count = count
        self.seed = seed
        self.quote_ratio = quote_ratio
        self.ema_alpha = ema_alpha
        self.queue_size = queue_size
        self.inboxes = [queue.Queue(queue_size) for _ in range(workers)]
        self._subscribers: tuple[queue.Queue, ...] = ()
        self._subs_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._feed, name="feed", daemon=True)]
        self._threads += [threading.Thread(target=self._worker, args=(inbox,), name=f"worker-{i}",
                                           daemon=True)
                          for i, inbox in enumerate(self.inboxes)]
        self._workers_left = workers

    # -- subscribers -------------------------------------------------------

    def subscribe(self, maxsize: int | None = None) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize or self.queue_size)
        with self._subs_lock:
            self._subscribers = self._subscribers + (q,)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._subs_lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not q)
        _drain(q)   # a worker blocked on this full queue can finish its put

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "QueuePipeline":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop the feed and join every thread (draining subscriber queues meanwhile)."""
        self._stop.set()
        while any(t.is_alive() for t in self._threads):
            for q in self._subscribers:
                _drain(q)
            for inbox in self.inboxes:
                _drain(inbox)
                try:
                    inbox.put_nowait(END)
                except queue.Full:
                    pass
            for t in self._threads:
                t.join(0.01)

    # -- threads -----------------------------------------------------------

    def _feed(self) -> None:
        rng = random.Random(self.seed)
        walk = [20.0 + math.floor(rng.random() * 480.0) for _ in range(self.n_symbols)]
        n_workers = len(self.inboxes)
        batch = max(1, int(self.rate / 1000)) if self.rate > 0 else 1000
        start = time.monotonic()
        seq = 0
        while not self._stop.is_set() and (self.count == 0 or seq < self.count):
            if self.rate > 0:
                # Pace in batches of about a millisecond of ticks.
                delay = start + seq / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            now = time.time_ns()
            for _ in range(batch if self.count == 0 else min(batch, self.count - seq)):
                s = rng.randrange(self.n_symbols)
                walk[s] *= math.exp(0.0005 * rng.gauss(0.0, 1.0))
                p = walk[s]
                if rng.random() < self.quote_ratio:
                    half = max(0.005, p * 2.0 * 0.5e-4 * (0.5 + rng.random()))
                    bid = round(p - half, 2)
                    ask = max(round(p + half, 2), bid + 0.01)
                    tick = Tick(seq, now, s, QUOTE, 0.0, 0.0, bid, ask,
                                100.0 * rng.randint(1, 10), 100.0 * rng.randint(1, 10))
                else:
                    tick = Tick(seq, now, s, TRADE, round(p, 2), float(rng.randint(1, 100)),
                                0.0, 0.0, 0.0, 0.0)
                self.inboxes[s % n_workers].put(tick)
                seq += 1
        for inbox in self.inboxes:
            inbox.put(END)

    def _worker(self, inbox: queue.Queue) -> None:
        analytics = Analytics(self.ema_alpha)
        while True:
            tick = inbox.get()
            if tick is END:
                break
            result = analytics.update(tick)
            for q in self._subscribers:
                q.put(result)
        with self._subs_lock:
            self._workers_left -= 1
            last = self._workers_left == 0
        if last:
            for q in self._subscribers:
                q.put(END)


def _drain(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass
