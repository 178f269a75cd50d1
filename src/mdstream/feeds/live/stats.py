"""What a live feed counts: messages, ticks, gaps, malformed messages, reconnects.

The counters are written by the feed's own thread only and read from any
thread (``LiveFeed.stats()`` takes a consistent-enough snapshot: each value is
a plain int read under the GIL). Gaps are counted and logged, never hidden
(each of a feed's first 100 gaps in a line of its own, then a line with the
totals every 100 gaps);
a malformed or unknown message is counted and logged once per kind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mdstream.text import printable

__all__ = ["FeedStats", "FeedCounters", "SequenceCheck"]

log = logging.getLogger("mdstream.feeds.live")

#: Gaps logged one line each; after that, one line (with the totals) per this many.
_GAPS_LOGGED_EACH = 100
#: Characters of a bad message quoted in its log line.
_SAMPLE_CHARS = 200


@dataclass(frozen=True)
class FeedStats:
    """A snapshot of a live feed's counters (``LiveFeed.stats()``).

    messages: WebSocket messages received (every kind, heartbeats included);
    batches: ``sink.ingest`` calls (one TICK_DTYPE array each) that carried them;
    ticks: trades and quotes handed to the engine (trades + quotes);
    buys, sells: trades by aggressor side (the engine's ticks carry no side);
    gaps: times a venue's sequence number or trade id jumped forward;
    missed: ids skipped by those gaps in all (trades or updates never seen);
    duplicates: messages dropped as already seen (an id at or below the last
    one, as after a reconnect that overlaps the previous connection);
    malformed: messages or ticks that could not be used (bad JSON, a missing
    or wrong-typed field, an unknown message type, a number the tick rules
    refuse); connects: connections opened (subscribed); reconnects: connects
    after the first; stale: connections replaced because nothing arrived for
    ``stale_after`` seconds; venue_errors: error replies of the venue (a
    refused subscription...); last_message_ns: receive time of the newest
    message, ns since the epoch (0: none yet); connected: a connection is open.
    """

    messages: int
    batches: int
    ticks: int
    trades: int
    quotes: int
    buys: int
    sells: int
    gaps: int
    missed: int
    duplicates: int
    malformed: int
    connects: int
    reconnects: int
    stale: int
    venue_errors: int
    last_message_ns: int
    connected: bool


class FeedCounters:
    """The mutable counters behind FeedStats, and the log lines that go with them."""

    def __init__(self, venue: str):
        self.venue = venue
        self.messages = self.batches = self.trades = self.quotes = self.buys = self.sells = 0
        self.gaps = self.missed = self.duplicates = self.malformed = 0
        self.connects = self.stale = self.venue_errors = 0
        self.last_message_ns = 0
        self.connected = False
        self._malformed_kinds: dict[str, int] = {}

    def snapshot(self) -> FeedStats:
        return FeedStats(
            messages=self.messages, batches=self.batches, ticks=self.trades + self.quotes,
            trades=self.trades,
            quotes=self.quotes, buys=self.buys, sells=self.sells, gaps=self.gaps,
            missed=self.missed, duplicates=self.duplicates, malformed=self.malformed,
            connects=self.connects, reconnects=max(0, self.connects - 1), stale=self.stale,
            venue_errors=self.venue_errors, last_message_ns=self.last_message_ns,
            connected=self.connected)

    def bad_message(self, kind: str, detail: str, raw: bytes | str | None = None,
                    count: int = 1) -> None:
        """Count ``count`` unusable messages (or ticks) of ``kind``; the first of
        each kind is logged with what was wrong and the start of the message."""
        self.malformed += count
        seen = self._malformed_kinds.get(kind, 0)
        self._malformed_kinds[kind] = seen + count
        if seen == 0:
            sample = ""
            if raw is not None:
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                sample = f": {printable(text[:_SAMPLE_CHARS])}"
            log.warning("%s: %s (%s); counted in the feed's malformed messages, logged once "
                        "per kind%s", self.venue, kind, detail, sample)

    def malformed_kinds(self) -> dict[str, int]:
        """Unusable messages by kind (a copy)."""
        return dict(self._malformed_kinds)

    def venue_error(self, text: str) -> None:
        self.venue_errors += 1
        log.error("%s: the venue says: %s", self.venue, printable(text[:_SAMPLE_CHARS]))


class SequenceCheck:
    """Per-key (a symbol, a stream) checking of ids that go up by exactly 1:
    a venue's trade ids or sequence numbers.

    ``check(key, n)`` returns True for a new id (and counts a gap, with the
    ids missed, when it jumped forward), False for an id at or below the
    last one (a duplicate: the caller drops the message). The last id of a
    key is kept across reconnects, so an outage's missed trades are a gap.
    ``contiguous=False`` for ids that only increase (a sequence shared with
    channels not subscribed): duplicates are still dropped, no gap counted.
    """

    def __init__(self, counters: FeedCounters, what: str, contiguous: bool = True):
        self._counters = counters
        self._what = what
        self._contiguous = contiguous
        self._last: dict[object, int] = {}

    def check(self, key: object, n: int) -> bool:
        last = self._last.get(key)
        if last is not None:
            if n <= last:
                self._counters.duplicates += 1
                return False
            if n > last + 1:
                self._gap(key, last, n, n - last - 1)
        self._last[key] = n
        return True

    def seen(self, key: object, n: int) -> None:
        """The venue says ``n`` is the latest id (a heartbeat, a last-trade
        message): ids after the last one checked, up to ``n``, were missed."""
        last = self._last.get(key)
        if last is None or n > last:
            if last is not None:
                self._gap(key, last, n, n - last)
            self._last[key] = n

    def _gap(self, key: object, last: int, n: int, missed: int) -> None:
        if not self._contiguous:
            return
        c = self._counters
        c.gaps += 1
        c.missed += missed
        if c.gaps <= _GAPS_LOGGED_EACH or c.gaps % _GAPS_LOGGED_EACH == 0:
            more = (f"; {c.gaps:,} gaps, {c.missed:,} missed so far (after the first "
                    f"{_GAPS_LOGGED_EACH}, one line per {_GAPS_LOGGED_EACH} gaps)"
                    if c.gaps >= _GAPS_LOGGED_EACH else "")
            log.warning("%s: gap in %s of %s: %d after %d (%d missed)%s", c.venue, self._what,
                        printable(str(key)), n, last, missed, more)
