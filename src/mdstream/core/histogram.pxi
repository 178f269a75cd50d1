# Log-bucketed latency histograms (HDR style): fixed memory, ~0.8% resolution,
# mergeable by adding counts. Each histogram has exactly one writer thread, so
# recording is a plain increment: no lock, no atomic, no GIL. Readers (stats)
# may see a count a moment old, never a torn one (aligned 64-bit words).
#
# Values are ns. Below 256 each value has its own bucket; above, each power of
# two is split into 128 buckets, so a bucket is at most 1/128 of its values.
# Values past 2**36 ns (~69 s) land in the last bucket.

cdef extern from *:
    int __builtin_clzll(unsigned long long x) nogil


cdef inline int32_t hist_index(int64_t v) noexcept nogil:
    cdef int32_t msb, shift
    if v < 2 * HIST_SUB:
        return <int32_t>(v if v > 0 else 0)
    msb = 63 - __builtin_clzll(<unsigned long long>v)
    shift = msb - 7                # v >> shift lies in [128, 256)
    if shift > HIST_MAX_SHIFT:
        return HIST_BUCKETS - 1
    return 2 * HIST_SUB + (shift - 1) * HIST_SUB + <int32_t>((v >> shift) - HIST_SUB)


cdef inline int64_t hist_bucket_low(int32_t idx) noexcept nogil:
    """Smallest value of a bucket."""
    cdef int32_t shift
    if idx < 2 * HIST_SUB:
        return idx
    shift = (idx - 2 * HIST_SUB) // HIST_SUB + 1
    return (<int64_t>(HIST_SUB + (idx - 2 * HIST_SUB) % HIST_SUB)) << shift


cdef inline int64_t hist_bucket_high(int32_t idx) noexcept nogil:
    """Largest value of a bucket."""
    cdef int32_t shift
    if idx < 2 * HIST_SUB:
        return idx
    shift = (idx - 2 * HIST_SUB) // HIST_SUB + 1
    return hist_bucket_low(idx) + ((<int64_t>1) << shift) - 1


cdef inline void hist_record(Histogram *h, int64_t v) noexcept nogil:
    if v < 0:
        v = 0                      # clocks of two machines (or threads) may disagree slightly
    h.counts[hist_index(v)] += 1
    h.count += 1
    h.sum += <double>v
    if v > h.max_value:
        h.max_value = v


cdef inline void hist_merge(Histogram *into, const Histogram *h) noexcept nogil:
    cdef int32_t i
    for i in range(HIST_BUCKETS):
        into.counts[i] += h.counts[i]
    into.count += h.count
    into.sum += h.sum
    if h.max_value > into.max_value:
        into.max_value = h.max_value


cdef inline void whist_record(WindowedHistogram *w, int64_t v, int64_t now_second) noexcept nogil:
    cdef int32_t slot = <int32_t>(now_second % HIST_WINDOW_SLOTS)
    if w.slot_second[slot] != now_second:
        memset(&w.slots[slot], 0, sizeof(Histogram))
        w.slot_second[slot] = now_second
    hist_record(&w.slots[slot], v)
    hist_record(&w.total, v)


cdef inline void whist_window(const WindowedHistogram *w, Histogram *into,
                              int64_t now_second) noexcept nogil:
    """Merge the slots of the last HIST_WINDOW_SLOTS seconds into `into`."""
    cdef int32_t i
    for i in range(HIST_WINDOW_SLOTS):
        if now_second - w.slot_second[i] < HIST_WINDOW_SLOTS and w.slot_second[i] <= now_second:
            hist_merge(into, &w.slots[i])


cdef inline int64_t hist_percentile(const Histogram *h, double q) noexcept nogil:
    """The value at percentile q (0..100) by nearest rank: the highest value of
    the bucket holding that rank (so never under the true value by more than
    a bucket), capped at the largest value recorded. 0 when empty."""
    cdef int64_t rank, seen = 0
    cdef int32_t i
    cdef int64_t high
    if h.count == 0:
        return 0
    rank = <int64_t>ceil(q / 100.0 * h.count)
    if rank < 1:
        rank = 1
    for i in range(HIST_BUCKETS):
        seen += h.counts[i]
        if seen >= rank:
            if i == HIST_BUCKETS - 1:
                return h.max_value      # the last bucket holds everything past 2**36 ns
            high = hist_bucket_high(i)
            return high if high < h.max_value else h.max_value
    return h.max_value


cdef WindowedHistogram *whist_new() noexcept nogil:
    return <WindowedHistogram *>calloc(1, sizeof(WindowedHistogram))


cdef class LatencyHistogram:
    """A log-bucketed histogram of latencies in ns (~0.8% resolution, mergeable).

    The engine keeps one per stage and worker/subscription; stats() hands out
    merged copies. Also usable on its own: record(), merge(), percentile().
    """
    # Its C attributes are declared in core/histogram.pxd.

    def record(self, int64_t value_ns):
        hist_record(&self.h, value_ns)

    def record_many(self, values):
        cdef int64_t[::1] v = np.ascontiguousarray(values, dtype=np.int64)
        cdef Py_ssize_t i
        with nogil:
            for i in range(v.shape[0]):
                hist_record(&self.h, v[i])

    def merge(self, LatencyHistogram other):
        """Add other's counts into this histogram."""
        hist_merge(&self.h, &other.h)

    @property
    def count(self) -> int:
        return self.h.count

    @property
    def max(self) -> int:
        return self.h.max_value

    @property
    def sum(self) -> float:
        """The sum of the values recorded (ns), exact up to a double's precision."""
        return self.h.sum

    def cumulative_counts(self, bounds_ns):
        """How many values were at or below each bound (ns, ascending): an
        int64 array the length of bounds_ns, for cumulative (Prometheus-style)
        buckets. A bucket of this histogram counts toward a bound only when
        all of it lies at or below the bound, so no value above a bound is
        ever counted for it; a value up to one bucket (~0.8 %) below a bound
        may be counted only at the next one. A bound of 2**63 - 1 counts
        every value (+Inf). Raises InvalidArgumentError when
        the bounds are not ascending."""
        cdef int64_t[::1] b = np.ascontiguousarray(bounds_ns, dtype=np.int64)
        out = np.zeros(b.shape[0], dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef Py_ssize_t j = 0, n = b.shape[0]
        cdef int32_t i = 0
        cdef int64_t seen = 0
        for j in range(1, n):
            if b[j] < b[j - 1]:
                raise InvalidArgumentError("bounds_ns must be in ascending order")
        with nogil:
            for j in range(n):
                # The last bucket is unbounded (everything past 2**36 ns): only
                # the largest int64 bound (+Inf) takes it.
                while i < HIST_BUCKETS and (hist_bucket_high(i) <= b[j] if i < HIST_BUCKETS - 1
                                            else b[j] == INT64_MAX):
                    seen += self.h.counts[i]
                    i += 1
                o[j] = seen
        return out

    def percentile(self, double q) -> int:
        """Value (ns) at percentile q in [0, 100]; 0 when empty."""
        if not 0.0 <= q <= 100.0:
            raise InvalidArgumentError(f"percentile must be within [0, 100], got {q}")
        return hist_percentile(&self.h, q)

    @staticmethod
    def bucket_bounds(int64_t value_ns):
        """(low, high) of the bucket that holds value_ns: the resolution at that value."""
        cdef int32_t i = hist_index(value_ns if value_ns > 0 else 0)
        return hist_bucket_low(i), hist_bucket_high(i)


cdef LatencyHistogram whist_snapshot(const WindowedHistogram *w, bint window):
    """A copy of the since-start histogram, or of the last seconds' window."""
    cdef LatencyHistogram out = LatencyHistogram()
    if w == NULL:
        return out
    if window:
        whist_window(w, &out.h, now_ns() // 1_000_000_000)
    else:
        memcpy(&out.h, &w.total, sizeof(Histogram))
    return out
