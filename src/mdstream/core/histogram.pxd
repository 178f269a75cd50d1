# Log-bucketed latency histograms (histogram.pxi).

cdef enum:
    HIST_SUB = 128                 # buckets per power of two (the resolution)
    HIST_MAX_SHIFT = 29            # 2**(29 + 7) ns = 2**36 ns
    HIST_BUCKETS = 2 * HIST_SUB + HIST_MAX_SHIFT * HIST_SUB   # 3968
    HIST_WINDOW_SLOTS = 10         # the sliding window: 10 one-second slots

ctypedef struct Histogram:
    int64_t count
    int64_t max_value
    double sum                     # of the values recorded (ns; a double: ages of replayed
                                   # recordings would overflow an int64 sum)
    int64_t counts[HIST_BUCKETS]

# A histogram since start plus one per second of the last HIST_WINDOW_SLOTS
# seconds. The writer clears a slot when it moves into a new second.
ctypedef struct WindowedHistogram:
    Histogram total
    int64_t slot_second[HIST_WINDOW_SLOTS]
    Histogram slots[HIST_WINDOW_SLOTS]

cdef WindowedHistogram *whist_new() noexcept nogil
cdef LatencyHistogram whist_snapshot(const WindowedHistogram *w, bint window)


cdef class LatencyHistogram:
    cdef Histogram h
