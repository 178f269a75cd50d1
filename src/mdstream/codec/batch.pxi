# ResultBatch frames (StreamBatches): encoded by the server from a batch of
# the engine's results, decoded by the client into a RESULT_DTYPE array.
#
# Frame layout written here (any field order is valid protobuf; decoders must
# not rely on it): count, new symbol names, gap, heartbeat, then the columns.

#: The largest frame the decoder accepts, in ticks (a sanity bound).
MAX_DECODE_TICKS = 1 << 20
#: Symbol ids must be below this.
MAX_SYMBOL_ID = 1 << 24


cdef inline int64_t _column_payload_size(const Result *rows, Py_ssize_t n,
                                         const FieldSpec *col) noexcept nogil:
    cdef int64_t size = 0
    cdef Py_ssize_t i
    cdef int32_t v
    if col.kind != VK_I32:
        return <int64_t>n * 8
    for i in range(n):
        memcpy(&v, <const char *>&rows[i] + col.offset, 4)
        size += varint_size(<uint64_t><int64_t>v)
    return size


cdef uint8_t *_put_columns(uint8_t *p, const Result *rows, Py_ssize_t n,
                           const int64_t *payload, const int *cols,
                           int n_cols) noexcept nogil:
    """Write the packed columns ``cols`` (indexes into BATCH_COLUMNS) of the rows."""
    cdef int c
    cdef Py_ssize_t i
    cdef int32_t v
    cdef const FieldSpec *col
    cdef const char *base
    for c in range(n_cols):
        col = &BATCH_COLUMNS[cols[c]]
        p = put_tag(p, col.number, WT_LEN)
        p = put_varint(p, <uint64_t>payload[c])
        base = <const char *>rows + col.offset
        if col.kind == VK_I32:
            for i in range(n):
                memcpy(&v, base + i * sizeof(Result), 4)
                p = put_varint(p, <uint64_t><int64_t>v)
        else:
            for i in range(n):
                p = put_fixed64(p, load_u64(base + i * sizeof(Result)))
    return p


cdef inline int _triple_size(int64_t a, int64_t b, int64_t c) noexcept nogil:
    """Size of a message of three int64 fields 1, 2, 3 (zeros left out)."""
    cdef int size = 0
    if a != 0:
        size += 1 + varint_size(<uint64_t>a)
    if b != 0:
        size += 1 + varint_size(<uint64_t>b)
    if c != 0:
        size += 1 + varint_size(<uint64_t>c)
    return size


cdef inline uint8_t *_put_triple(uint8_t *p, uint32_t field, int64_t a, int64_t b,
                                 int64_t c) noexcept nogil:
    p = put_tag(p, field, WT_LEN)
    p = put_varint(p, <uint64_t>_triple_size(a, b, c))
    if a != 0:
        p = put_varint(put_tag(p, 1, WT_VARINT), <uint64_t>a)
    if b != 0:
        p = put_varint(put_tag(p, 2, WT_VARINT), <uint64_t>b)
    if c != 0:
        p = put_varint(put_tag(p, 3, WT_VARINT), <uint64_t>c)
    return p


cdef class BatchEncoder:
    """Encodes the ResultBatch frames of one stream.

    ``names`` is the engine's list of symbol names by id (a live list that
    may grow). The encoder remembers which ids its stream has already named,
    so each frame carries the names of the ids that appear in it for the
    first time. One encoder per stream; not for use by two threads at once.

    ``fields``: the columns to write (names of ResultBatch columns, any
    order; None or empty: all 24, the bytes of an encoder without it).
    Frames then carry only those packed columns (field projection,
    SubscribeRequest.fields). Raises ValueError for an unknown name.
    """
    cdef object names
    cdef int cols[N_BATCH_COLUMNS]    # indexes into BATCH_COLUMNS, in frame order
    cdef int n_cols
    cdef uint8_t *seen          # seen[id] != 0: named on this stream already
    cdef int32_t seen_cap
    cdef int32_t *fresh         # ids of the current frame named for the first time
    cdef int64_t frames

    def __cinit__(self, names, fields=None):
        cdef int c
        self.names = names
        self.n_cols = 0
        if not fields:
            for c in range(N_BATCH_COLUMNS):
                self.cols[c] = c
            self.n_cols = N_BATCH_COLUMNS
            return
        wanted = set(fields)
        unknown = wanted - set(_COLUMN_NAMES)
        if unknown:
            raise ValueError(f"unknown column(s) {sorted(unknown)}: choose from {', '.join(_COLUMN_NAMES)}")
        for c in range(N_BATCH_COLUMNS):
            if _COLUMN_NAMES[c] in wanted:
                self.cols[self.n_cols] = c
                self.n_cols += 1

    @property
    def fields(self) -> tuple:
        """The columns this encoder writes, in frame order."""
        return tuple(_COLUMN_NAMES[self.cols[c]] for c in range(self.n_cols))

    def __dealloc__(self):
        free(self.seen)
        free(self.fresh)

    @property
    def frames(self) -> int:
        """Frames encoded so far."""
        return self.frames

    cdef int _grow(self, int32_t cap) except -1:
        cdef uint8_t *seen
        cdef int32_t *fresh
        if cap <= self.seen_cap:
            return 0
        if cap > MAX_SYMBOL_ID:
            raise ValueError(f"symbol id {cap - 1} is out of range (the codec allows ids below {MAX_SYMBOL_ID})")
        seen = <uint8_t *>realloc(self.seen, <size_t>cap)
        if seen == NULL:
            raise MemoryError()
        self.seen = seen
        fresh = <int32_t *>realloc(self.fresh, <size_t>cap * sizeof(int32_t))
        if fresh == NULL:
            raise MemoryError()
        self.fresh = fresh
        memset(self.seen + self.seen_cap, 0, <size_t>(cap - self.seen_cap))
        self.seen_cap = cap
        return 0

    def encode(self, rows, gap=None, heartbeat=None) -> bytes:
        """The serialized ResultBatch of ``rows`` (a RESULT_DTYPE array).

        ``gap``: a Gap (or a (from_seq, to_seq, missed) tuple) to report with
        the frame; ``heartbeat``: a (last_seq, server_time_ns) tuple.
        """
        rows = np.ascontiguousarray(rows)
        cdef Py_ssize_t n = 0
        cdef const Result *r = rows_pointer(rows, &n)
        cdef Py_ssize_t i
        cdef int32_t sid, max_id = -1, min_id = 0, n_fresh = 0
        cdef int64_t payload[N_BATCH_COLUMNS]
        cdef int64_t size = 0
        cdef int c
        cdef bint has_gap = gap is not None
        cdef bint has_hb = heartbeat is not None
        cdef int64_t g_from = 0, g_to = 0, g_missed = 0, hb_seq = 0, hb_time = 0
        cdef uint8_t *p
        cdef uint8_t *start
        if has_gap:
            if hasattr(gap, "from_seq"):
                g_from, g_to, g_missed = gap.from_seq, gap.to_seq, gap.missed
            else:
                g_from, g_to, g_missed = gap
        if has_hb:
            hb_seq, hb_time = heartbeat

        with nogil:
            for i in range(n):
                sid = r[i].tick.symbol_id
                if sid > max_id:
                    max_id = sid
                if sid < min_id:
                    min_id = sid
        if min_id < 0:
            raise ValueError(f"negative symbol id {min_id} in rows")
        self._grow(max_id + 1)
        with nogil:
            for i in range(n):
                sid = r[i].tick.symbol_id
                if self.seen[sid] == 0:
                    self.seen[sid] = 1
                    self.fresh[n_fresh] = sid
                    n_fresh += 1

        # New names: rare (once per symbol per stream), so Python is fine here.
        names = self.names
        entries = []
        try:
            for c in range(n_fresh):
                sid = self.fresh[c]
                if sid >= len(names):
                    raise ValueError(f"symbol id {sid} has no name (the engine knows {len(names)} symbols)")
                entries.append((sid, names[sid].encode("utf-8")))
        except BaseException:
            for c in range(n_fresh):
                self.seen[self.fresh[c]] = 0    # not sent: name them in a later frame
            raise

        if n > 0:
            size += 1 + varint_size(<uint64_t>n)
        for sid, name in entries:
            c = 2 + varint_size(<uint64_t>sid) + varint_size(len(name)) + len(name)
            size += 1 + varint_size(<uint64_t>c) + c
        if has_gap:
            c = _triple_size(g_from, g_to, g_missed)
            size += 1 + varint_size(<uint64_t>c) + c
        if has_hb:
            c = _triple_size(hb_seq, hb_time, 0)
            size += 1 + varint_size(<uint64_t>c) + c
        if n > 0:
            with nogil:
                for c in range(self.n_cols):
                    payload[c] = _column_payload_size(r, n, &BATCH_COLUMNS[self.cols[c]])
                    size += (tag_size(BATCH_COLUMNS[self.cols[c]].number)
                             + varint_size(<uint64_t>payload[c]) + payload[c])

        out = PyBytes_FromStringAndSize(NULL, size)
        start = <uint8_t *>PyBytes_AS_STRING(out)
        p = start
        if n > 0:
            p = put_varint(put_tag(p, BATCH_COUNT, WT_VARINT), <uint64_t>n)
        for sid, name in entries:
            c = 2 + varint_size(<uint64_t>sid) + varint_size(len(name)) + len(name)
            p = put_varint(put_tag(p, BATCH_SYMBOLS, WT_LEN), <uint64_t>c)
            p = put_varint(put_tag(p, 1, WT_VARINT), <uint64_t>sid)
            p = put_varint(put_tag(p, 2, WT_LEN), len(name))
            memcpy(p, <const char *>name, len(name))
            p += len(name)
        if has_gap:
            p = _put_triple(p, BATCH_GAP, g_from, g_to, g_missed)
        if has_hb:
            p = _put_triple(p, BATCH_HEARTBEAT, hb_seq, hb_time, 0)
        if n > 0:
            with nogil:
                p = _put_columns(p, r, n, payload, self.cols, self.n_cols)
        if p - start != size:
            raise AssertionError(f"ResultBatch size mismatch: wrote {p - start} of {size} bytes")
        self.frames += 1
        return out

    def heartbeat(self, int64_t last_seq, int64_t server_time_ns) -> bytes:
        """A frame with no results and only a heartbeat."""
        return self.encode(_EMPTY_ROWS, heartbeat=(last_seq, server_time_ns))


_EMPTY_ROWS = np.empty(0, dtype=RESULT_DTYPE)
#: The column names, by index into BATCH_COLUMNS.
_COLUMN_NAMES = tuple(f[0] for f in _LAYOUT)


# -- decoding ---------------------------------------------------------------

cdef int _decode_triple(const uint8_t *p, const uint8_t *end, int64_t *out) except -1:
    """Fields 1..3 (varints) of a small message into out[0..2]."""
    cdef uint64_t key, v
    out[0] = out[1] = out[2] = 0
    while p < end:
        p = get_varint(p, end, &key)
        if p == NULL:
            raise FrameError("truncated field tag in a nested message")
        if (key & 7) == WT_VARINT and 1 <= (key >> 3) <= 3:
            p = get_varint(p, end, &v)
            if p == NULL:
                raise FrameError("truncated varint in a nested message")
            out[(key >> 3) - 1] = <int64_t>v
        else:
            p = skip_value(p, end, key & 7)
            if p == NULL:
                raise FrameError("malformed field in a nested message")
    return 0


cdef tuple _decode_symbol_entry(const uint8_t *p, const uint8_t *end):
    cdef uint64_t key, v, length
    cdef uint64_t sid = 0
    name = ""
    while p < end:
        p = get_varint(p, end, &key)
        if p == NULL:
            raise FrameError("truncated symbols entry")
        if key == ((1 << 3) | WT_VARINT):
            p = get_varint(p, end, &sid)
        elif key == ((2 << 3) | WT_LEN):
            p = get_len(p, end, &length)
            if p == NULL:
                raise FrameError("truncated symbol name")
            try:
                name = (<const char *>p)[:length].decode("utf-8")
            except UnicodeDecodeError:
                raise FrameError("a symbol name is not valid UTF-8") from None
            p += length
        else:
            p = skip_value(p, end, key & 7)
        if p == NULL:
            raise FrameError("malformed symbols entry")
    return <int64_t>sid, name


cdef int _scatter_column(const uint8_t *src, uint64_t length, Py_ssize_t n,
                         const FieldSpec *col, Result *rows) noexcept nogil:
    """Write a packed column into the rows; -1 if it does not hold n values."""
    cdef Py_ssize_t i
    cdef char *dst = <char *>rows + col.offset
    cdef const uint8_t *end = src + length
    cdef uint64_t v
    cdef int32_t v32
    if col.kind != VK_I32:
        if length != <uint64_t>n * 8:
            return -1
        for i in range(n):
            store_u64(dst + i * sizeof(Result), get_fixed64(src + 8 * i))
        return 0
    for i in range(n):
        src = get_varint(src, end, &v)
        if src == NULL:
            return -1
        v32 = <int32_t>v
        memcpy(dst + i * sizeof(Result), &v32, 4)
    return 0 if src == end else -1


def decode_batch(data):
    """Decode a serialized ResultBatch.

    Returns ``(rows, symbols, gap, heartbeat)``: a RESULT_DTYPE array of the
    frame's results (columns the frame lacks are zero), a dict of the symbol
    names it introduces (id -> name), the gap as (from_seq, to_seq, missed)
    or None, and the heartbeat as (last_seq, server_time_ns) or None.
    Raises FrameError for bytes that are not a well-formed frame.
    """
    cdef const uint8_t[::1] view = data
    cdef Py_ssize_t total = view.shape[0]
    cdef const uint8_t *p = &view[0] if total > 0 else NULL
    cdef const uint8_t *end = p + total
    cdef const uint8_t *col_data[N_BATCH_COLUMNS]
    cdef uint64_t col_len[N_BATCH_COLUMNS]
    cdef int col_index[MAX_COLUMN_FIELD + 1]     # field number -> column index, or -1
    cdef uint64_t key, v, length
    cdef uint32_t field
    cdef int wt, c
    cdef int64_t triple[3]
    cdef int64_t count = -1
    cdef Py_ssize_t n
    cdef int bad = -1
    symbols = {}
    gap = None
    heartbeat = None
    for c in range(MAX_COLUMN_FIELD + 1):
        col_index[c] = -1
    for c in range(N_BATCH_COLUMNS):
        col_index[BATCH_COLUMNS[c].number] = c
        col_data[c] = NULL
        col_len[c] = 0

    while p < end:
        p = get_varint(p, end, &key)
        if p == NULL:
            raise FrameError("truncated field tag")
        field = <uint32_t>(key >> 3)
        wt = key & 7
        if field == BATCH_COUNT and wt == WT_VARINT:
            p = get_varint(p, end, &v)
            if p == NULL:
                raise FrameError("truncated count")
            count = <int64_t>v
            continue
        if wt != WT_LEN:
            p = skip_value(p, end, wt)
            if p == NULL:
                raise FrameError(f"malformed field {field}")
            continue
        p = get_len(p, end, &length)
        if p == NULL:
            raise FrameError(f"field {field} overruns the frame")
        if field == BATCH_SYMBOLS:
            sid, name = _decode_symbol_entry(p, p + length)
            symbols[sid] = name
        elif field == BATCH_GAP:
            _decode_triple(p, p + length, triple)
            gap = (triple[0], triple[1], triple[2])
        elif field == BATCH_HEARTBEAT:
            _decode_triple(p, p + length, triple)
            heartbeat = (triple[0], triple[1])
        elif field <= MAX_COLUMN_FIELD and col_index[field] >= 0:
            c = col_index[field]
            if col_data[c] != NULL:
                raise FrameError(f"column field {field} appears twice (split packed arrays are not supported)")
            col_data[c] = p
            col_len[c] = length
        p += length

    if count < 0:
        # No count field: take it from the seq column.
        count = <int64_t>(col_len[0] // 8)
    if count > MAX_DECODE_TICKS:
        raise FrameError(f"frame of {count} ticks exceeds the limit of {MAX_DECODE_TICKS}")
    n = count
    # Every column present (the usual case): each byte of the rows is written
    # below, so skip zeroing them. Padding bytes of the struct stay undefined,
    # as in the engine's own arrays.
    complete = all(col_data[c] != NULL for c in range(N_BATCH_COLUMNS))
    rows = (np.empty if complete else np.zeros)(n, dtype=RESULT_DTYPE)
    cdef Result *out = NULL
    if n > 0:
        out = rows_pointer(rows, &n)
        with nogil:
            for c in range(N_BATCH_COLUMNS):
                if col_data[c] != NULL and _scatter_column(col_data[c], col_len[c], n,
                                                           &BATCH_COLUMNS[c], out) != 0:
                    bad = c
                    break
        if bad >= 0:
            raise FrameError(f"column field {BATCH_COLUMNS[bad].number} does not hold {n} values")
    return rows, symbols, gap, heartbeat
