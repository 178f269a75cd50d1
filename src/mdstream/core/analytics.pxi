# Per-symbol analytics. Called only by the worker that owns the symbol, so the
# state needs no lock. The plain-Python reference is mdstream/reference.py;
# the property tests hold the two to the same numbers.

cdef void symbol_state_reset(SymbolState *s) noexcept nogil:
    memset(s, 0, sizeof(SymbolState))
    s.high = -INFINITY
    s.low = INFINITY
    s.ema = NAN
    s.last_price = NAN
    s.bid = NAN
    s.ask = NAN
    s.bid_size = NAN
    s.ask_size = NAN


cdef inline void analytics_update(SymbolState *s, const Tick *t, Result *r,
                                  double ema_alpha) noexcept nogil:
    """Fold one tick into its symbol's state and write the tick's result."""
    cdef double ret, delta
    r.tick = t[0]
    if t.kind == KIND_TRADE:
        s.volume += t.size
        s.notional += t.price * t.size
        s.trade_count += 1
        if t.price > s.high:
            s.high = t.price
        if t.price < s.low:
            s.low = t.price
        if s.trade_count == 1:
            s.ema = t.price
        else:
            s.ema += ema_alpha * (t.price - s.ema)
        # Welford's online variance of log returns between consecutive trades.
        if s.last_price > 0 and t.price > 0:
            ret = log(t.price / s.last_price)
            s.ret_count += 1
            delta = ret - s.ret_mean
            s.ret_mean += delta / s.ret_count
            s.ret_m2 += delta * (ret - s.ret_mean)
        s.last_price = t.price
        r.value = t.price * t.size
        # A trade result carries the symbol's current quote.
        r.tick.bid = s.bid
        r.tick.ask = s.ask
        r.tick.bid_size = s.bid_size
        r.tick.ask_size = s.ask_size
    else:
        s.bid = t.bid
        s.ask = t.ask
        s.bid_size = t.bid_size
        s.ask_size = t.ask_size
        r.tick.price = (t.bid + t.ask) * 0.5
        r.tick.size = 0.0
        r.value = 0.0
    r.volume = s.volume
    r.vwap = s.notional / s.volume if s.volume > 0 else NAN
    r.high = s.high if s.trade_count > 0 else NAN
    r.low = s.low if s.trade_count > 0 else NAN
    r.ema = s.ema
    r.volatility = sqrt(s.ret_m2 / (s.ret_count - 1)) if s.ret_count > 1 else 0.0
    r.mid = (s.bid + s.ask) * 0.5
    r.spread = s.ask - s.bid
    r.trade_count = s.trade_count
