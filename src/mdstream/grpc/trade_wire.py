"""Paper trading on the wire: the one conversion between the Python API of
orders (mdstream.venue) and the Trade, GetOrders and GetPositions messages
of mdstream.proto, used by the servicer (mdstream.grpc.trading) and both
clients (mdstream.grpc.trade_session).

The wire's enums carry the FIX values the venue's codes have
(mdstream.venue.codes), so a code crosses as it is; the Python API names
them in words ("buy", "limit", "gtc"), converted here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import grpc

from mdstream.errors import InvalidArgumentError
from mdstream.v1 import mdstream_pb2 as pb

__all__ = [
    "SIDES", "ORD_TYPES", "TIFS", "SIDE_TO_PB", "ORD_TYPE_TO_PB", "TIF_TO_PB",
    "RequestError", "session_request", "new_order_request", "cancel_request",
    "replace_request", "cancel_all_request", "new_order_args", "replace_args",
    "report_messages", "report_from_message", "request_error_message",
    "order_message", "order_from_message", "position_message", "position_from_message",
    "DEFAULT_ACCOUNT", "read_orders", "read_positions",
]

#: The account of a Trade call that sends no TradeSession first: a paper
#: venue's default account.
DEFAULT_ACCOUNT = "paper"

#: Python name -> the wire's (and FIX's) value.
SIDE_TO_PB = {"buy": pb.SIDE_BUY, "sell": pb.SIDE_SELL}
ORD_TYPE_TO_PB = {"market": pb.ORD_TYPE_MARKET, "limit": pb.ORD_TYPE_LIMIT,
                  "stop": pb.ORD_TYPE_STOP, "stop_limit": pb.ORD_TYPE_STOP_LIMIT}
TIF_TO_PB = {"day": pb.TIME_IN_FORCE_DAY, "gtc": pb.TIME_IN_FORCE_GTC,
             "ioc": pb.TIME_IN_FORCE_IOC, "fok": pb.TIME_IN_FORCE_FOK,
             "gtd": pb.TIME_IN_FORCE_GTD}
PB_TO_SIDE = {v: k for k, v in SIDE_TO_PB.items()}
PB_TO_ORD_TYPE = {v: k for k, v in ORD_TYPE_TO_PB.items()}
PB_TO_TIF = {v: k for k, v in TIF_TO_PB.items()}
SIDES = tuple(SIDE_TO_PB)
ORD_TYPES = tuple(ORD_TYPE_TO_PB)
TIFS = tuple(TIF_TO_PB)


def _word(value: Any, table: dict, what: str) -> int:
    key = str(value).lower() if isinstance(value, str) else value
    if key not in table:
        raise InvalidArgumentError(f"{what} must be one of {', '.join(table)}, got {value!r}")
    return table[key]


def _enum_word(value: int, table: dict, enum: Any, what: str) -> str:
    if value not in table:
        names = ", ".join(f"{enum.Name(v)} ({v})" for v in table)
        raise InvalidArgumentError(f"{what} {value} is not valid: use {names}")
    return table[value]


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


def new_order_request(cl_ord_id: int, symbol: str, side: str, quantity: float, *,
                      ord_type: str = "limit", price: float | None = None,
                      stop_price: float | None = None, tif: str = "gtc",
                      post_only: bool = False, expire_ns: int | None = None) -> pb.TradeRequest:
    """A NewOrder message of Engine.submit_order's arguments (without the
    account). Words that have no wire value (a side "hold") raise
    InvalidArgumentError here; the server checks the rest (quantity, prices)."""
    order = pb.NewOrder(cl_ord_id=int(cl_ord_id), symbol=str(symbol),
                        side=_word(side, SIDE_TO_PB, "side"), quantity=float(quantity),
                        ord_type=_word(ord_type, ORD_TYPE_TO_PB, "ord_type"),
                        tif=_word(tif, TIF_TO_PB, "tif"), post_only=bool(post_only))
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
    side = _enum_word(msg.side, PB_TO_SIDE, pb.Side, "side")
    ord_type = ("limit" if msg.ord_type == pb.ORD_TYPE_UNSPECIFIED
                else _enum_word(msg.ord_type, PB_TO_ORD_TYPE, pb.OrdType, "ord_type"))
    tif = _enum_word(msg.tif, PB_TO_TIF, pb.TimeInForce, "tif") if msg.HasField("tif") else "gtc"
    kwargs = {"ord_type": ord_type, "tif": tif, "post_only": msg.post_only,
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
                   "realized_pnl", "fees")


def _finite(x: float) -> float:
    """A price that is not there (NaN) is 0 on the wire."""
    return x if math.isfinite(x) else 0.0


_PRICES = ("price", "stop_price")


def report_messages(batch: Any) -> list[pb.TradeResponse]:
    """One TradeResponse per report of an ExecutionReports batch, in order."""
    from mdstream.venue.codes import reject_text

    cols = {name: getattr(batch, name).tolist() for name in _REPORT_NUMBERS}
    symbols, accounts = batch.symbols, batch.accounts
    sym_ids = batch.symbol_id.tolist()
    acc_ids = batch.account_id.tolist()
    out = []
    for i in range(len(sym_ids)):
        values = {name: col[i] for name, col in cols.items()}
        for name in _PRICES:
            values[name] = _finite(values[name])
        reason = values["reject_reason"]
        report = pb.ExecutionReport(symbol=symbols[sym_ids[i]], account=accounts[acc_ids[i]],
                                    text=reject_text(reason) if reason else "", **values)
        out.append(pb.TradeResponse(execution_report=report))
    return out


def report_from_message(msg: pb.ExecutionReport) -> Any:
    """The mdstream.venue ExecutionReport of an ExecutionReport message."""
    from mdstream.venue.reports import ExecutionReport

    values = {name: getattr(msg, name) for name in _REPORT_NUMBERS}
    return ExecutionReport(symbol=msg.symbol, account=msg.account, **values)


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
                 "triggered")
_POSITION_FIELDS = ("quantity", "avg_px", "realized_pnl", "fees", "mark", "unrealized_pnl")


def order_message(order: Any) -> pb.Order:
    """The Order message of a mdstream.venue OrderState."""
    values = {name: getattr(order, name) for name in _ORDER_FIELDS}
    for name in _PRICES:
        values[name] = _finite(values[name])
    values["expire_ns"] = values["expire_ns"] or 0
    return pb.Order(account=order.account, symbol=order.symbol, **values)


def order_from_message(msg: pb.Order) -> Any:
    from mdstream.venue.reports import OrderState

    return OrderState(account=msg.account, symbol=msg.symbol,
                      **{name: getattr(msg, name) for name in _ORDER_FIELDS})


def position_message(position: Any) -> pb.Position:
    return pb.Position(account=position.account, symbol=position.symbol,
                       **{name: getattr(position, name) for name in _POSITION_FIELDS})


def position_from_message(msg: pb.Position) -> Any:
    from mdstream.venue.reports import Position

    return Position(account=msg.account, symbol=msg.symbol,
                    **{name: getattr(msg, name) for name in _POSITION_FIELDS})


def read_orders(resp: pb.OrdersResponse) -> list[Any]:
    """GetOrders' answer: OrderState objects, by order_id."""
    return [order_from_message(m) for m in resp.orders]


def read_positions(resp: pb.PositionsResponse) -> list[Any]:
    """GetPositions' answer: Position objects, by account then symbol."""
    return [position_from_message(m) for m in resp.positions]
