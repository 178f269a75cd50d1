# Per-symbol analytics. Called only by the worker that owns the symbol, so the
# state needs no lock. The plain-Python reference is mdstream/reference.py;
# the property tests hold the two to the same numbers.

cdef void bar_reset(BarState *b) noexcept nogil:
    memset(b, 0, sizeof(BarState))
    b.open = NAN
    b.high = NAN
    b.low = NAN
    b.close = NAN


cdef void symbol_state_reset(SymbolState *s) noexcept nogil:
    cdef int i
    memset(s, 0, sizeof(SymbolState))
    s.high = -INFINITY
    s.low = INFINITY
    s.ema = NAN
    s.last_price = NAN
    s.bid = NAN
    s.ask = NAN
    s.bid_size = NAN
    s.ask_size = NAN
    for i in range(MAX_BAR_INTERVALS):
        bar_reset(&s.bars[i])


cdef inline void bar_add_trade(BarState *b, int64_t *last_ts, double price, double size,
                               int64_t ts) noexcept nogil:
    """Fold a trade into an open bar. The close is the trade with the latest
    event time (ties: the later to arrive): an older one leaves it (bars.pxi)."""
    if b.count == 0:
        b.open = price
        b.high = price
        b.low = price
        b.close = price
        last_ts[0] = ts
    else:
        if price > b.high:
            b.high = price
        if price < b.low:
            b.low = price
        if ts >= last_ts[0]:
            b.close = price
            last_ts[0] = ts
    b.volume += size
    b.notional += price * size
    b.count += 1


cdef inline void fill_session_fields(const SymbolState *s, Result *r) noexcept nogil:
    """The symbol's running values, carried by every result."""
    r.volume = s.volume
    r.vwap = s.notional / s.volume if s.volume > 0 else NAN
    r.high = s.high if s.trade_count > 0 else NAN
    r.low = s.low if s.trade_count > 0 else NAN
    r.trade_count = s.trade_count
    r.ema = s.ema
    r.volatility = sqrt(s.ret_m2 / (s.ret_count - 1)) if s.ret_count > 1 else 0.0
    r.mid = (s.bid + s.ask) * 0.5
    r.spread = s.ask - s.bid
    r.open = NAN


cdef inline void emit_bar(SymbolState *s, const Tick *t, Result *r, const int64_t *intervals,
                          int32_t n_intervals) noexcept nogil:
    """A bar-close marker from ingest: write the finished bar and start the next."""
    cdef int32_t i
    cdef BarState *b = NULL
    for i in range(n_intervals):
        if intervals[i] == t.interval_ns:
            b = &s.bars[i]
    r.tick = t[0]
    fill_session_fields(s, r)
    r.tick.bid = s.bid
    r.tick.ask = s.ask
    r.tick.bid_size = s.bid_size
    r.tick.ask_size = s.ask_size
    if b == NULL:           # cannot happen: ingest only marks configured intervals
        return
    r.open = b.open
    r.high = b.high
    r.low = b.low
    r.tick.price = b.close
    r.tick.size = b.volume
    r.volume = b.volume
    r.value = b.notional
    r.vwap = b.notional / b.volume if b.volume > 0 else NAN
    r.trade_count = b.count
    bar_reset(b)


cdef inline void pass_bar(const SymbolState *s, const Tick *t, Result *r) noexcept nogil:
    """An input bar (KIND_OHLCV, from a feed) as a bar result. It changes no
    state: the session analytics come from trades. Its trade count is 0 and
    its notional (value) and VWAP unknown (NaN), which is also how a journal
    replay tells it from a bar the engine made (those have trades)."""
    r.tick = t[0]
    fill_session_fields(s, r)
    r.tick.kind = KIND_BAR
    r.tick.bid = s.bid
    r.tick.ask = s.ask
    r.tick.bid_size = s.bid_size
    r.tick.ask_size = s.ask_size
    r.open = t.bid
    r.high = t.ask
    r.low = t.bid_size
    r.volume = t.size
    r.value = NAN
    r.vwap = NAN
    r.trade_count = 0


cdef inline void pass_order(const Tick *t, Result *r) noexcept nogil:
    """An order request goes through untouched (the paper venue reads it from
    the log; it has no symbol state and no analytics)."""
    memset(r, 0, sizeof(Result))
    r.tick = t[0]


cdef inline void analytics_update(SymbolState *s, const Tick *t, Result *r, double ema_alpha,
                                  const int64_t *intervals, int32_t n_intervals) noexcept nogil:
    """Fold one tick into its symbol's state and write the tick's result."""
    cdef double ret, delta, logp
    cdef int32_t i
    if t.kind == KIND_BAR:
        emit_bar(s, t, r, intervals, n_intervals)
        return
    if t.kind == KIND_OHLCV:
        pass_bar(s, t, r)
        return
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
        # A log return needs both prices > 0: one across a sign change, from
        # or to a price of 0, or between two negative prices is skipped (not
        # folded in), so negative prices never make the volatility NaN.
        logp = log(t.price) if t.price > 0 else NAN
        if s.last_price > 0 and t.price > 0:
            ret = logp - s.last_log
            s.ret_count += 1
            delta = ret - s.ret_mean
            s.ret_mean += delta / s.ret_count
            s.ret_m2 += delta * (ret - s.ret_mean)
        s.last_price = t.price
        s.last_log = logp
        # interval_ns: the intervals whose bar for this trade closed already
        # (set at ingest); the trade is left out of those bars.
        for i in range(n_intervals):
            if not (t.interval_ns >> i) & 1:
                bar_add_trade(&s.bars[i], &s.bar_last_ts[i], t.price, t.size, t.ts_ns)
        r.tick.interval_ns = 0
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
    fill_session_fields(s, r)


cdef void analytics_update_batch(SymbolState *states, const Tick *ticks, Result *out, int64_t n,
                                 double ema_alpha, const int64_t *intervals,
                                 int32_t n_intervals) noexcept nogil:
    """analytics_update over n ticks in order, each with its symbol's state
    (states is indexed by symbol id): what a worker does with a batch."""
    cdef int64_t i
    for i in range(n):
        if ticks[i].kind == KIND_ORDER:
            pass_order(&ticks[i], &out[i])
            continue
        analytics_update(&states[ticks[i].symbol_id], &ticks[i], &out[i], ema_alpha,
                         intervals, n_intervals)
