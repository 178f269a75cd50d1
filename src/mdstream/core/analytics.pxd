# Per-symbol analytics (analytics.pxi); SymbolState, Result: _types.pxd.
# analytics_update itself is inline, so it is private to the core; modules
# that cimport the core use analytics_update_batch.

cdef void symbol_state_reset(SymbolState *s) noexcept nogil
cdef void analytics_update_batch(SymbolState *states, const Tick *ticks, Result *out, int64_t n,
                                 double ema_alpha, const int64_t *intervals,
                                 int32_t n_intervals) noexcept nogil
