# NumPy dtypes laid over the C structs, built from the structs' real offsets,
# so a C array of structs is a NumPy structured array with no conversion.

cdef Tick _tick_probe
cdef Result _result_probe

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


TICK_DTYPE = _tick_dtype()
RESULT_DTYPE = _result_dtype()
KIND_TRADE_VALUE = KIND_TRADE
KIND_QUOTE_VALUE = KIND_QUOTE
KIND_BAR_VALUE = KIND_BAR
KIND_OHLCV_VALUE = KIND_OHLCV
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
