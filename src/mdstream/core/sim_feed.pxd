# The simulated feed's tick generator (sim_feed.pxi).

ctypedef struct SimFeed:
    uint64_t rng
    int32_t n_symbols
    int32_t *symbol_ids       # engine symbol ids of the feed's symbols
    double *walk              # current (unrounded) price of each symbol
    double sigma              # std-dev of one step's log return
    double quote_ratio        # share of ticks that are quotes
    double spread_bps         # typical quoted spread, in basis points of price
    double rate               # ticks per second; 0 = as fast as possible
    int64_t limit             # ticks to generate in all; 0 = no end
    int64_t generated

cdef int sim_init(SimFeed *f, uint64_t seed, const int32_t *symbol_ids, int32_t n_symbols,
                  double rate, int64_t limit, double quote_ratio, double sigma,
                  double spread_bps) noexcept nogil
cdef void sim_destroy(SimFeed *f) noexcept nogil
cdef int64_t sim_generate(SimFeed *f, Tick *out, int64_t n, int64_t ts_ns) noexcept nogil
