# The simulated feed: a deterministic (for a given seed) geometric random walk
# per symbol, generated in batches inside the core.

cdef inline uint64_t splitmix64(uint64_t *state) noexcept nogil:
    cdef uint64_t z
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline double uniform01(uint64_t *state) noexcept nogil:
    return (splitmix64(state) >> 11) * (1.0 / 9007199254740992.0)


cdef inline double gaussian(uint64_t *state) noexcept nogil:
    # Irwin-Hall with 4 uniforms, scaled to unit variance: cheap and smooth
    # enough for a price walk (no tails beyond +-3.5 sigma).
    cdef double s = uniform01(state) + uniform01(state) + uniform01(state) + uniform01(state)
    return (s - 2.0) * 1.7320508075688772


cdef inline double round_cents(double x) noexcept nogil:
    return floor(x * 100.0 + 0.5) / 100.0


cdef int sim_init(SimFeed *f, uint64_t seed, const int32_t *symbol_ids, int32_t n_symbols,
                  double rate, int64_t limit, double quote_ratio, double sigma,
                  double spread_bps) noexcept nogil:
    cdef int32_t i
    memset(f, 0, sizeof(SimFeed))
    f.symbol_ids = <int32_t *>malloc(<size_t>n_symbols * sizeof(int32_t))
    f.walk = <double *>malloc(<size_t>n_symbols * sizeof(double))
    if f.symbol_ids == NULL or f.walk == NULL:
        free(f.symbol_ids); free(f.walk)
        return ST_NO_MEMORY
    f.rng = seed
    f.n_symbols = n_symbols
    f.rate = rate
    f.limit = limit
    f.quote_ratio = quote_ratio
    f.sigma = sigma
    f.spread_bps = spread_bps
    for i in range(n_symbols):
        f.symbol_ids[i] = symbol_ids[i]
        f.walk[i] = 20.0 + floor(uniform01(&f.rng) * 480.0)
    return ST_OK


cdef void sim_destroy(SimFeed *f) noexcept nogil:
    free(f.symbol_ids); free(f.walk)
    f.symbol_ids = NULL
    f.walk = NULL


cdef int64_t sim_generate(SimFeed *f, Tick *out, int64_t n, int64_t ts_ns) noexcept nogil:
    """Write up to n ticks into out (fewer at the feed's limit); returns how many."""
    cdef int64_t k
    cdef int32_t i
    cdef double p, half
    cdef Tick *t
    if f.limit > 0 and f.generated + n > f.limit:
        n = f.limit - f.generated
    for k in range(n):
        t = &out[k]
        i = <int32_t>(splitmix64(&f.rng) % <uint64_t>f.n_symbols)
        f.walk[i] *= exp(f.sigma * gaussian(&f.rng))
        p = f.walk[i]
        t.seq = 0
        t.ts_ns = ts_ns
        t.recv_ns = 0
        t.interval_ns = 0
        t.symbol_id = f.symbol_ids[i]
        if uniform01(&f.rng) < f.quote_ratio:
            half = p * f.spread_bps * 0.5e-4 * (0.5 + uniform01(&f.rng))
            if half < 0.005:
                half = 0.005
            t.kind = KIND_QUOTE
            t.bid = round_cents(p - half)
            t.ask = round_cents(p + half)
            if t.ask <= t.bid:
                t.ask = t.bid + 0.01
            t.bid_size = 100.0 * (1 + <int64_t>(uniform01(&f.rng) * 10.0))
            t.ask_size = 100.0 * (1 + <int64_t>(uniform01(&f.rng) * 10.0))
            t.price = 0.0
            t.size = 0.0
        else:
            t.kind = KIND_TRADE
            t.price = round_cents(p)
            t.size = <double>(1 + <int64_t>(uniform01(&f.rng) * 100.0))
            t.bid = 0.0
            t.ask = 0.0
            t.bid_size = 0.0
            t.ask_size = 0.0
    f.generated += n
    return n
