"""OrderSession: one client's orders to the paper venue, with the rules that
belong to a session rather than to the venue.

    from mdstream.venue.session import OrderSession

    with OrderSession(engine, "paper", cancel_on_disconnect=True) as session:
        session.submit_order(1, "AAPL", "buy", 100, price=189.5)
        with session.execution_reports() as reports:
            for batch in reports:
                ...
    # closed: the orders it submitted that are still open are cancelled

- **Rate limit.** The account's ``max_orders_per_s`` (Account) is a token
  bucket of this session, refilled in wall time (a burst of up to one
  second's worth). A new order over the limit still goes into the engine,
  flagged rate-limited: the venue rejects it with RATE_LIMIT, in sequence
  with everything else and journaled like any other request, so the reject
  is a report the client sees and a replay reproduces. Cancels, replaces and
  cancel-alls are never limited (a client must always be able to get out).
- **The session's open orders.** Orders submitted through the session are
  tracked from their execution reports (``track``, done by the session's own
  ``execution_reports()`` subscription): pending (no report yet), then open
  (by order_id, under its current cl_ord_id), until a report says they are
  done (filled, cancelled, rejected, expired).
- **Cancel on disconnect.** ``close()`` (also at the end of a ``with``)
  cancels every order of the session not known to be done, when the session
  was made with ``cancel_on_disconnect=True``. Orders of other sessions of
  the same account are not touched. The gRPC Trade call closes its session
  when the call ends, however it ends.

The session is thread-safe: the gRPC servicer submits from one thread and
reads the reports on another.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.venue.codes import ExecType, OrdStatus

if TYPE_CHECKING:
    from mdstream.engine import Engine
    from mdstream.venue.codes import OrdType, Side, TimeInForce

__all__ = ["OrderSession", "RateLimiter", "TrackedReports"]

#: How long close() waits for a reader of the reports to let go (seconds).
_DRAIN_WAIT_S = 0.5
#: The slices iteration reads in (seconds).
_SLICE_S = 0.1
#: OrdStatus values (FIX 39) after which an order is done.
_DONE_STATUSES = frozenset((OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED,
                            OrdStatus.EXPIRED))


class RateLimiter:
    """A token bucket: ``rate`` requests per second in wall time, bursts of up
    to ``max(1, rate)`` (one second's worth). ``take()`` says whether one more
    request is within the limit (and counts it if so); ``give_back()`` undoes
    it for a request that was refused before it went in."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        if not rate > 0 or math.isinf(rate) or math.isnan(rate):
            raise InvalidArgumentError(f"max_orders_per_s must be > 0 and finite, got {rate!r}")
        self.rate = float(rate)
        self.burst = max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.burst
        self._at = clock()

    def give_back(self) -> None:
        """Undo the last take() (a request that never went in)."""
        self._tokens = min(self.burst, self._tokens + 1.0)

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class OrderSession:
    """A session of orders of one ``account`` of the engine's paper venue.
    Over gRPC, a Trade call is one (mdstream.grpc.trading).

    The order methods are the Engine's without the account: ``submit_order``,
    ``cancel_order``, ``replace_order``, ``cancel_all``; each returns the
    engine seq of the request and raises what the Engine raises for a
    malformed request, and EngineStateError once the session is closed.

    Parameters
    ----------
    engine:
        An Engine made with a paper venue (``Engine(venue=PaperVenue(...))``).
    account:
        The account's name; InvalidArgumentError when the venue has no such
        account (over gRPC: NOT_FOUND).
    cancel_on_disconnect:
        ``close()`` cancels the orders of this session still open.
    clock:
        The wall clock of the rate limit (seconds; tests give their own).
    """

    def __init__(self, engine: "Engine", account: str, *, cancel_on_disconnect: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.account = account
        self.cancel_on_disconnect = bool(cancel_on_disconnect)
        rate = engine.venue_account(account).max_orders_per_s
        self._limiter = RateLimiter(rate, clock) if rate is not None else None
        # Lock order: _requests, then _read_lock, then _lock. _requests
        # serializes the requests and close() (no request goes in after the
        # cancels of close); _lock guards the order state only, and is never
        # held while calling the engine, so tracking reports never waits for a
        # request that waits for the engine; _read_lock is the reader's.
        self._requests = threading.RLock()
        self._lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._pending: dict[int, None] = {}        # cl_ord_id submitted, no report yet (ordered)
        self._open: dict[int, int] = {}            # order_id -> its current cl_ord_id
        self._replacing: dict[int, int] = {}       # new cl_ord_id -> orig, replace not reported yet
        self._reports: list[TrackedReports] = []
        self._closed = False
        #: New orders submitted over the rate limit (the venue rejects them).
        self.rate_limited = 0

    def __repr__(self) -> str:
        return (f"<OrderSession {self.account!r} open={len(self.open_orders)} "
                f"cancel_on_disconnect={self.cancel_on_disconnect}"
                f"{' closed' if self._closed else ''}>")

    # -- requests --------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EngineStateError(f"the order session of {self.account!r} is closed")

    def submit_order(self, cl_ord_id: int, symbol: str, side: "str | Side", quantity: float, *,
                     ord_type: "str | OrdType" = "limit", price: float | None = None,
                     stop_price: float | None = None, tif: "str | TimeInForce" = "gtc",
                     post_only: bool = False,
                     expire_ns: int | None = None) -> int:
        """A new order (Engine.submit_order's arguments without the account);
        over the session's rate limit it goes in flagged rate-limited, and the
        venue rejects it (RATE_LIMIT). Returns the request's engine seq."""
        with self._requests:
            self._check_open()
            took = self._limiter is not None and self._limiter.take()
            limited = self._limiter is not None and not took
            cl = int(cl_ord_id)
            with self._lock:          # pending before it goes in: its report may come at once
                added = not limited and cl not in self._pending
                if added:
                    self._pending[cl] = None
            try:
                seq = _submit(self.engine, self.account, cl_ord_id, symbol, side, quantity,
                              ord_type=ord_type, price=price, stop_price=stop_price, tif=tif,
                              post_only=post_only, expire_ns=expire_ns, rate_limited=limited)
            except BaseException:
                if added:
                    with self._lock:
                        self._pending.pop(cl, None)
                if took:              # malformed: it never went in, so it does not count
                    self._limiter.give_back()  # type: ignore[union-attr]  # took: there is one
                raise
            if limited:
                self.rate_limited += 1
            return seq

    def cancel_order(self, orig_cl_ord_id: int, *, cl_ord_id: int = 0) -> int:
        """Cancel an open order by its current cl_ord_id (Engine.cancel_order)."""
        with self._requests:
            self._check_open()
            return self.engine.cancel_order(self.account, orig_cl_ord_id, cl_ord_id=cl_ord_id)

    def replace_order(self, orig_cl_ord_id: int, cl_ord_id: int, *, price: float | None = None,
                      quantity: float | None = None, stop_price: float | None = None) -> int:
        """Replace an open order (Engine.replace_order)."""
        with self._requests:
            self._check_open()
            new = int(cl_ord_id)
            with self._lock:
                added = new not in self._replacing
                self._replacing[new] = int(orig_cl_ord_id)
            try:
                return self.engine.replace_order(self.account, orig_cl_ord_id, cl_ord_id,
                                                 price=price, quantity=quantity,
                                                 stop_price=stop_price)
            except BaseException:
                if added:
                    with self._lock:
                        self._replacing.pop(new, None)
                raise

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order of the account (of ``symbol``), this
        session's and others' (Engine.cancel_all)."""
        with self._requests:
            self._check_open()
            return self.engine.cancel_all(self.account, symbol)

    # -- the session's orders ----------------------------------------------------

    def track(self, reports: Any) -> None:
        """Follow the session's orders through execution reports: an
        ExecutionReports batch (or any sequence of objects with the fields
        exec_type, ord_status, cl_ord_id, orig_cl_ord_id, order_id), in
        report order. Reports of other sessions' orders change nothing."""
        cols = _report_columns(reports)
        with self._lock:
            for exec_type, status, cl, orig, order_id in cols:
                if exec_type == ExecType.NEW and cl in self._pending:
                    del self._pending[cl]
                    self._open[order_id] = cl
                    if status in _DONE_STATUSES:      # never, but then it is done
                        del self._open[order_id]
                    continue
                if exec_type == ExecType.REJECTED and orig == 0:
                    # A new order refused: the session's if it is pending (a
                    # duplicate of an open order's id leaves that order alone).
                    self._pending.pop(cl, None)
                    continue
                if exec_type in (ExecType.REPLACED, ExecType.REJECTED):
                    self._replacing.pop(cl, None)
                if order_id not in self._open:
                    continue
                if exec_type == ExecType.REPLACED:
                    self._open[order_id] = cl
                elif status in _DONE_STATUSES and exec_type != ExecType.REJECTED:
                    del self._open[order_id]

    @property
    def open_orders(self) -> list[int]:
        """The current cl_ord_ids of the session's orders not known to be done
        (submitted and not yet reported, or open), in cl_ord_id order."""
        with self._lock:
            return sorted(set(self._pending) | set(self._open.values()))

    def execution_reports(self, *, from_seq: int | None = None, policy: str = "block",
                          max_batch: int = 4096,
                          block_deadline: float | None = None) -> "TrackedReports":
        """The account's execution reports (Engine.execution_reports with this
        account), each batch tracked by the session before it is returned.
        Open it before submitting to see every report of the session's orders."""
        with self._requests:
            self._check_open()
            sub = self.engine.execution_reports(account=self.account, from_seq=from_seq,
                                                policy=policy, max_batch=max_batch,
                                                block_deadline=block_deadline)
            tracked = TrackedReports(self, sub)
            with self._lock:
                self._reports.append(tracked)
            return tracked

    # -- the end -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> list[int]:
        """End the session (safe twice, and from any thread): with
        cancel_on_disconnect, cancel the session's orders not known to be done
        (the reports already written are read first, so orders done meanwhile
        are left alone); then close its report subscriptions. Returns the
        cl_ord_ids it sent cancels for."""
        with self._requests:
            with self._lock:
                if self._closed:
                    return []
                self._closed = True
                tracked = list(self._reports)
            return self._close(tracked)

    def _close(self, tracked: "list[TrackedReports]") -> list[int]:
        cancelled: list[int] = []
        try:
            if self.cancel_on_disconnect:
                for reports in tracked:
                    reports.drain()
                with self._lock:
                    targets = list(dict.fromkeys(
                        [*self._pending, *self._open.values(), *self._replacing]))
                for cl in targets:
                    try:
                        self.engine.cancel_order(self.account, cl)
                    except EngineStateError:
                        break                 # the engine stopped: nothing is open any more
                    cancelled.append(cl)
        finally:
            for reports in tracked:
                reports.close()
        return cancelled

    def __enter__(self) -> "OrderSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TrackedReports:
    """An execution report subscription whose batches the session tracks
    before handing them on: iterate for batches, ``read(timeout)`` for the
    next one (None after ``timeout`` seconds without), ``close()``."""

    def __init__(self, session: OrderSession, subscription: Any):
        self.session = session
        self.subscription = subscription
        self._lock = session._read_lock

    def read(self, timeout: float | None = None) -> Any:
        """The next batch (tracked), or None when ``timeout`` passes first."""
        with self._lock:
            batch = self.subscription.read(timeout)
            if batch is not None and len(batch):
                self.session.track(batch)
            return batch

    def drain(self) -> None:
        """Track the batches already written (no wait); stops at the first
        error (closed, the engine stopped): the session keeps what it knows.
        Gives up when another thread holds the reader for long."""
        if not self._lock.acquire(timeout=_DRAIN_WAIT_S):
            return
        try:
            while True:
                batch = self.subscription.read(0.0)
                if batch is None or not len(batch):
                    return
                self.session.track(batch)
        except Exception:  # noqa: BLE001 - best effort, before cancelling on close
            return
        finally:
            self._lock.release()

    def __iter__(self) -> Iterator[Any]:
        """Batches until the subscription ends or is closed. Reads in slices,
        so that close() from another thread never waits for a quiet market."""
        from mdstream.errors import SubscriptionClosedError

        while True:
            try:
                batch = self.read(_SLICE_S)
            except (EOFError, SubscriptionClosedError):     # the engine stopped; closed
                return
            if batch is not None and len(batch):
                yield batch

    def close(self) -> None:
        self.subscription.close()

    @property
    def closed(self) -> bool:
        return bool(getattr(self.subscription, "closed", False))

    def __enter__(self) -> "TrackedReports":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the engine's venue API ----------------------------------------------------------

def _submit(engine: Any, account: str, cl_ord_id: int, symbol: str, side: Any,
            quantity: float, *, rate_limited: bool, **kwargs: Any) -> int:
    """Engine.submit_order, flagged ``rate_limited`` when the session is over
    its limit (the venue then rejects it with RATE_LIMIT)."""
    from mdstream.venue import requests

    return engine.submit_requests(requests.new_order(
        engine.account_id(account), cl_ord_id, engine.symbol_table.ids([symbol])[0], side,
        quantity, rate_limited=rate_limited, **kwargs))


def _report_columns(reports: Any) -> Iterator[tuple[int, int, int, int, int]]:
    """(exec_type, ord_status, cl_ord_id, orig_cl_ord_id, order_id) of each report."""
    names = ("exec_type", "ord_status", "cl_ord_id", "orig_cl_ord_id", "order_id")
    if hasattr(reports, "exec_type") and not isinstance(reports, (list, tuple)) \
            and hasattr(getattr(reports, "exec_type"), "__len__"):
        columns = [getattr(reports, n).tolist() for n in names]
        return zip(*columns)
    return ((int(getattr(r, names[0])), int(getattr(r, names[1])), int(getattr(r, names[2])),
             int(getattr(r, names[3])), int(getattr(r, names[4]))) for r in reports)
