# Bar boundaries, decided at ingest by event time (bars.pxi).

ctypedef struct BarClock:
    int32_t n_intervals
    int64_t intervals[MAX_BAR_INTERVALS]    # ns
    int64_t open_start[MAX_BAR_INTERVALS]   # start of the open interval; -1 before the first tick
    uint8_t *traded                         # [interval][symbol]: traded in the open interval
    int32_t *traded_ids                     # [interval][k]: those symbols, in first-trade order
    int32_t traded_n[MAX_BAR_INTERVALS]
    int32_t max_symbols
    int64_t late                            # trades left out of a closed bar (since start)

cdef int bar_clock_init(BarClock *bc, const int64_t *intervals, int32_t n,
                        int32_t max_symbols) noexcept nogil
cdef void bar_clock_destroy(BarClock *bc) noexcept nogil
cdef void bar_clock_replay(BarClock *bc, const Tick *t) noexcept nogil
cdef int64_t bar_late_mask(const BarClock *bc, const Tick *t) noexcept nogil
