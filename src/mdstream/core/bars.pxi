# Bar boundaries, decided at ingest by event time.
#
# Bars are aligned to multiples of their interval since the Unix epoch. Ingest
# sees every tick in sequence order, so it is where an interval is known to
# have closed: the first tick whose event time falls in a later interval
# closes the current one. Ingest then sequences one bar-close marker per
# symbol that traded in that interval, before the tick itself; the worker
# owning the symbol turns the marker into the bar's result. So bars are in
# the sequenced stream, in order, and every bar precedes the ticks of the
# next interval. At end of data, open bars are closed the same way.
#
# Late ticks. A trade whose event time falls in an interval that has already
# closed (older than the open interval's start: its bar is out) is late for
# that interval: it is not folded into any bar of that interval, and it is
# counted once in BarClock.late (whatever the number of intervals it is late
# for). Ingest tells the worker with a mask of those intervals in the trade's
# interval_ns (bit i: interval i), which the worker clears from the result.
# The trade still counts in the session analytics (volume, VWAP, high, low,
# EMA, volatility), in arrival order. Within the open bar, a trade older than
# the bar's latest (out of order, same interval) updates the bar's high, low,
# volume, VWAP and count but not its close: a bar's close is the price of its
# trade with the latest event time (ties: the later to arrive), its open the
# price of its first trade to arrive. Quotes never enter bars.

cdef int bar_clock_init(BarClock *bc, const int64_t *intervals, int32_t n,
                        int32_t max_symbols) noexcept nogil:
    cdef int32_t i
    memset(bc, 0, sizeof(BarClock))
    bc.traded = <uint8_t *>calloc(<size_t>MAX_BAR_INTERVALS * max_symbols, 1)
    bc.traded_ids = <int32_t *>malloc(<size_t>MAX_BAR_INTERVALS * max_symbols * sizeof(int32_t))
    if bc.traded == NULL or bc.traded_ids == NULL:
        return ST_NO_MEMORY
    bc.n_intervals = n
    bc.max_symbols = max_symbols
    for i in range(n):
        bc.intervals[i] = intervals[i]
        bc.open_start[i] = -1
    return ST_OK


cdef void bar_clock_destroy(BarClock *bc) noexcept nogil:
    free(bc.traded); free(bc.traded_ids)
    bc.traded = NULL
    bc.traded_ids = NULL


cdef inline int64_t floor_to(int64_t ts, int64_t interval) noexcept nogil:
    cdef int64_t q = ts // interval
    if ts % interval != 0 and ts < 0:
        q -= 1
    return q * interval


cdef inline void bar_marker(Tick *m, int32_t symbol_id, int64_t start, int64_t interval) noexcept nogil:
    memset(m, 0, sizeof(Tick))
    m.kind = KIND_BAR
    m.symbol_id = symbol_id
    m.ts_ns = start
    m.interval_ns = interval


cdef int64_t bar_late_mask(const BarClock *bc, const Tick *t) noexcept nogil:
    """The intervals (bit i: interval i) whose bar for this trade is closed
    already: the trade's event time is before the open interval. 0 for quotes."""
    cdef int32_t i
    cdef int64_t mask = 0
    if t.kind != KIND_TRADE:
        return 0
    for i in range(bc.n_intervals):
        if bc.open_start[i] >= 0 and floor_to(t.ts_ns, bc.intervals[i]) < bc.open_start[i]:
            mask |= (<int64_t>1) << i
    return mask


cdef void bar_clock_replay(BarClock *bc, const Tick *t) noexcept nogil:
    """Bring the clock to where it was after this journaled result (restart).

    Trades and quotes move the open interval and mark traded symbols as at
    ingest; a bar result (its marker, sequenced at ingest) unmarks its symbol.
    A trade's interval_ns holds its late mask (bar_late_mask, taken before
    this call): a late trade marks nothing for those intervals.
    """
    cdef int32_t i, k
    cdef int64_t start
    for i in range(bc.n_intervals):
        if t.kind == KIND_BAR:
            if t.interval_ns == bc.intervals[i] and bc.traded[i * bc.max_symbols + t.symbol_id]:
                bc.traded[i * bc.max_symbols + t.symbol_id] = 0
                for k in range(bc.traded_n[i]):
                    if bc.traded_ids[i * bc.max_symbols + k] == t.symbol_id:
                        bc.traded_ids[i * bc.max_symbols + k] = bc.traded_ids[
                            i * bc.max_symbols + bc.traded_n[i] - 1]
                        bc.traded_n[i] -= 1
                        break
            continue
        start = floor_to(t.ts_ns, bc.intervals[i])
        if start > bc.open_start[i]:
            bc.open_start[i] = start
        if t.kind == KIND_TRADE and (t.interval_ns >> i) & 1:
            continue
        if t.kind == KIND_TRADE and not bc.traded[i * bc.max_symbols + t.symbol_id]:
            bc.traded[i * bc.max_symbols + t.symbol_id] = 1
            bc.traded_ids[i * bc.max_symbols + bc.traded_n[i]] = t.symbol_id
            bc.traded_n[i] += 1
