# NumPy dtypes laid over the C structs, built from the structs' real offsets,
# so a C array of structs is a NumPy structured array with no conversion.

cdef Tick _tick_probe
cdef Result _result_probe
cdef OrderRequest _order_probe
cdef ExecReport _exec_probe

cdef inline Py_ssize_t _off(void *field, void *base):
    return <Py_ssize_t>(<char *>field - <char *>base)


cdef list _tick_fields(Py_ssize_t base_offset, Tick *t, void *base):
    return [
        ("seq", "<i8", base_offset + _off(&t.seq, base)),
        ("ts_ns", "<i8", base_offset + _off(&t.ts_ns, base)),
        ("recv_ns", "<i8", base_offset + _off(&t.recv_ns, base)),
        ("symbol_id", "<i4", base_offset + _off(&t.symbol_id, base)),
        ("kind", "<i4", base_offset + _off(&t.kind, base)),
        ("price", "<f8", base_offset + _off(&t.price, base)),
        ("size", "<f8", base_offset + _off(&t.size, base)),
        ("bid", "<f8", base_offset + _off(&t.bid, base)),
        ("ask", "<f8", base_offset + _off(&t.ask, base)),
        ("bid_size", "<f8", base_offset + _off(&t.bid_size, base)),
        ("ask_size", "<f8", base_offset + _off(&t.ask_size, base)),
        ("interval_ns", "<i8", base_offset + _off(&t.interval_ns, base)),
    ]


cdef object _make_dtype(list fields, Py_ssize_t itemsize):
    return np.dtype({
        "names": [f[0] for f in fields],
        "formats": [f[1] for f in fields],
        "offsets": [f[2] for f in fields],
        "itemsize": itemsize,
    })


cdef object _tick_dtype():
    return _make_dtype(_tick_fields(0, &_tick_probe, &_tick_probe), sizeof(Tick))


cdef object _result_dtype():
    cdef Result *r = &_result_probe
    fields = _tick_fields(0, &r.tick, r) + [
        ("value", "<f8", _off(&r.value, r)),
        ("volume", "<f8", _off(&r.volume, r)),
        ("vwap", "<f8", _off(&r.vwap, r)),
        ("high", "<f8", _off(&r.high, r)),
        ("low", "<f8", _off(&r.low, r)),
        ("ema", "<f8", _off(&r.ema, r)),
        ("volatility", "<f8", _off(&r.volatility, r)),
        ("mid", "<f8", _off(&r.mid, r)),
        ("spread", "<f8", _off(&r.spread, r)),
        ("trade_count", "<i8", _off(&r.trade_count, r)),
        ("done_ns", "<i8", _off(&r.done_ns, r)),
        ("open", "<f8", _off(&r.open, r)),
    ]
    return _make_dtype(fields, sizeof(Result))


cdef object _order_dtype():
    cdef OrderRequest *q = &_order_probe
    return _make_dtype([
        ("seq", "<i8", _off(&q.seq, q)),
        ("ts_ns", "<i8", _off(&q.ts_ns, q)),
        ("recv_ns", "<i8", _off(&q.recv_ns, q)),
        ("symbol_id", "<i4", _off(&q.symbol_id, q)),
        ("kind", "<i4", _off(&q.kind, q)),
        ("cl_ord_id", "<i8", _off(&q.cl_ord_id, q)),
        ("orig_cl_ord_id", "<i8", _off(&q.orig_cl_ord_id, q)),
        ("price", "<f8", _off(&q.price, q)),
        ("stop_price", "<f8", _off(&q.stop_price, q)),
        ("quantity", "<f8", _off(&q.quantity, q)),
        ("expire_ns", "<i8", _off(&q.expire_ns, q)),
        ("symbol", "<i4", _off(&q.symbol, q)),
        ("account", "u1", _off(&q.account, q)),
        ("ord_type", "u1", _off(&q.ord_type, q)),
        ("tif", "u1", _off(&q.tif, q)),
        ("flags", "u1", _off(&q.flags, q)),
    ], sizeof(OrderRequest))


cdef object _exec_dtype():
    cdef ExecReport *r = &_exec_probe
    return _make_dtype([
        ("seq", "<i8", _off(&r.seq, r)),
        ("ts_ns", "<i8", _off(&r.ts_ns, r)),
        ("recv_ns", "<i8", _off(&r.recv_ns, r)),
        ("symbol_id", "<i4", _off(&r.symbol_id, r)),
        ("kind", "<i4", _off(&r.kind, r)),
        ("cl_ord_id", "<i8", _off(&r.cl_ord_id, r)),
        ("orig_cl_ord_id", "<i8", _off(&r.orig_cl_ord_id, r)),
        ("order_id", "<i8", _off(&r.order_id, r)),
        ("cause_seq", "<i8", _off(&r.cause_seq, r)),
        ("expire_ns", "<i8", _off(&r.expire_ns, r)),
        ("price", "<f8", _off(&r.price, r)),
        ("stop_price", "<f8", _off(&r.stop_price, r)),
        ("quantity", "<f8", _off(&r.quantity, r)),
        ("last_px", "<f8", _off(&r.last_px, r)),
        ("last_qty", "<f8", _off(&r.last_qty, r)),
        ("cum_qty", "<f8", _off(&r.cum_qty, r)),
        ("leaves_qty", "<f8", _off(&r.leaves_qty, r)),
        ("avg_px", "<f8", _off(&r.avg_px, r)),
        ("position", "<f8", _off(&r.position, r)),
        ("position_avg_px", "<f8", _off(&r.position_avg_px, r)),
        ("realized_pnl", "<f8", _off(&r.realized_pnl, r)),
        ("fees", "<f8", _off(&r.fees, r)),
        ("done_ns", "<i8", _off(&r.done_ns, r)),
        ("account_id", "u1", _off(&r.account, r)),
        ("exec_type", "u1", _off(&r.exec_type, r)),
        ("ord_status", "u1", _off(&r.ord_status, r)),
        ("side", "u1", _off(&r.side, r)),
        ("ord_type", "u1", _off(&r.ord_type, r)),
        ("tif", "u1", _off(&r.tif, r)),
        ("reject_reason", "u1", _off(&r.reject_reason, r)),
        ("post_only", "u1", _off(&r.post_only, r)),
    ], sizeof(ExecReport))


# The overlays must be exactly the size of what they are laid over.
assert sizeof(OrderRequest) == sizeof(Tick), "OrderRequest must be the size of a Tick"
assert sizeof(ExecReport) == sizeof(Result), "ExecReport must be the size of a Result"

TICK_DTYPE = _tick_dtype()
ORDER_DTYPE = _order_dtype()
EXEC_DTYPE = _exec_dtype()
RESULT_DTYPE = _result_dtype()
KIND_TRADE_VALUE = KIND_TRADE
KIND_QUOTE_VALUE = KIND_QUOTE
KIND_BAR_VALUE = KIND_BAR
KIND_OHLCV_VALUE = KIND_OHLCV
KIND_ORDER_VALUE = KIND_ORDER
KIND_EXEC_VALUE = KIND_EXEC
DURABILITY = {"write": DUR_WRITE, "interval": DUR_INTERVAL, "fsync": DUR_FSYNC}
POLICIES = {"block": POLICY_BLOCK, "skip": POLICY_SKIP, "disconnect": POLICY_DISCONNECT}


cdef unsigned char *array_data(object arr, object dtype) except NULL:
    """Pointer to the first element of a C-contiguous, non-empty array of dtype.

    The caller must keep `arr` alive while using the pointer: pass a variable,
    never a temporary such as np.ascontiguousarray(x).
    """
    if arr.dtype != dtype:
        raise InvalidArgumentError(f"expected an array of dtype {dtype}, got {arr.dtype}")
    if not arr.flags.c_contiguous:
        raise InvalidArgumentError("expected a C-contiguous array (use np.ascontiguousarray)")
    cdef unsigned char[::1] raw = arr.reshape(-1).view(np.uint8)
    return &raw[0]
