# Single-threaded entry points into the core's analytics, for the property
# tests (against mdstream.reference) and the analytics benchmark.


def compute_analytics(ticks, double ema_alpha, int32_t n_symbols):
    """Run the per-symbol analytics over an array of TICK_DTYPE in order.

    Returns (results, seconds): a RESULT_DTYPE array and the time the update
    loop took, without the GIL.
    """
    cdef int64_t n = len(ticks)
    cdef int64_t i
    cdef int64_t t0 = 0, t1 = 0
    results = np.empty(n, dtype=RESULT_DTYPE)
    if n == 0:
        return results, 0.0
    ticks = np.ascontiguousarray(ticks)        # kept alive: src points into it
    cdef Tick *src = <Tick *>array_data(ticks, TICK_DTYPE)
    cdef Result *dst = <Result *>array_data(results, RESULT_DTYPE)
    for i in range(n):
        if src[i].symbol_id < 0 or src[i].symbol_id >= n_symbols:
            raise InvalidArgumentError(f"symbol id {src[i].symbol_id} is out of range [0, {n_symbols})")
        if src[i].kind != KIND_TRADE and src[i].kind != KIND_QUOTE:
            raise InvalidArgumentError(f"tick {i}: kind must be trade (0) or quote (1)")
    cdef SymbolState *states = <SymbolState *>malloc(<size_t>n_symbols * sizeof(SymbolState))
    if states == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n_symbols):
            symbol_state_reset(&states[i])
        t0 = mono_ns()
        for i in range(n):
            analytics_update(&states[src[i].symbol_id], &src[i], &dst[i], ema_alpha, NULL, 0)
        t1 = mono_ns()
        for i in range(n):
            dst[i].done_ns = 0
    free(states)
    return results, (t1 - t0) / 1e9


def simulate_ticks(int64_t n, uint64_t seed, int32_t n_symbols, double quote_ratio=0.2,
                   double sigma=0.0005, double spread_bps=2.0):
    """Generate n ticks exactly as SimulatedFeed would (symbol ids 0..n_symbols-1)."""
    cdef SimFeed f
    ids = np.arange(n_symbols, dtype=np.int32)
    cdef int32_t[::1] idv = ids
    ticks = np.zeros(n, dtype=TICK_DTYPE)
    check_status(sim_init(&f, seed, &idv[0], n_symbols, 0.0, 0, quote_ratio, sigma, spread_bps),
                 "simulate_ticks")
    if n > 0:
        sim_generate(&f, <Tick *>array_data(ticks, TICK_DTYPE), n, 0)
    sim_destroy(&f)
    return ticks
