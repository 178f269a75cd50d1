# The paper venue's matching (venue.pxi): fills and positions, an order
# arriving at the touch, stops, and what each quote and trade fills.

cdef void position_fill(Position *p, double d, double px, double fee) noexcept nogil:
    """Average-cost position: d is the signed fill (buy > 0) at px."""
    cdef double closed, sign_q
    if p.quantity == 0.0 or (p.quantity > 0) == (d > 0):
        p.avg_px = (p.avg_px * fabs(p.quantity) + px * fabs(d)) / (fabs(p.quantity) + fabs(d))
        p.quantity += d
    else:
        closed = fabs(d) if fabs(d) < fabs(p.quantity) else fabs(p.quantity)
        sign_q = 1.0 if p.quantity > 0 else -1.0
        p.realized_pnl += closed * (px - p.avg_px) * sign_q
        p.quantity += d
        if p.quantity == 0.0:
            p.avg_px = 0.0
        elif (p.quantity > 0) != (sign_q > 0):
            p.avg_px = px
    p.fees += fee
    p.fills += 1


cdef void fill(Venue *v, int32_t idx, double px, double qty) noexcept nogil:
    """Fill qty of an order at px: the order, the position, then the report."""
    cdef VenueOrder *o = &v.orders[idx]
    cdef Position *p = position_of(v, o.account, o.symbol)
    if p == NULL:
        v.no_memory = True
        return
    if o.cum_qty == 0.0:
        o.avg_px = px
    else:
        o.avg_px = (o.avg_px * o.cum_qty + px * qty) / (o.cum_qty + qty)
    o.cum_qty += qty
    o.leaves_qty -= qty
    position_fill(p, qty if o.side == SIDE_BUY else -qty, px,
                  px * qty * v.accounts[o.account].fee_bps / 1e4)
    if o.leaves_qty == 0.0:
        o.ord_status = OS_FILLED
        report_order(v, o, EXEC_FILL, REJ_NONE, px, qty, 0)
        order_close(v, idx, OS_FILLED)
    else:
        o.ord_status = OS_PARTIALLY_FILLED
        report_order(v, o, EXEC_PARTIAL_FILL, REJ_NONE, px, qty, 0)


cdef inline bint acts_as_market(const VenueOrder *o) noexcept nogil:
    return o.ord_type == OT_MARKET or o.ord_type == OT_STOP


cdef inline bint is_stop(const VenueOrder *o) noexcept nogil:
    return o.ord_type == OT_STOP or o.ord_type == OT_STOP_LIMIT


cdef double touch_room(const MarketView *m, uint8_t side) noexcept nogil:
    """Size left at the touch an order of this side takes (0: none)."""
    cdef double room
    if side == SIDE_BUY:
        if m.ask != m.ask:
            return 0.0
        room = m.ask_size - m.ask_taken
    else:
        if m.bid != m.bid:
            return 0.0
        room = m.bid_size - m.bid_taken
    return room if room > 0 else 0.0     # NaN size: no liquidity


cdef inline bint marketable(const VenueOrder *o, const MarketView *m) noexcept nogil:
    """Would the order take the current touch (ignoring size)?"""
    if acts_as_market(o):
        return True
    if o.side == SIDE_BUY:
        return o.price >= m.ask
    return o.price <= m.bid


# A remainder at most this fraction of an order's quantity is filled with the
# rest (fill_qty; the reference's QTY_EPS).
cdef double QTY_EPS = 1e-9


cdef inline double fill_qty(const VenueOrder *o, double room) noexcept nogil:
    """What a fill takes of room: the order's leaves at most; and the whole
    leaves when at most QTY_EPS of its quantity would be left (decimal sizes
    such as 0.05 - 0.032 - 0.018 do not add up exactly in binary floating
    point: such a crumb is filled with the rest, never left open)."""
    cdef double q = o.leaves_qty if o.leaves_qty < room else room
    if o.leaves_qty - q <= QTY_EPS * o.quantity:
        q = o.leaves_qty
    return q


cdef void take_touch(Venue *v, int32_t idx, bint arriving) noexcept nogil:
    """Fill an active order from the current quote's displayed size: an
    arriving order at the touch, a resting one at its limit (a market order
    at the touch)."""
    cdef VenueOrder *o = &v.orders[idx]
    cdef MarketView *m = &v.markets[o.symbol]
    cdef double room = touch_room(m, o.side)
    cdef double qty, px
    if room <= 0.0 or not marketable(o, m):
        return
    qty = fill_qty(o, room)
    px = m.ask if o.side == SIDE_BUY else m.bid
    if not arriving and not acts_as_market(o):
        px = o.price
    if o.side == SIDE_BUY:
        m.ask_taken += qty
    else:
        m.bid_taken += qty
    fill(v, idx, px, qty)


cdef void set_queue(Venue *v, VenueOrder *o) noexcept nogil:
    cdef MarketView *m = &v.markets[o.symbol]
    o.queue_ahead = 0.0
    if not v.queue_position or acts_as_market(o):
        return
    if o.side == SIDE_BUY and m.bid == o.price and m.bid_size > 0:
        o.queue_ahead = m.bid_size
    elif o.side == SIDE_SELL and m.ask == o.price and m.ask_size > 0:
        o.queue_ahead = m.ask_size


cdef void arrive(Venue *v, int32_t idx) noexcept nogil:
    """An order that has just become active (accepted, or a stop triggered):
    it takes the touch, then IOC and FOK end it, anything else rests."""
    cdef VenueOrder *o = &v.orders[idx]
    cdef MarketView *m = &v.markets[o.symbol]
    if o.tif == TIF_FOK and (fill_qty(o, touch_room(m, o.side)) < o.leaves_qty
                             or not marketable(o, m)):
        o.ord_status = OS_CANCELED
        o.leaves_qty = 0.0
        report_order(v, o, EXEC_CANCELED, REJ_FOK_UNFILLED, NAN, 0.0, 0)
        order_close(v, idx, OS_CANCELED)
        return
    take_touch(v, idx, True)
    if not o.in_use:
        return                          # filled
    if o.tif == TIF_IOC or o.tif == TIF_FOK:
        o.ord_status = OS_CANCELED
        o.leaves_qty = 0.0
        report_order(v, o, EXEC_CANCELED, REJ_IOC_REMAINDER, NAN, 0.0, 0)
        order_close(v, idx, OS_CANCELED)
        return
    set_queue(v, o)


cdef bint stop_hit(const VenueOrder *o, const MarketView *m) noexcept nogil:
    """Is a waiting stop triggered by the market as it is? On the last trade;
    a symbol that has never traded, on its quote."""
    if m.traded:
        return m.last_px >= o.stop_price if o.side == SIDE_BUY else m.last_px <= o.stop_price
    if o.side == SIDE_BUY:
        return m.ask >= o.stop_price
    return m.bid <= o.stop_price


cdef void trade_fills(Venue *v, MarketView *m, double p, double z) noexcept nogil:
    """Step 4 on a trade: resting orders fill against the print, each side
    sharing its size in time priority."""
    cdef int32_t idx = m.head
    cdef int32_t nxt
    cdef VenueOrder *o
    cdef double used_buy = 0.0, used_sell = 0.0
    cdef double room, q, ahead
    cdef bint at_price, through
    while idx >= 0:
        nxt = v.orders[idx].next
        o = &v.orders[idx]
        if is_stop(o) and o.triggered != 1:
            if o.triggered == 2:
                o.triggered = 1
            idx = nxt
            continue
        room = z - (used_buy if o.side == SIDE_BUY else used_sell)
        if not (room > 0):
            idx = nxt
            continue
        if acts_as_market(o):
            at_price = False
            through = True
        else:
            at_price = p == o.price
            through = p < o.price if o.side == SIDE_BUY else p > o.price
        if not (at_price or through):
            idx = nxt
            continue
        if at_price and o.queue_ahead > 0:
            ahead = o.queue_ahead if o.queue_ahead < room else room
            o.queue_ahead -= ahead
            room -= ahead
            if o.side == SIDE_BUY:
                used_buy += ahead
            else:
                used_sell += ahead
            if not (room > 0):
                idx = nxt
                continue
        q = fill_qty(o, room)
        if o.side == SIDE_BUY:
            used_buy += q
        else:
            used_sell += q
        fill(v, idx, p if acts_as_market(o) else o.price, q)
        idx = nxt


cdef void quote_fills(Venue *v, MarketView *m) noexcept nogil:
    """Step 4 on a quote: resting orders the new quote reaches fill from its
    displayed size, in time priority."""
    cdef int32_t idx = m.head
    cdef int32_t nxt
    cdef VenueOrder *o
    while idx >= 0:
        nxt = v.orders[idx].next
        o = &v.orders[idx]
        if is_stop(o) and o.triggered != 1:
            if o.triggered == 2:
                o.triggered = 1
        else:
            take_touch(v, idx, False)
        idx = nxt


cdef void trigger_stops(Venue *v, MarketView *m) noexcept nogil:
    """Step 3: waiting stops the market now reaches become active and arrive."""
    cdef int32_t idx = m.head
    cdef int32_t nxt
    cdef VenueOrder *o
    while idx >= 0:
        nxt = v.orders[idx].next
        o = &v.orders[idx]
        if is_stop(o) and o.triggered == 0 and stop_hit(o, m):
            o.triggered = 2
            arrive(v, idx)
        idx = nxt


cdef void market_row(Venue *v, const Tick *t) noexcept nogil:
    cdef MarketView *m = &v.markets[t.symbol_id]
    if v.pend_len > 0:
        run_due(v, t.ts_ns)
    if t.ts_ns > v.clock:
        v.clock = t.ts_ns
    if v.next_expiry <= v.clock:
        close_all(v, -1, -1, True)
    m.seen = True
    if t.kind == KIND_QUOTE:
        m.bid = t.bid
        m.ask = t.ask
        m.bid_size = t.bid_size
        m.ask_size = t.ask_size
        m.bid_taken = 0.0
        m.ask_taken = 0.0
    else:
        m.last_px = t.price
        m.last_size = t.size
        m.traded = True
    if m.head < 0:
        return
    trigger_stops(v, m)
    if t.kind == KIND_QUOTE:
        quote_fills(v, m)
    else:
        trade_fills(v, m, t.price, t.size)
