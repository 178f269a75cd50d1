"""Paper trading on the wire: the one conversion between the Python API of
orders (mdstream.venue) and the Trade, GetOrders and GetPositions messages
of mdstream.proto, used by the servicer (mdstream.grpc.trading) and both
clients (mdstream.grpc.trade_session).

The wire's enums carry the FIX values the venue's codes have
(mdstream.venue.codes), so a code crosses as it is; the Python API takes
words ("buy", "limit", "gtc") or the codes' enums, read by the venue's own
parse_code (one validation, one message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from mdstream.errors import InvalidArgumentError
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.venue import ExecutionReport, ExecutionReports, OrderState, Position

__all__ = [
    "RequestError", "session_request", "new_order_request", "cancel_request",
    "replace_request", "cancel_all_request", "new_order_args", "replace_args",
    "report_messages", "report_from_message", "request_error_message",
    "order_message", "order_from_message", "position_message", "position_from_message",
    "DEFAULT_ACCOUNT", "read_orders", "read_positions",
]

#: The account of a Trade call that sends no TradeSession first: a paper
#: venue's default account.
DEFAULT_ACCOUNT = "paper"

def _code(enum_name: str, value: Any, what: str) -> int:
    """A code of mdstream.venue.codes from its name ("buy", any case), enum or
    number: the wire's value (the same FIX number). InvalidArgumentError
    names the valid ones."""
    from mdstream.venue import codes

    return codes.parse_code(getattr(codes, enum_name), value, what)


# -- requests (client side) ------------------------------------------------------

def session_request(account: str, cancel_on_disconnect: bool = False,
                    from_seq: int | None = None) -> pb.TradeRequest:
    """The first message of a Trade call."""
    if not isinstance(account, str) or not account:
        raise InvalidArgumentError(f"account must be a non-empty name, got {account!r}")
    session = pb.TradeSession(account=account, cancel_on_disconnect=bool(cancel_on_disconnect))
    if from_seq is not None:
        if int(from_seq) < 0:
            raise InvalidArgumentError(f"from_seq must be >= 0, got {from_seq}")
        session.from_seq = int(from_seq)
    return pb.TradeRequest(session=session)


def _optional(msg: Any, **values: Any) -> None:
    for name, value in values.items():
        if value is not None:
            setattr(msg, name, value)


def new_order_request(cl_ord_id: int, symbol: str, side: Any, quantity: float, *,
                      ord_type: Any = "limit", price: float | None = None,
                      stop_price: float | None = None, tif: Any = "gtc",
                      post_only: bool = False, expire_ns: int | None = None) -> pb.TradeRequest:
    """A NewOrder message of Engine.submit_order's arguments (without the
    account). Words that have no wire value (a side "hold") raise
    InvalidArgumentError here; the server checks the rest (quantity, prices)."""
    order = pb.NewOrder(cl_ord_id=int(cl_ord_id), symbol=str(symbol),
                        side=pb.Side.ValueType(_code("Side", side, "side")),
                        quantity=float(quantity),
                        ord_type=pb.OrdType.ValueType(_code("OrdType", ord_type, "ord_type")),
                        tif=pb.TimeInForce.ValueType(_code("TimeInForce", tif, "tif")),
                        post_only=bool(post_only))
    _optional(order, price=None if price is None else float(price),
              stop_price=None if stop_price is None else float(stop_price),
              expire_ns=None if expire_ns is None else int(expire_ns))
    return pb.TradeRequest(new_order=order)


def cancel_request(orig_cl_ord_id: int, *, cl_ord_id: int = 0) -> pb.TradeRequest:
    return pb.TradeRequest(cancel_order=pb.CancelOrder(orig_cl_ord_id=int(orig_cl_ord_id),
                                                       cl_ord_id=int(cl_ord_id)))


def replace_request(orig_cl_ord_id: int, cl_ord_id: int, *, price: float | None = None,
                    quantity: float | None = None,
                    stop_price: float | None = None) -> pb.TradeRequest:
    msg = pb.ReplaceOrder(orig_cl_ord_id=int(orig_cl_ord_id), cl_ord_id=int(cl_ord_id))
    _optional(msg, price=None if price is None else float(price),
              quantity=None if quantity is None else float(quantity),
              stop_price=None if stop_price is None else float(stop_price))
    return pb.TradeRequest(replace_order=msg)


def cancel_all_request(symbol: str | None = None) -> pb.TradeRequest:
    return pb.TradeRequest(cancel_all=pb.CancelAll(symbol=symbol or ""))


# -- requests (server side) ------------------------------------------------------

def new_order_args(msg: pb.NewOrder) -> tuple[tuple, dict]:
    """The positional (cl_ord_id, symbol, side, quantity) and keyword arguments
    of Engine.submit_order (without the account) of a NewOrder message.
    InvalidArgumentError for an enum value the wire does not define (the
    venue checks everything else)."""
    if msg.side == pb.SIDE_UNSPECIFIED:
        raise InvalidArgumentError("side is required: SIDE_BUY (1) or SIDE_SELL (2)")
    side = _code("Side", msg.side, "side")
    ord_type = (_code("OrdType", "limit", "ord_type") if msg.ord_type == pb.ORD_TYPE_UNSPECIFIED
                else _code("OrdType", msg.ord_type, "ord_type"))
    tif = _code("TimeInForce", msg.tif, "tif") if msg.HasField("tif") else "gtc"
    kwargs: dict[str, Any] = {"ord_type": ord_type, "tif": tif, "post_only": msg.post_only,
              "price": msg.price if msg.HasField("price") else None,
              "stop_price": msg.stop_price if msg.HasField("stop_price") else None,
              "expire_ns": msg.expire_ns if msg.HasField("expire_ns") else None}
    return (msg.cl_ord_id, msg.symbol, side, msg.quantity), kwargs


def replace_args(msg: pb.ReplaceOrder) -> dict:
    """Engine.replace_order's keyword arguments of a ReplaceOrder message."""
    return {"price": msg.price if msg.HasField("price") else None,
            "quantity": msg.quantity if msg.HasField("quantity") else None,
            "stop_price": msg.stop_price if msg.HasField("stop_price") else None}


# -- execution reports -------------------------------------------------------------

#: The report fields that are columns of an ExecutionReports batch, as they are.
_REPORT_NUMBERS = ("seq", "cause_seq", "ts_ns", "recv_ns", "done_ns", "cl_ord_id",
                   "orig_cl_ord_id", "order_id", "exec_type", "ord_status", "side", "ord_type",
                   "tif", "reject_reason", "price", "stop_price", "quantity", "last_px",
                   "last_qty", "cum_qty", "leaves_qty", "avg_px", "position", "position_avg_px",
                   "realized_pnl", "fees", "post_only", "expire_ns")


def report_messages(batch: "ExecutionReports") -> list[pb.TradeResponse]:
    """One TradeResponse per report of an ExecutionReports batch, in order."""
    from mdstream.venue.codes import REJECT_TEXT, RejectReason

    cols = {name: getattr(batch, name).tolist() for name in _REPORT_NUMBERS}
    symbols, accounts = batch.symbols, batch.accounts
    sym_ids = batch.symbol_id.tolist()
    acc_ids = batch.account_id.tolist()
    out = []
    for i, sid in enumerate(sym_ids):
        values = {name: col[i] for name, col in cols.items()}
        values["post_only"] = bool(values["post_only"])
        reason = values["reject_reason"]
        report = pb.ExecutionReport(
            symbol=symbols[sid] if 0 <= sid < len(symbols) else "",
            account=accounts[acc_ids[i]],
            text=REJECT_TEXT.get(RejectReason(reason), "") if reason else "", **values)
        out.append(pb.TradeResponse(execution_report=report))
    return out


def report_from_message(msg: pb.ExecutionReport) -> "ExecutionReport":
    """The mdstream.venue ExecutionReport of an ExecutionReport message
    (equal to the one an in-process subscription gives)."""
    from mdstream.venue.codes import (ExecType, OrdStatus, OrdType, RejectReason, Side,
                                      TimeInForce)
    from mdstream.venue.reports import ExecutionReport

    known = msg.ord_type != pb.ORD_TYPE_UNSPECIFIED
    return ExecutionReport(
        seq=msg.seq, exec_id=str(msg.seq), cause_seq=msg.cause_seq, ts_ns=msg.ts_ns,
        recv_ns=msg.recv_ns, done_ns=msg.done_ns, account=msg.account,
        symbol=msg.symbol or None, cl_ord_id=msg.cl_ord_id, orig_cl_ord_id=msg.orig_cl_ord_id,
        order_id=msg.order_id, exec_type=ExecType(msg.exec_type),
        ord_status=OrdStatus(msg.ord_status), side=Side(msg.side) if msg.side else None,
        ord_type=OrdType(msg.ord_type) if known else None,
        tif=TimeInForce(msg.tif) if known else None, post_only=msg.post_only,
        price=msg.price, stop_price=msg.stop_price, quantity=msg.quantity, last_px=msg.last_px,
        last_qty=msg.last_qty, cum_qty=msg.cum_qty, leaves_qty=msg.leaves_qty,
        avg_px=msg.avg_px, expire_ns=msg.expire_ns,
        reject_reason=RejectReason(msg.reject_reason), text=msg.text, position=msg.position,
        position_avg_px=msg.position_avg_px, realized_pnl=msg.realized_pnl, fees=msg.fees)


@dataclass(frozen=True)
class RequestError:
    """A Trade request the server could not take (nothing entered the engine
    for it): ``cl_ord_id`` (and ``orig_cl_ord_id`` of a cancel or replace),
    the gRPC ``code`` and ErrorInfo ``reason`` a call would have failed
    with, and a ``message`` that says what to fix. The session goes on."""

    cl_ord_id: int
    orig_cl_ord_id: int
    code: grpc.StatusCode
    reason: str
    message: str

    def __str__(self) -> str:
        return f"request {self.cl_ord_id}: {self.code.name}: {self.message}"


_CODES = {c.value[0]: c for c in grpc.StatusCode}


def request_error_message(cl_ord_id: int, orig_cl_ord_id: int, code: grpc.StatusCode,
                          reason: str, message: str) -> pb.TradeResponse:
    return pb.TradeResponse(request_error=pb.RequestError(
        cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id, code=code.value[0], reason=reason,
        message=message))


def request_error_from_message(msg: pb.RequestError) -> RequestError:
    return RequestError(msg.cl_ord_id, msg.orig_cl_ord_id,
                        _CODES.get(msg.code, grpc.StatusCode.UNKNOWN), msg.reason, msg.message)


# -- orders and positions ------------------------------------------------------------

_ORDER_FIELDS = ("order_id", "cl_ord_id", "side", "ord_type", "tif", "ord_status", "price",
                 "stop_price", "quantity", "cum_qty", "leaves_qty", "avg_px", "expire_ns",
                 "triggered", "post_only")
_POSITION_FIELDS = ("quantity", "avg_px", "realized_pnl", "unrealized_pnl", "fees", "fills",
                    "mark_px")


def order_message(order: "OrderState") -> pb.Order:
    """The Order message of a mdstream.venue OrderState."""
    return pb.Order(account=order.account, symbol=order.symbol,
                    **{name: getattr(order, name) for name in _ORDER_FIELDS})


def order_from_message(msg: pb.Order) -> "OrderState":
    """The mdstream.venue OrderState of an Order message."""
    from mdstream.venue.codes import OrdStatus, OrdType, Side, TimeInForce
    from mdstream.venue.reports import OrderState

    return OrderState(account=msg.account, symbol=msg.symbol, cl_ord_id=msg.cl_ord_id,
                      order_id=msg.order_id, side=Side(msg.side), ord_type=OrdType(msg.ord_type),
                      tif=TimeInForce(msg.tif), price=msg.price, stop_price=msg.stop_price,
                      quantity=msg.quantity, cum_qty=msg.cum_qty, leaves_qty=msg.leaves_qty,
                      avg_px=msg.avg_px, ord_status=OrdStatus(msg.ord_status),
                      triggered=msg.triggered, expire_ns=msg.expire_ns, post_only=msg.post_only)


def position_message(position: "Position") -> pb.Position:
    """The Position message of a mdstream.venue Position."""
    return pb.Position(account=position.account, symbol=position.symbol,
                       **{name: getattr(position, name) for name in _POSITION_FIELDS})


def position_from_message(msg: pb.Position) -> "Position":
    """The mdstream.venue Position of a Position message."""
    from mdstream.venue.reports import Position

    return Position(account=msg.account, symbol=msg.symbol,
                    **{name: getattr(msg, name) for name in _POSITION_FIELDS})


def read_orders(resp: pb.OrdersResponse) -> "list[OrderState]":
    """GetOrders' answer: OrderState objects, by order_id."""
    return [order_from_message(m) for m in resp.orders]


def read_positions(resp: pb.PositionsResponse) -> "list[Position]":
    """GetPositions' answer: Position objects, by account then symbol."""
    return [position_from_message(m) for m in resp.positions]
