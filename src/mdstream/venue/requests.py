"""Order requests as the core takes them: rows of ``ORDER_DTYPE``, checked.

A malformed request (what no venue could act on: a quantity <= 0, a limit
without a price, an unknown account or symbol) raises InvalidArgumentError
here and never enters the engine; whether a well-formed order may trade is
the venue's decision, reported as an execution report.
"""

from __future__ import annotations

import math
import time

import numpy as np

from mdstream import _core
from mdstream.errors import InvalidArgumentError
from mdstream.venue.codes import OrdType, Side, TimeInForce, parse_code

__all__ = ["ORDER_DTYPE", "MAX_CL_ORD_ID", "new_order", "cancel_order", "replace_order",
           "cancel_all"]

#: One order request (88 bytes, laid over the core's tick).
ORDER_DTYPE = _core.ORDER_DTYPE
#: cl_ord_id is 1 .. MAX_CL_ORD_ID (47 bits: the venue keys ids by account and id in 64).
MAX_CL_ORD_ID = (1 << 47) - 1

_NEW, _CANCEL, _REPLACE, _CANCEL_ALL = (_core.ORDER_ACTIONS[a] for a in
                                        ("new", "cancel", "replace", "cancel_all"))


def _row(account: int, cl_ord_id: int, flags: int) -> np.ndarray:
    row = np.zeros(1, dtype=ORDER_DTYPE)
    row["ts_ns"] = time.time_ns()
    row["account"] = account
    row["cl_ord_id"] = cl_ord_id
    row["price"] = math.nan
    row["stop_price"] = math.nan
    row["quantity"] = math.nan
    row["symbol"] = -1
    row["flags"] = flags
    return row


def _id(value: object, what: str, zero_ok: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            (zero_ok and value == 0) or 1 <= value <= MAX_CL_ORD_ID):
        raise InvalidArgumentError(
            f"{what} must be an integer from 1 to 2**47 - 1{' (or 0: none)' if zero_ok else ''}, "
            f"got {value!r}")
    return int(value)


def _price(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(value):
        raise InvalidArgumentError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _quantity(value: object) -> float:
    q = _price(value, "quantity")
    if not q > 0:
        raise InvalidArgumentError(f"quantity must be > 0, got {value!r}")
    return q


def new_order(account: int, cl_ord_id: int, symbol: int, side: str | int, quantity: float, *,
              ord_type: str | int = "limit", price: float | None = None,
              stop_price: float | None = None, tif: str | int = "gtc",
              post_only: bool = False, expire_ns: int | None = None,
              rate_limited: bool = False) -> np.ndarray:
    """One NEW request (a 1-row ORDER_DTYPE array). ``rate_limited``: sent over
    its session's rate limit (mdstream.venue.session): the venue rejects it
    with RATE_LIMIT, in sequence. Raises InvalidArgumentError."""
    side_code = parse_code(Side, side, "side")
    type_code = parse_code(OrdType, ord_type, "ord_type")
    tif_code = parse_code(TimeInForce, tif, "tif")
    flags = _NEW | (_core.ORDER_FLAGS["sell"] if side_code == Side.SELL else 0)
    if rate_limited:
        flags |= _core.ORDER_FLAGS["rate_limited"]
    if post_only:
        if type_code != OrdType.LIMIT:
            raise InvalidArgumentError(
                "post_only (mdstream order --post-only) applies to limit orders only")
        if tif_code in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidArgumentError("a post-only order rests: it cannot be IOC or FOK")
        flags |= _core.ORDER_FLAGS["post_only"]
    row = _row(account, _id(cl_ord_id, "cl_ord_id"), flags)
    row["symbol"] = symbol
    row["quantity"] = _quantity(quantity)
    row["ord_type"] = type_code
    row["tif"] = tif_code
    if type_code in (OrdType.LIMIT, OrdType.STOP_LIMIT):
        if price is None:
            raise InvalidArgumentError(
                f"a {OrdType(type_code).name.lower()} order needs a price (mdstream order --limit)")
        row["price"] = _price(price, "price")
    elif price is not None:
        raise InvalidArgumentError(
            f"a {OrdType(type_code).name.lower()} order has no price (give ord_type='limit')")
    if type_code in (OrdType.STOP, OrdType.STOP_LIMIT):
        if stop_price is None:
            raise InvalidArgumentError(f"a {OrdType(type_code).name.lower()} order needs a "
                                       "stop_price (mdstream order --stop)")
        row["stop_price"] = _price(stop_price, "stop_price")
    elif stop_price is not None:
        raise InvalidArgumentError("only stop and stop_limit orders have a stop_price")
    if tif_code == TimeInForce.GTD:
        if expire_ns is None or isinstance(expire_ns, bool) or not isinstance(expire_ns, int):
            raise InvalidArgumentError("a GTD order needs expire_ns (mdstream order --expire): "
                                       "its expiry in event time, ns since the epoch")
        row["expire_ns"] = expire_ns
    elif expire_ns is not None:
        raise InvalidArgumentError("only GTD orders have an expire_ns (mdstream order --expire); "
                                   "give tif='gtd' (--tif gtd)")
    return row


def cancel_order(account: int, orig_cl_ord_id: int, cl_ord_id: int = 0) -> np.ndarray:
    """A CANCEL of the account's open order ``orig_cl_ord_id`` (``cl_ord_id``:
    the cancel's own id, 0 for none)."""
    row = _row(account, _id(cl_ord_id, "cl_ord_id", zero_ok=True), _CANCEL)
    row["orig_cl_ord_id"] = _id(orig_cl_ord_id, "orig_cl_ord_id")
    return row


def replace_order(account: int, orig_cl_ord_id: int, cl_ord_id: int, *,
                  price: float | None = None, quantity: float | None = None,
                  stop_price: float | None = None) -> np.ndarray:
    """A cancel-replace (FIX OrderCancelReplaceRequest): the open order
    ``orig_cl_ord_id`` takes the new id, and the new price / quantity / stop
    price where given (quantity: the new total, above what is filled)."""
    row = _row(account, _id(cl_ord_id, "cl_ord_id"), _REPLACE)
    row["orig_cl_ord_id"] = _id(orig_cl_ord_id, "orig_cl_ord_id")
    if price is not None:
        row["price"] = _price(price, "price")
    if quantity is not None:
        row["quantity"] = _quantity(quantity)
    if stop_price is not None:
        row["stop_price"] = _price(stop_price, "stop_price")
    return row


def cancel_all(account: int, symbol: int = -1) -> np.ndarray:
    """Cancel every open order of the account (``symbol`` >= 0: on that symbol only)."""
    row = _row(account, 0, _CANCEL_ALL)
    row["symbol"] = symbol
    return row
