"""The client's side of a Trade call: an order session on a server's paper venue.

    with mdstream.Client("127.0.0.1:50051") as client:
        with client.trade("paper", cancel_on_disconnect=True) as session:
            session.submit_order(1, "AAPL", "buy", 100, price=189.5)
            for item in session:              # ExecutionReport, or RequestError
                print(item)

RemoteOrderSession (sync) and AsyncRemoteOrderSession (asyncio, ``await``
its methods, ``async for``) have the order methods of the Engine API without
the account (``submit_order``, ``cancel_order``, ``replace_order``,
``cancel_all``, the same argument names). Iterating yields the account's
execution reports (mdstream.venue ExecutionReport objects) in order and, for
a request the server could not take, a mdstream.grpc.trade_wire.RequestError
in their midst: the session goes on after it. ``last_seq`` is the seq of
the last report read: ``client.trade(account, from_seq=session.last_seq + 1)``
resumes after it. ``close()`` ends the call (the server then cancels the
session's open orders if it was opened with ``cancel_on_disconnect``).

A failure of the whole call (the account unknown: UnknownAccountError; no
paper venue: NoPaperVenueError; a token that may not: PermissionDeniedError;
the server gone: RemoteError UNAVAILABLE) is raised by the iteration.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Union

import grpc
import grpc.aio

from mdstream.errors import EngineStateError
from mdstream.grpc.trade_wire import (
    RequestError,
    cancel_all_request,
    cancel_request,
    new_order_request,
    replace_request,
    report_from_message,
    request_error_from_message,
    session_request,
)
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.grpc.streams import ErrorTranslator
    from mdstream.venue import ExecutionReport
    from mdstream.venue.codes import OrdType, Side, TimeInForce

__all__ = ["RemoteOrderSession", "AsyncRemoteOrderSession", "TradeItem"]

#: What iterating a session yields: an ExecutionReport, or a RequestError.
TradeItem = Union["ExecutionReport", RequestError]

_END = object()


def _item(message: pb.TradeResponse) -> TradeItem:
    if message.WhichOneof("response") == "request_error":
        return request_error_from_message(message.request_error)
    return report_from_message(message.execution_report)


class _SessionBase:
    """What both sessions keep: the account, the last report's seq, counts."""

    def __init__(self, account: str, cancel_on_disconnect: bool, from_seq: int | None):
        self.account = account
        self.cancel_on_disconnect = cancel_on_disconnect
        #: The seq of the last execution report read (None: none yet).
        self.last_seq: int | None = None if from_seq is None else from_seq - 1
        self.reports = 0
        self.errors = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise EngineStateError(f"the order session of {self.account!r} is closed")

    def _seen(self, item: TradeItem) -> TradeItem:
        if isinstance(item, RequestError):
            self.errors += 1
        else:
            self.reports += 1
            self.last_seq = item.seq
        return item

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.account!r} reports={self.reports} "
                f"errors={self.errors} last_seq={self.last_seq}"
                f"{' closed' if self._closed else ''}>")


class RemoteOrderSession(_SessionBase):
    """An order session over a Trade call (sync). Made by Client.trade()."""

    def __init__(self, method: Callable[..., Any], account: str, *,
                 cancel_on_disconnect: bool = False, from_seq: int | None = None,
                 errors: "ErrorTranslator") -> None:
        first = session_request(account, cancel_on_disconnect, from_seq)
        super().__init__(account, cancel_on_disconnect, from_seq)
        self._requests: queue.Queue[Any] = queue.Queue()
        self._requests.put(first)
        self._lock = threading.Lock()
        self._errors = errors
        self._call = method(iter(self._requests.get, _END))
        # However the call ends (the channel closed, the server gone), grpc's
        # thread that sends the requests must stop waiting for the next one.
        self._call.add_done_callback(lambda _call: self._requests.put(_END))
        self._responses: queue.Queue[Any] = queue.Queue()
        self._ended = False
        self._reader = threading.Thread(target=self._pump, name="mdstream-trade-session",
                                        daemon=True)
        self._reader.start()

    def _send(self, request: pb.TradeRequest) -> None:
        with self._lock:
            self._check_open()
            self._requests.put(request)

    def submit_order(self, cl_ord_id: int, symbol: str, side: "str | Side", quantity: float, *,
                     ord_type: "str | OrdType" = "limit", price: float | None = None,
                     stop_price: float | None = None, tif: "str | TimeInForce" = "gtc",
                     post_only: bool = False,
                     expire_ns: int | None = None) -> None:
        """Send a new order (Engine.submit_order's arguments without the
        account); its reports (or a RequestError) come through iteration."""
        self._send(new_order_request(cl_ord_id, symbol, side, quantity, ord_type=ord_type,
                                     price=price, stop_price=stop_price, tif=tif,
                                     post_only=post_only, expire_ns=expire_ns))

    def cancel_order(self, orig_cl_ord_id: int, *, cl_ord_id: int = 0) -> None:
        """Cancel an open order of the account by its current cl_ord_id."""
        self._send(cancel_request(orig_cl_ord_id, cl_ord_id=cl_ord_id))

    def replace_order(self, orig_cl_ord_id: int, cl_ord_id: int, *, price: float | None = None,
                      quantity: float | None = None, stop_price: float | None = None) -> None:
        """Replace an open order (new cl_ord_id; price, quantity, stop_price)."""
        self._send(replace_request(orig_cl_ord_id, cl_ord_id, price=price, quantity=quantity,
                                   stop_price=stop_price))

    def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of the account (of ``symbol``)."""
        self._send(cancel_all_request(symbol))

    def read(self, timeout: float | None = None) -> TradeItem | None:
        """The next report or RequestError; None when ``timeout`` seconds pass
        first (the session goes on), or at the end of the call (``ended``)."""
        if self._ended:
            return None
        try:
            got = self._responses.get(timeout=timeout)
        except queue.Empty:
            return None
        if got is _END:
            self._ended = True
            return None
        if isinstance(got, grpc.RpcError):
            self._ended = True
            if self._closed and got.code() == grpc.StatusCode.CANCELLED:
                return None
            raise self._errors(got) from got
        if isinstance(got, BaseException):       # the call broke in another way
            self._ended = True
            raise got
        return self._seen(_item(got))

    @property
    def ended(self) -> bool:
        """Whether the call is over (closed, or ended by the server)."""
        return self._ended

    def _pump(self) -> None:
        """The call's responses into the queue read() takes from (a thread)."""
        try:
            for message in self._call:
                self._responses.put(message)
        except grpc.RpcError as exc:
            self._responses.put(exc)
            return
        except Exception as exc:  # noqa: BLE001 - the call broke: the reader says so
            self._responses.put(exc)
            return
        self._responses.put(_END)

    def __iter__(self) -> Iterator[TradeItem]:
        """Reports (and RequestErrors) until close() or the end of the call."""
        while True:
            item = self.read(None)
            if item is None:
                return
            yield item

    def close(self) -> None:
        """End the call (safe twice, and from another thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._requests.put(_END)
        self._call.cancel()
        if self._reader is not threading.current_thread():
            self._reader.join(5.0)

    cancel = close

    def __enter__(self) -> "RemoteOrderSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRemoteOrderSession(_SessionBase):
    """An order session over a Trade call (asyncio). Made by AsyncClient.trade();
    ``await`` the order methods, ``async for`` the reports."""

    def __init__(self, method: Callable[..., Any], account: str, *,
                 cancel_on_disconnect: bool = False, from_seq: int | None = None,
                 errors: "ErrorTranslator") -> None:
        first = session_request(account, cancel_on_disconnect, from_seq)
        super().__init__(account, cancel_on_disconnect, from_seq)
        self._requests: asyncio.Queue[Any] = asyncio.Queue()
        self._requests.put_nowait(first)
        self._errors = errors
        self._call = method(self._request_stream())
        self._reading: asyncio.Future[Any] | None = None
        self._ended = False

    async def _request_stream(self) -> AsyncIterator[pb.TradeRequest]:
        while True:
            request = await self._requests.get()
            if request is _END:
                return
            yield request

    async def _send(self, request: pb.TradeRequest) -> None:
        self._check_open()
        await self._requests.put(request)

    async def submit_order(self, cl_ord_id: int, symbol: str, side: "str | Side",
                           quantity: float, *, ord_type: "str | OrdType" = "limit",
                           price: float | None = None, stop_price: float | None = None,
                           tif: "str | TimeInForce" = "gtc",
                           post_only: bool = False, expire_ns: int | None = None) -> None:
        """Send a new order (see RemoteOrderSession.submit_order)."""
        await self._send(new_order_request(cl_ord_id, symbol, side, quantity, ord_type=ord_type,
                                           price=price, stop_price=stop_price, tif=tif,
                                           post_only=post_only, expire_ns=expire_ns))

    async def cancel_order(self, orig_cl_ord_id: int, *, cl_ord_id: int = 0) -> None:
        await self._send(cancel_request(orig_cl_ord_id, cl_ord_id=cl_ord_id))

    async def replace_order(self, orig_cl_ord_id: int, cl_ord_id: int, *,
                            price: float | None = None, quantity: float | None = None,
                            stop_price: float | None = None) -> None:
        await self._send(replace_request(orig_cl_ord_id, cl_ord_id, price=price,
                                         quantity=quantity, stop_price=stop_price))

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self._send(cancel_all_request(symbol))

    async def read(self, timeout: float | None = None) -> TradeItem | None:
        """The next report or RequestError; None after ``timeout`` seconds
        without one (the session goes on) or at the end of the call (``ended``)."""
        if self._ended:
            return None
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._call.read())
        try:
            # shield: a timeout (or a cancelled caller) leaves the call's read
            # running for the next read().
            if timeout is None:
                message = await asyncio.shield(self._reading)
            else:
                message = await asyncio.wait_for(asyncio.shield(self._reading), timeout)
        except asyncio.TimeoutError:
            return None
        except grpc.RpcError as exc:
            self._reading = None
            self._ended = True
            if self._closed and exc.code() == grpc.StatusCode.CANCELLED:
                return None
            raise self._errors(exc) from exc
        except asyncio.CancelledError:
            if self._closed:
                self._ended = True
                return None
            raise
        self._reading = None
        if message is grpc.aio.EOF:
            self._ended = True
            return None
        return self._seen(_item(message))

    @property
    def ended(self) -> bool:
        """Whether the call is over (closed, or ended by the server)."""
        return self._ended

    def __aiter__(self) -> "AsyncRemoteOrderSession":
        return self

    async def __anext__(self) -> TradeItem:
        item = await self.read(None)
        if item is None:
            raise StopAsyncIteration
        return item

    async def close(self) -> None:
        """End the call (safe twice)."""
        if self._closed:
            return
        self._closed = True
        self._requests.put_nowait(_END)
        self._call.cancel()
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    cancel = close

    async def __aenter__(self) -> "AsyncRemoteOrderSession":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
