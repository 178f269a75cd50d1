# Row filters: which results a subscription receives beyond its symbols (by
# kind, by bounds on price and size). The predicate runs without the GIL over
# a batch of Result structs (core/filter.pxi); RowFilter is its Python face.

ctypedef struct RowFilterSpec:
    uint32_t kinds          # bit k set: results of kind k pass (TickKind)
    bint has_min_size       # each bound applies only when set: a NaN fails a set bound
    bint has_min_price
    bint has_max_price
    double min_size         # size >= min_size (trades: trade size; bars: volume; quotes: 0)
    double min_price        # price >= min_price (trades: price; quotes: mid; bars: close)
    double max_price        # price <= max_price


cdef class RowFilter:
    cdef RowFilterSpec spec
