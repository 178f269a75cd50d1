# Row filters (declared in core/filter.pxd): the predicate and the compaction
# of a batch of results, both without the GIL.

cdef inline bint row_passes(const RowFilterSpec *f, const Result *r) noexcept nogil:
    """True if the result passes every set bound and its kind is wanted."""
    cdef int32_t k = r.tick.kind
    if k < 0 or k > 31 or ((f.kinds >> k) & 1) == 0:
        return False
    if f.has_min_size and not (r.tick.size >= f.min_size):
        return False
    if f.has_min_price and not (r.tick.price >= f.min_price):
        return False
    if f.has_max_price and not (r.tick.price <= f.max_price):
        return False
    return True


cdef Py_ssize_t filter_rows(const RowFilterSpec *f, const Result *rows, Py_ssize_t n,
                            Result *out) noexcept nogil:
    """Copy the rows that pass into ``out`` (room for n), in order; returns how many."""
    cdef Py_ssize_t i, k = 0
    for i in range(n):
        if row_passes(f, &rows[i]):
            if k != i or out != rows:
                memcpy(&out[k], &rows[i], sizeof(Result))
            k += 1
    return k


cdef class RowFilter:
    """A filter on results beyond their symbol, evaluated in C without the GIL.

    ``kinds``: kind codes to keep (TRADE 0, QUOTE 1, BAR 2; None: all);
    ``min_size``, ``min_price``, ``max_price``: inclusive bounds (None: no
    bound) on the ``size`` column (trade size; bar volume; quotes have 0) and
    the ``price`` column (trade price; quote mid; bar close). A NaN value
    fails any bound that is set. Raises ValueError for a kind code outside
    0..31 or a NaN bound.
    """

    def __cinit__(self, kinds=None, min_size=None, min_price=None, max_price=None):
        cdef int k
        if kinds is None:
            self.spec.kinds = 0xFFFFFFFF
        else:
            self.spec.kinds = 0
            for k in kinds:
                if not 0 <= k <= 31:
                    raise ValueError(f"kind code {k} is out of range (0..31)")
                self.spec.kinds |= (<uint32_t>1) << k
        for name, value in (("min_size", min_size), ("min_price", min_price),
                            ("max_price", max_price)):
            if value is not None and value != value:
                raise ValueError(f"{name} is NaN")
        self.spec.has_min_size = min_size is not None
        self.spec.min_size = min_size if min_size is not None else 0.0
        self.spec.has_min_price = min_price is not None
        self.spec.min_price = min_price if min_price is not None else 0.0
        self.spec.has_max_price = max_price is not None
        self.spec.max_price = max_price if max_price is not None else 0.0

    @property
    def passes_all(self) -> bool:
        """True if the filter keeps every result (no kind left out, no bound)."""
        return (self.spec.kinds == 0xFFFFFFFF and not self.spec.has_min_size
                and not self.spec.has_min_price and not self.spec.has_max_price)

    def apply(self, rows):
        """The rows (a RESULT_DTYPE array) that pass, in order: ``rows``
        itself when all pass, else a new array."""
        rows = np.ascontiguousarray(rows)
        if rows.dtype != RESULT_DTYPE:
            raise TypeError(f"rows must be an array of RESULT_DTYPE, got {rows.dtype}")
        cdef Py_ssize_t n = rows.shape[0], k
        if n == 0:
            return rows
        out = np.empty(n, dtype=RESULT_DTYPE)
        cdef uint8_t[::1] src = rows.view(np.uint8)
        cdef uint8_t[::1] dst = out.view(np.uint8)
        with nogil:
            k = filter_rows(&self.spec, <const Result *>&src[0], n, <Result *>&dst[0])
        if k == n:
            return rows
        return out[:k]
