"""The paper-trading part of the MDStream service: Trade, GetOrders, GetPositions.

MDStreamServicer.handlers() serves these through a TradingServicer when its
engine has a paper venue; without one, the three methods answer
FAILED_PRECONDITION (NO_PAPER_VENUE): "this server has no paper venue;
start it with mdstream serve --paper-venue".

A Trade call is one mdstream.venue.session.OrderSession:

- the first message may be a TradeSession (account, cancel_on_disconnect,
  from_seq); without one the account is "paper";
- the account's execution report subscription is opened before any request
  is read, so every report of the session's orders reaches the stream, in
  order (resumed from ``from_seq`` when given); the stream of one account
  sees that account's reports only;
- requests are read on a thread of the call and handed to the session;
  one that cannot be taken (malformed, unknown symbol, not entitled) gets
  a RequestError on the stream (never after a report of a later request)
  and the stream goes on; one the venue refuses gets its REJECTED
  execution report like any other;
- however the call ends (the client closes or vanishes, a deadline, the
  server stops), the session is closed: with cancel_on_disconnect its open
  orders are cancelled.

Tokens (mdstream.grpc.auth): the call needs the ``trade`` operation (checked
by the CallGuard), the account must be among the token's ``accounts`` and
each order's symbol among its ``symbols`` (PERMISSION_DENIED). GetOrders and
GetPositions of "every account" list the accounts the token may trade.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

import grpc
from google.protobuf.message import DecodeError

from mdstream.errors import MDStreamError, SubscriptionClosedError, UnknownSymbolError
from mdstream.grpc.contract import (
    NO_PAPER_VENUE_MESSAGE,
    NoPaperVenueError,
    ServerShutdownError,
    UnknownAccountError,
    request_error_fields,
)
from mdstream.grpc import requests as parsed
from mdstream.grpc.errors import abort_on_error, error_status
from mdstream.grpc.trade_wire import (
    DEFAULT_ACCOUNT,
    new_order_args,
    order_message,
    position_message,
    replace_args,
    report_messages,
    request_error_message,
)
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.grpc.entitlements import Entitlements
    from mdstream.venue.session import OrderSession, TrackedReports

__all__ = ["TradingServicer", "has_paper_venue", "trading_handlers", "REMOTE_REPORT_POLICY"]

log = logging.getLogger("mdstream.grpc.server")

#: The policy of a Trade stream's report subscription: a client that falls a
#: whole ring of reports behind is disconnected (RESOURCE_EXHAUSTED) and
#: resumes with from_seq; it never holds the venue back, and never misses a
#: report without knowing.
REMOTE_REPORT_POLICY = "disconnect"
#: How often (seconds) an idle Trade stream looks for request errors to send.
_POLL_S = 0.02
#: Bound of a stream's queue of request errors not yet sent (beyond: the
#: reader waits for the stream).
_ERROR_QUEUE = 1024


def has_paper_venue(engine: Any) -> bool:
    """Whether ``engine`` takes orders (an Engine made with a paper venue)."""
    return getattr(engine, "venue_config", None) is not None


class _Done(Exception):
    """The call is over (the reader's signal to stop)."""


class TradingServicer:
    """Trade, GetOrders and GetPositions over an engine with a paper venue.

    ``entitlements`` is the servicer's (tokens); ``closing`` says whether the
    server is shutting down.
    """

    def __init__(self, engine: Any, entitlements: "Entitlements",
                 closing: Callable[[], bool] = lambda: False):
        self.engine = engine
        self.entitlements = entitlements
        self._closing = closing
        self._lock = threading.Lock()
        self._sessions: set[OrderSession] = set()

    # -- errors ------------------------------------------------------------------

    def _check_account(self, account: str, context) -> None:
        """UnknownAccountError (NOT_FOUND), PermissionDeniedError (a token that may not)."""
        principal = self.entitlements.principal(context)
        if principal is not None:
            principal.check_account(account)
        accounts = self.engine.venue_config.accounts
        if account not in accounts:
            shown = ", ".join(sorted(accounts)[:10]) + (", ..." if len(accounts) > 10 else "")
            raise UnknownAccountError(
                f"unknown account {account!r}: this server's paper venue has {shown} "
                "(mdstream serve --accounts FILE)", account)

    def _accounts(self, account: str, context) -> list[str] | None:
        """The accounts a query is about (None: every account, no token limit)."""
        if account:
            self._check_account(account, context)
            return [account]
        principal = self.entitlements.principal(context)
        if principal is None or "*" in principal.accounts:
            return None
        return [a for a in self.engine.venue_config.accounts if principal.allows_account(a)]

    # -- Trade -------------------------------------------------------------------

    def Trade(self, request_iterator, context) -> Iterator[pb.TradeResponse]:
        """One order session per call (see the module)."""
        from mdstream.venue.session import OrderSession

        requests = iter(request_iterator)      # raw bytes: parsed one by one (_parse)
        with abort_on_error(context):
            try:
                first = next(requests, None)
            except Exception:  # noqa: BLE001 - the call ended before its first message
                return
            if first is None:
                return
            message, bad = _parse(first)
            session_msg = (message.session if message is not None
                           and message.WhichOneof("request") == "session" else None)
            account = session_msg.account if session_msg is not None else DEFAULT_ACCOUNT
            self._check_account(account, context)
            if self._closing():
                raise ServerShutdownError("the server is shutting down")
            session = OrderSession(self.engine, account,
                                   cancel_on_disconnect=bool(
                                       session_msg is not None
                                       and session_msg.cancel_on_disconnect))
            try:
                reports = session.execution_reports(
                    from_seq=(session_msg.from_seq if session_msg is not None
                              and session_msg.HasField("from_seq") else None),
                    policy=REMOTE_REPORT_POLICY)
            except BaseException:
                session.close()
                raise
            with self._lock:
                self._sessions.add(session)
            errors: queue.Queue[pb.TradeResponse] = queue.Queue(_ERROR_QUEUE)
            done = threading.Event()

            def end() -> None:
                done.set()
                session.close()

            if not context.add_callback(end):
                end()
            first_left = [] if session_msg is not None else [(message, bad)]
            reader = threading.Thread(
                target=self._read_requests, name="mdstream-trade-requests",
                args=(first_left, requests, session, errors, done, context), daemon=True)
            reader.start()
            try:
                yield from self._responses(reports, errors, done)
            finally:
                done.set()
                session.close()
                with self._lock:
                    self._sessions.discard(session)

    def _responses(self, reports: "TrackedReports", errors: "queue.Queue[pb.TradeResponse]",
                   done: threading.Event) -> Iterator[pb.TradeResponse]:
        """The stream's messages: reports as they come, request errors between.
        The errors queued are sent before each batch of reports: a request's
        error was queued before any later request entered the engine, so it
        never comes after a report of a later request."""
        while not done.is_set():
            try:
                batch = reports.read(_POLL_S)
            except EOFError:               # the engine stopped, every report sent
                return
            except SubscriptionClosedError:
                if self._closing():
                    raise ServerShutdownError(
                        "the server is shutting down; resume the reports on another server or "
                        "later (TradeSession.from_seq)") from None
                return
            while True:
                try:
                    yield errors.get_nowait()
                except queue.Empty:
                    break
            if batch is not None and len(batch):
                yield from report_messages(batch)

    def _read_requests(self, first: list, requests: Iterator[bytes], session: "OrderSession",
                       errors: "queue.Queue[pb.TradeResponse]", done: threading.Event,
                       context) -> None:
        """The call's request reader (a thread): each request to the session,
        a RequestError for each one it cannot take."""
        def put(response: pb.TradeResponse) -> None:
            while not done.is_set():
                try:
                    errors.put(response, timeout=0.1)
                    return
                except queue.Full:
                    continue

        try:
            for message, bad in first:
                self._take(message, bad, session, put, context)
            for raw in requests:
                if done.is_set():
                    return
                message, bad = _parse(raw)
                self._take(message, bad, session, put, context)
        except _Done:
            return
        except Exception as exc:  # noqa: BLE001 - the call ended under the reader
            if not done.is_set() and not isinstance(exc, grpc.RpcError):
                log.exception("the requests of a Trade call could not be read")

    def _take(self, message: "pb.TradeRequest | None", bad: str | None,
              session: "OrderSession", put: Callable[[pb.TradeResponse], None], context) -> None:
        """One request into the session, or its RequestError."""
        if message is None:
            put(request_error_message(0, 0, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
                                      bad or "not a TradeRequest"))
            return
        kind = message.WhichOneof("request")
        cl, orig = _ids(message, kind)
        try:
            if kind == "new_order":
                args, kwargs = new_order_args(message.new_order)
                self._check_symbol(args[1], context)
                session.submit_order(*args, **kwargs)
            elif kind == "cancel_order":
                msg = message.cancel_order
                session.cancel_order(msg.orig_cl_ord_id, cl_ord_id=msg.cl_ord_id)
            elif kind == "replace_order":
                msg = message.replace_order
                session.replace_order(msg.orig_cl_ord_id, msg.cl_ord_id, **replace_args(msg))
            elif kind == "cancel_all":
                symbol = message.cancel_all.symbol or None
                if symbol is not None:
                    self._check_symbol(symbol, context)
                session.cancel_all(symbol)
            elif kind == "session":
                put(request_error_message(
                    0, 0, grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION",
                    "a TradeSession may only be the first message of a Trade call; this "
                    f"call's session is for account {session.account!r}: open another call "
                    "for another session"))
            else:
                put(request_error_message(
                    0, 0, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
                    "an empty TradeRequest: set one of new_order, cancel_order, "
                    "replace_order, cancel_all"))
        except MDStreamError as exc:
            if session.closed:
                raise _Done from None
            if isinstance(exc, UnknownSymbolError):      # the remote client's advice
                exc = UnknownSymbolError(exc.symbols, self.engine.symbol_table.names,
                                         hint="ListSymbols gives the list.")
            fields = request_error_fields(exc)
            code, reason, text = (fields if fields is not None
                                  else (grpc.StatusCode.INTERNAL, "INTERNAL", str(exc)))
            put(request_error_message(cl, orig, code, reason, text))
        except (ValueError, TypeError, OverflowError) as exc:
            put(request_error_message(cl, orig, grpc.StatusCode.INVALID_ARGUMENT,
                                      "INVALID_ARGUMENT", str(exc)))
        except Exception as exc:  # noqa: BLE001 - a fault of the server: said, and the session goes on
            log.exception("a Trade request of account %r failed", session.account)
            put(request_error_message(cl, orig, grpc.StatusCode.INTERNAL, "INTERNAL",
                                      f"the server failed on this request ({type(exc).__name__}); "
                                      "its log has the details"))

    def _check_symbol(self, symbol: str, context) -> None:
        principal = self.entitlements.principal(context)
        if principal is not None:
            principal.check_symbols([symbol], "trade")

    # -- GetOrders, GetPositions ---------------------------------------------------

    def GetOrders(self, request: pb.OrdersRequest, context) -> pb.OrdersResponse:
        """The open orders of an account (or of those the caller may see)."""
        with abort_on_error(context):
            accounts = self._accounts(request.account, context)
            if accounts is not None and len(accounts) == 1:
                orders = self.engine.orders(accounts[0])
            else:
                orders = self.engine.orders(None)
                if accounts is not None:
                    allowed = set(accounts)
                    orders = [o for o in orders if o.account in allowed]
            return pb.OrdersResponse(orders=[order_message(o) for o in orders],
                                     server_time_ns=time.time_ns())

    def GetPositions(self, request: pb.PositionsRequest, context) -> pb.PositionsResponse:
        """The positions of an account (or of those the caller may see), marked."""
        with abort_on_error(context):
            accounts = self._accounts(request.account, context)
            if accounts is not None and len(accounts) == 1:
                positions = self.engine.positions(accounts[0])
            else:
                positions = self.engine.positions(None)
                if accounts is not None:
                    allowed = set(accounts)
                    positions = [p for p in positions if p.account in allowed]
            return pb.PositionsResponse(positions=[position_message(p) for p in positions],
                                        server_time_ns=time.time_ns())

    # -- lifecycle -------------------------------------------------------------------

    def shutdown(self) -> None:
        """End every Trade stream (their sessions close: cancel-on-disconnect applies)."""
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()


def _parse(raw: bytes) -> tuple["pb.TradeRequest | None", str | None]:
    try:
        return pb.TradeRequest.FromString(raw), None
    except DecodeError as exc:
        return None, (f"the request is not a valid mdstream.v1.TradeRequest message ({exc}); "
                      "generate it from proto/mdstream/v1/mdstream.proto")


def _ids(message: pb.TradeRequest, kind: str | None) -> tuple[int, int]:
    """(cl_ord_id, orig_cl_ord_id) of a request, for its RequestError."""
    if kind == "new_order":
        return message.new_order.cl_ord_id, 0
    if kind == "cancel_order":
        return message.cancel_order.cl_ord_id, message.cancel_order.orig_cl_ord_id
    if kind == "replace_order":
        return message.replace_order.cl_ord_id, message.replace_order.orig_cl_ord_id
    return 0, 0


def _refuse(request, context):
    """A trading method of a server without a paper venue."""
    context.abort_with_status(error_status(NoPaperVenueError(NO_PAPER_VENUE_MESSAGE))[0])


def trading_handlers(trading: TradingServicer | None) -> dict[str, grpc.RpcMethodHandler]:
    """The method handlers of Trade, GetOrders and GetPositions: ``trading``'s,
    or (None: no paper venue) ones that answer FAILED_PRECONDITION saying so."""
    if trading is None:
        return {
            "Trade": grpc.stream_stream_rpc_method_handler(
                _refuse, response_serializer=pb.TradeResponse.SerializeToString),
            "GetOrders": grpc.unary_unary_rpc_method_handler(
                _refuse, response_serializer=pb.OrdersResponse.SerializeToString),
            "GetPositions": grpc.unary_unary_rpc_method_handler(
                _refuse, response_serializer=pb.PositionsResponse.SerializeToString),
        }
    return {
        # Requests stay bytes: a malformed one gets a RequestError, not the end of the call.
        "Trade": grpc.stream_stream_rpc_method_handler(
            trading.Trade, response_serializer=pb.TradeResponse.SerializeToString),
        "GetOrders": parsed.unary_unary(trading.GetOrders, pb.OrdersRequest, pb.OrdersResponse),
        "GetPositions": parsed.unary_unary(trading.GetPositions, pb.PositionsRequest,
                                           pb.PositionsResponse),
    }

