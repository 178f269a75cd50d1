# Where each protobuf field of mdstream.v1 lives in the C Result struct.
#
# The tables are filled at import from the struct's real offsets (like the
# NumPy dtypes of the core), so the codec follows any change of field order
# in _types.pxd. The field numbers are those of proto/mdstream/v1/mdstream.proto;
# the tests compare these tables with the generated descriptors.

cdef enum ValueKind:
    VK_F64 = 0          # double: 8 bytes, wire type I64 (packed: a plain array)
    VK_I64 = 1          # int64: sfixed64 in batch columns, varint in Result
    VK_I32 = 2          # int32 / enum / uint32: varint

ctypedef struct FieldSpec:
    uint32_t number     # protobuf field number
    int kind            # ValueKind
    Py_ssize_t offset   # byte offset in Result

cdef enum:
    N_BATCH_COLUMNS = 24
    N_RESULT_FIELDS = 24
    MAX_COLUMN_FIELD = 28     # the highest column field number of ResultBatch
    # ResultBatch fields that are not columns.
    BATCH_COUNT = 1
    BATCH_SYMBOLS = 2
    BATCH_GAP = 3
    BATCH_HEARTBEAT = 4
    # Result fields that are not struct members.
    RESULT_SYMBOL = 1
    RESULT_MISSED_BEFORE = 24

cdef FieldSpec BATCH_COLUMNS[N_BATCH_COLUMNS]
cdef FieldSpec RESULT_FIELDS[N_RESULT_FIELDS]
# Index in RESULT_FIELDS before which Result.missed_before is written.
cdef int MISSED_BEFORE_POS = N_RESULT_FIELDS
cdef Result _probe


cdef Py_ssize_t _offset_of(void *member):
    return <Py_ssize_t>(<char *>member - <char *>&_probe)


cdef list _layout():
    """(name, ResultBatch field, Result field, kind, offset) of every struct-backed field."""
    cdef Result *r = &_probe
    return [
        ("seq",         5,  4,  VK_I64, _offset_of(&r.tick.seq)),
        ("ts_ns",       6,  5,  VK_I64, _offset_of(&r.tick.ts_ns)),
        ("recv_ns",     7,  9,  VK_I64, _offset_of(&r.tick.recv_ns)),
        ("done_ns",     8,  10, VK_I64, _offset_of(&r.done_ns)),
        ("symbol_id",   9,  8,  VK_I32, _offset_of(&r.tick.symbol_id)),
        ("kind",        10, 7,  VK_I32, _offset_of(&r.tick.kind)),
        ("price",       11, 3,  VK_F64, _offset_of(&r.tick.price)),
        ("size",        12, 6,  VK_F64, _offset_of(&r.tick.size)),
        ("value",       13, 2,  VK_F64, _offset_of(&r.value)),
        ("bid",         14, 11, VK_F64, _offset_of(&r.tick.bid)),
        ("ask",         15, 12, VK_F64, _offset_of(&r.tick.ask)),
        ("bid_size",    16, 13, VK_F64, _offset_of(&r.tick.bid_size)),
        ("ask_size",    17, 14, VK_F64, _offset_of(&r.tick.ask_size)),
        ("volume",      18, 15, VK_F64, _offset_of(&r.volume)),
        ("vwap",        19, 16, VK_F64, _offset_of(&r.vwap)),
        ("high",        20, 17, VK_F64, _offset_of(&r.high)),
        ("low",         21, 18, VK_F64, _offset_of(&r.low)),
        ("ema",         22, 19, VK_F64, _offset_of(&r.ema)),
        ("volatility",  23, 20, VK_F64, _offset_of(&r.volatility)),
        ("mid",         24, 21, VK_F64, _offset_of(&r.mid)),
        ("spread",      25, 22, VK_F64, _offset_of(&r.spread)),
        ("trade_count", 26, 23, VK_I64, _offset_of(&r.trade_count)),
        ("interval_ns", 27, 25, VK_I64, _offset_of(&r.tick.interval_ns)),
        ("open",        28, 26, VK_F64, _offset_of(&r.open)),
    ]


cdef _init_fields():
    layout = _layout()
    assert len(layout) == N_BATCH_COLUMNS == N_RESULT_FIELDS
    # Result fields are written in field-number order, as protobuf serializers do.
    by_result_number = sorted(layout, key=lambda f: f[2])
    cdef int i
    for i in range(N_BATCH_COLUMNS):
        name, batch_no, result_no, kind, offset = layout[i]
        BATCH_COLUMNS[i].number = batch_no
        BATCH_COLUMNS[i].kind = kind
        BATCH_COLUMNS[i].offset = offset
        name, batch_no, result_no, kind, offset = by_result_number[i]
        RESULT_FIELDS[i].number = result_no
        RESULT_FIELDS[i].kind = kind
        RESULT_FIELDS[i].offset = offset
    global MISSED_BEFORE_POS
    MISSED_BEFORE_POS = N_RESULT_FIELDS
    for i in range(N_RESULT_FIELDS - 1, -1, -1):
        if RESULT_FIELDS[i].number > RESULT_MISSED_BEFORE:
            MISSED_BEFORE_POS = i
    return layout


_LAYOUT = _init_fields()

#: ResultBatch column name -> field number (the columns, in RESULT_DTYPE names).
BATCH_FIELD_NUMBERS = {f[0]: f[1] for f in _LAYOUT}
BATCH_FIELD_NUMBERS.update(count=BATCH_COUNT, symbols=BATCH_SYMBOLS, gap=BATCH_GAP,
                           heartbeat=BATCH_HEARTBEAT)
#: Result field name -> field number.
RESULT_FIELD_NUMBERS = {f[0]: f[2] for f in _LAYOUT}
RESULT_FIELD_NUMBERS.update(symbol=RESULT_SYMBOL, missed_before=RESULT_MISSED_BEFORE)


cdef Result *rows_pointer(object rows, Py_ssize_t *n) except? NULL:
    """The Result array under a C-contiguous RESULT_DTYPE array (NULL when empty).

    The caller keeps `rows` alive while it uses the pointer.
    """
    if rows.dtype != RESULT_DTYPE:
        raise TypeError(f"rows must be an array of RESULT_DTYPE, got {rows.dtype}")
    if rows.ndim != 1:
        raise TypeError(f"rows must be one-dimensional, got shape {rows.shape}")
    n[0] = rows.shape[0]
    if n[0] == 0:
        return NULL
    cdef uint8_t[::1] raw = rows.view(np.uint8)
    return <Result *>&raw[0]
