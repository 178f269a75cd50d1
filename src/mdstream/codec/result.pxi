# Result messages (StreamResults): one serialized message per row, written
# without the GIL. As proto3 serializers do, fields equal to zero (bit for
# bit, so -0.0 is kept) are left out and fields go in field-number order.


cdef inline int64_t _result_size(const Result *r, Py_ssize_t name_len,
                                 int64_t missed_before) noexcept nogil:
    cdef int64_t size = 1 + varint_size(<uint64_t>name_len) + name_len
    cdef int f
    cdef uint64_t v
    cdef int32_t v32
    cdef const FieldSpec *spec
    for f in range(N_RESULT_FIELDS):
        spec = &RESULT_FIELDS[f]
        if spec.kind == VK_I32:
            memcpy(&v32, <const char *>r + spec.offset, 4)
            if v32 != 0:
                size += tag_size(spec.number) + varint_size(<uint64_t><int64_t>v32)
        else:
            v = load_u64(<const char *>r + spec.offset)
            if v != 0:
                size += tag_size(spec.number) + (8 if spec.kind == VK_F64 else varint_size(v))
    if missed_before != 0:
        size += tag_size(RESULT_MISSED_BEFORE) + varint_size(<uint64_t>missed_before)
    return size


cdef inline uint8_t *_put_result(uint8_t *p, const Result *r, const char *name,
                                 Py_ssize_t name_len, int64_t missed_before) noexcept nogil:
    cdef int f
    cdef uint64_t v
    cdef int32_t v32
    cdef const FieldSpec *spec
    # Field 1 (symbol) comes first; the struct fields and missed_before follow
    # in number order.
    p = put_varint(put_tag(p, RESULT_SYMBOL, WT_LEN), <uint64_t>name_len)
    memcpy(p, name, <size_t>name_len)
    p += name_len
    for f in range(N_RESULT_FIELDS + 1):
        if f == MISSED_BEFORE_POS and missed_before != 0:
            p = put_varint(put_tag(p, RESULT_MISSED_BEFORE, WT_VARINT), <uint64_t>missed_before)
        if f == N_RESULT_FIELDS:
            break
        spec = &RESULT_FIELDS[f]
        if spec.kind == VK_I32:
            memcpy(&v32, <const char *>r + spec.offset, 4)
            if v32 != 0:
                p = put_varint(put_tag(p, spec.number, WT_VARINT), <uint64_t><int64_t>v32)
        else:
            v = load_u64(<const char *>r + spec.offset)
            if v == 0:
                continue
            if spec.kind == VK_F64:
                p = put_fixed64(put_tag(p, spec.number, WT_I64), v)
            else:
                p = put_varint(put_tag(p, spec.number, WT_VARINT), v)
    return p


cdef class ResultEncoder:
    """Encodes rows as serialized Result messages, one per row.

    ``names`` is the engine's list of symbol names by id (a live list that
    may grow); their UTF-8 forms are cached by id. One encoder per stream;
    not for use by two threads at once.
    """
    cdef object names
    cdef list cache             # UTF-8 bytes of each known id (keeps them alive)
    cdef const char **name_ptr
    cdef Py_ssize_t *name_len
    cdef int32_t known          # ids [0, known) are cached
    cdef int32_t cap
    cdef int64_t *sizes         # scratch: message sizes of the current call
    cdef uint8_t **outs         # scratch: where each message goes
    cdef Py_ssize_t scratch_cap

    def __cinit__(self, names):
        self.names = names
        self.cache = []

    def __dealloc__(self):
        free(self.name_ptr)
        free(self.name_len)
        free(self.sizes)
        free(self.outs)

    cdef int _learn(self, int32_t upto) except -1:
        """Cache the names of ids below upto."""
        cdef const char **ptr
        cdef Py_ssize_t *lens
        cdef int32_t sid
        if upto <= self.known:
            return 0
        if upto > MAX_SYMBOL_ID:
            raise ValueError(f"symbol id {upto - 1} is out of range (the codec allows ids below {MAX_SYMBOL_ID})")
        if upto > len(self.names):
            raise ValueError(f"symbol id {upto - 1} has no name (the engine knows {len(self.names)} symbols)")
        if upto > self.cap:
            ptr = <const char **>realloc(self.name_ptr, <size_t>upto * sizeof(char *))
            if ptr == NULL:
                raise MemoryError()
            self.name_ptr = ptr
            lens = <Py_ssize_t *>realloc(self.name_len, <size_t>upto * sizeof(Py_ssize_t))
            if lens == NULL:
                raise MemoryError()
            self.name_len = lens
            self.cap = upto
        for sid in range(self.known, upto):
            b = self.names[sid].encode("utf-8")
            self.cache.append(b)
            self.name_ptr[sid] = PyBytes_AS_STRING(b)
            self.name_len[sid] = PyBytes_GET_SIZE(b)
        self.known = upto
        return 0

    cdef int _scratch(self, Py_ssize_t n) except -1:
        cdef int64_t *sizes
        cdef uint8_t **outs
        if n <= self.scratch_cap:
            return 0
        sizes = <int64_t *>realloc(self.sizes, <size_t>n * sizeof(int64_t))
        if sizes == NULL:
            raise MemoryError()
        self.sizes = sizes
        outs = <uint8_t **>realloc(self.outs, <size_t>n * sizeof(uint8_t *))
        if outs == NULL:
            raise MemoryError()
        self.outs = outs
        self.scratch_cap = n
        return 0

    def encode(self, rows, int64_t missed_before=0) -> list:
        """A list of serialized Result messages, one per row of ``rows``.

        ``missed_before`` goes into the first message (the results a `skip`
        stream missed just before it).
        """
        rows = np.ascontiguousarray(rows)
        cdef Py_ssize_t n = 0
        cdef const Result *r = rows_pointer(rows, &n)
        cdef Py_ssize_t i
        cdef int32_t sid, max_id = -1, min_id = 0
        cdef int64_t missed
        cdef list out = []
        if n == 0:
            return out
        with nogil:
            for i in range(n):
                sid = r[i].tick.symbol_id
                if sid > max_id:
                    max_id = sid
                if sid < min_id:
                    min_id = sid
        if min_id < 0:
            raise ValueError(f"negative symbol id {min_id} in rows")
        self._learn(max_id + 1)
        self._scratch(n)
        with nogil:
            for i in range(n):
                sid = r[i].tick.symbol_id
                self.sizes[i] = _result_size(&r[i], self.name_len[sid],
                                             missed_before if i == 0 else 0)
        # One bytes object per message is what grpcio sends; they are filled
        # in place below, without the GIL.
        for i in range(n):
            b = PyBytes_FromStringAndSize(NULL, self.sizes[i])
            self.outs[i] = <uint8_t *>PyBytes_AS_STRING(b)
            out.append(b)
        with nogil:
            for i in range(n):
                sid = r[i].tick.symbol_id
                _put_result(self.outs[i], &r[i], self.name_ptr[sid], self.name_len[sid],
                            missed_before if i == 0 else 0)
        return out
