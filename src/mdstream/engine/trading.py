"""The Engine's order entry and paper venue queries (a mixin of Engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mdstream import _core
from mdstream.errors import EngineStateError, InvalidArgumentError, OutOfRangeError
from mdstream.venue import requests
from mdstream.venue.catchup import ReportCatchUp
from mdstream.venue.codes import OrdStatus, OrdType, Side, TimeInForce
from mdstream.venue.config import Account, PaperVenue
from mdstream.venue.reports import OrderState, Position
from mdstream.venue.subscription import ExecutionReportSubscription

if TYPE_CHECKING:
    from mdstream._core import Core, CoreReader, VenueCore
    from mdstream.journal import Journal
    from mdstream.engine.symbols import SymbolTable

__all__ = ["Trading"]

_NO_VENUE = ("this engine has no paper venue; create it with Engine(venue=PaperVenue()) "
             "(mdstream serve --paper-venue)")


class Trading:
    """Orders in, execution reports out, against the engine's paper venue.

    Every request is sequenced with the ticks (it gets the next engine
    sequence number, which the call returns) and journaled with them; the
    venue acts on it in that order, so the same input always gives the same
    reports. Malformed requests raise InvalidArgumentError and take no
    sequence number; everything else is answered by an execution report
    (execution_reports()), a refusal too (exec_type REJECTED with its
    reject_reason).
    """

    _core: "Core"
    _venue: "VenueCore | None"
    _journal: "Journal | None"
    venue_config: PaperVenue | None
    symbol_table: "SymbolTable"
    _state: str

    def _setup_venue(self, venue: PaperVenue | None) -> None:
        self.venue_config = venue
        self._venue = None
        if venue is not None:
            if not isinstance(venue, PaperVenue):
                raise InvalidArgumentError(f"venue must be a PaperVenue, got {venue!r}")
            self._venue = venue.attach(self._core)

    def _venue_core(self) -> "VenueCore":
        if self._venue is None:
            raise EngineStateError(_NO_VENUE)
        return self._venue

    def account_id(self, account: str) -> int:
        """The id of an account name (InvalidArgumentError if the venue has none such)."""
        self._venue_core()
        names = self.venue_config.account_names  # type: ignore[union-attr]
        try:
            return names.index(account)
        except ValueError:
            raise InvalidArgumentError(
                f"unknown account {account!r}; the paper venue's accounts are "
                f"{', '.join(names)}") from None

    def venue_account(self, account: str) -> Account:
        """The paper venue's Account named ``account`` (its limits and fees);
        InvalidArgumentError if the venue has none such."""
        self.account_id(account)
        return self.venue_config.accounts[account]  # type: ignore[union-attr]

    def submit_requests(self, rows: np.ndarray) -> int:
        """Sequence order requests (an ORDER_DTYPE array, see
        mdstream.venue.requests) in one step; returns the engine seq of the
        first (the others follow it, though another thread's ticks may come
        between chunks of 1024). Their seq fields are filled in."""
        venue = self._venue_core()
        if self._state != "running":
            raise EngineStateError(f"the engine is {self._state}: call start() before sending orders")
        return int(venue.submit(rows))

    def submit_order(self, account: str, cl_ord_id: int, symbol: str, side: str | Side,
                     quantity: float, *, ord_type: str | OrdType = "limit",
                     price: float | None = None, stop_price: float | None = None,
                     tif: str | TimeInForce = "gtc", post_only: bool = False,
                     expire_ns: int | None = None) -> int:
        """Send a new order; returns its engine sequence number.

        side "buy" / "sell"; ord_type "market", "limit" (needs price),
        "stop" (needs stop_price), "stop_limit" (both); tif "gtc", "ioc",
        "fok", "day" (until the next UTC midnight of event time), "gtd"
        (needs expire_ns, event time in ns since the epoch). cl_ord_id: the
        client's id, 1 .. 2**47 - 1, never reused within the account (FIX
        ClOrdID(11) is a string; here it is a number, so that a request fits
        the core's fixed record). Raises InvalidArgumentError (a malformed
        request, an unknown account), UnknownSymbolError, EngineStateError
        (no venue, not running).
        """
        row = requests.new_order(self.account_id(account), cl_ord_id,
                                 self.symbol_table.ids([symbol])[0], side, quantity,
                                 ord_type=ord_type, price=price, stop_price=stop_price, tif=tif,
                                 post_only=post_only, expire_ns=expire_ns)
        return self.submit_requests(row)

    def cancel_order(self, account: str, orig_cl_ord_id: int, *, cl_ord_id: int = 0) -> int:
        """Cancel the account's open order orig_cl_ord_id (cl_ord_id: the
        cancel's own id, optional). Returns the request's engine seq."""
        return self.submit_requests(requests.cancel_order(self.account_id(account),
                                                          orig_cl_ord_id, cl_ord_id))

    def replace_order(self, account: str, orig_cl_ord_id: int, cl_ord_id: int, *,
                      price: float | None = None, quantity: float | None = None,
                      stop_price: float | None = None) -> int:
        """Cancel-replace an open order: it takes the new cl_ord_id and the
        given price / quantity (the new total) / stop price, and goes to the
        back of the queue. Returns the request's engine seq."""
        return self.submit_requests(requests.replace_order(
            self.account_id(account), orig_cl_ord_id, cl_ord_id, price=price, quantity=quantity,
            stop_price=stop_price))

    def cancel_all(self, account: str, symbol: str | None = None) -> int:
        """Cancel every open order of the account (on one symbol if given)."""
        sid = -1 if symbol is None else self.symbol_table.ids([symbol])[0]
        return self.submit_requests(requests.cancel_all(self.account_id(account), sid))

    def execution_reports(self, *, account: str | None = None, from_seq: int | None = None,
                          policy: str = "block", max_batch: int = 4096,
                          block_deadline: float | None = None) -> ExecutionReportSubscription:
        """Subscribe to execution reports from now on (or from ``from_seq``,
        the report stream's own sequence: one the report ring no longer holds
        is made again from the journal, which holds the venue's whole input;
        without a journal, OutOfRangeError). ``account``: that account's only. ``policy`` as
        for subscribe(): 'block' (the venue, and with it the engine, waits for
        this reader when it falls a ring behind), 'skip' or 'disconnect';
        ``block_deadline`` (seconds): a 'block' reader that holds the venue
        back that long without reading is disconnected (SlowConsumerError)."""
        venue = self._venue_core()
        account_id = None if account is None else self.account_id(account)
        if policy not in _core.POLICIES:
            raise InvalidArgumentError(f"policy must be block, skip or disconnect; got {policy!r}")
        if block_deadline is not None and not block_deadline >= 0:
            raise InvalidArgumentError(
                f"block_deadline must be >= 0 seconds (or None), got {block_deadline}")
        if self._state == "stopped":
            raise EngineStateError("the engine is stopped")
        deadline_ns = 0 if not block_deadline else max(1, round(block_deadline * 1e9))

        def open_reader(position: int) -> "CoreReader":
            return self._core.report_reader(_core.POLICIES[policy], None, max_batch, position,
                                            deadline_ns)

        catchup = None
        try:
            reader: "CoreReader | None" = open_reader(-1 if from_seq is None else from_seq)
        except OutOfRangeError:
            if self._journal is None or from_seq is None:
                raise
            # Older than the report ring: made again from the journal, then live.
            reader = None
            catchup = ReportCatchUp(self._journal, self.venue_config,  # type: ignore[arg-type]
                                    venue.order_symbol_id, open_reader, from_seq)
        return ExecutionReportSubscription(reader, self.symbol_table.names,
                                           self.venue_config.account_names,  # type: ignore[union-attr]
                                           account_id, catchup=catchup)

    def orders(self, account: str | None = None) -> list[OrderState]:
        """The open orders (of one account, or all), in order_id order."""
        venue = self._venue_core()
        account_id = None if account is None else self.account_id(account)
        names = self.venue_config.account_names  # type: ignore[union-attr]
        symbols = self.symbol_table.names
        out = []
        for (acc, sid, cl, oid, side, ot, tif, px, stop, qty, cum, leaves, avg, status, trig,
             expire, post) in venue.orders():
            if account_id is not None and acc != account_id:
                continue
            out.append(OrderState(names[acc], symbols[sid], cl, oid, Side(side), OrdType(ot),
                                  TimeInForce(tif), px, stop, qty, cum, leaves, avg,
                                  OrdStatus(status), trig, expire, post))
        return out

    def positions(self, account: str | None = None) -> list[Position]:
        """Every position (of one account, or all) that has had a fill, with
        unrealized P&L at the mid (the last trade when unquoted)."""
        venue = self._venue_core()
        account_id = None if account is None else self.account_id(account)
        names = self.venue_config.account_names  # type: ignore[union-attr]
        symbols = self.symbol_table.names
        out = []
        for acc, sid, qty, avg, realized, fees, fills, mark in venue.positions():
            if account_id is not None and acc != account_id:
                continue
            unrealized = (mark - avg) * qty if qty != 0 else 0.0
            out.append(Position(names[acc], symbols[sid], qty, avg, realized, unrealized, fees,
                                fills, mark))
        return out

    def venue_stats(self) -> dict | None:
        """The venue's counters (requests, reports, open_orders, pending,
        clock_ns, no_memory), or None without a venue."""
        return None if self._venue is None else self._venue.counters()
