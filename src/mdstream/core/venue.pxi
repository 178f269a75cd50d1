# The paper venue: a thread that reads the engine's result log in sequence
# order (quotes, trades and the order requests sequenced with them), matches
# the orders against that market data, and writes execution reports to a log
# of its own. One thread in seq order makes it deterministic: the same input
# sequence always gives the same reports, with the same report seqs, so a
# restart that replays the journal (which holds the requests) rebuilds the
# orders, positions and reports exactly. The rules are
# docs/guides/paper-venue.md; mdstream/venue/reference.py is the same in
# plain Python and the property tests hold the two together.
#
# Lock order: the venue lock is taken only by the venue thread around its
# state changes and by queries; no log lock is ever taken while it is held.

cdef int64_t NS_PER_DAY = 86_400_000_000_000


cdef int venue_init(Venue *v, int32_t max_symbols, int64_t ring_size, int32_t max_readers,
                    int64_t latency_ns, bint queue_position) noexcept nogil:
    cdef int32_t i
    memset(v, 0, sizeof(Venue))
    v.max_symbols = max_symbols
    v.order_sid = max_symbols
    v.latency_ns = latency_ns
    v.queue_position = queue_position
    v.markets = <MarketView *>calloc(max_symbols, sizeof(MarketView))
    v.orders_cap = 1024
    v.orders = <VenueOrder *>calloc(v.orders_cap, sizeof(VenueOrder))
    v.ids_cap = 4096
    v.ids = <IdSlot *>calloc(v.ids_cap, sizeof(IdSlot))
    v.out_cap = 4 * VENUE_BATCH
    v.out = <ExecReport *>malloc(v.out_cap * sizeof(ExecReport))
    v.pend_cap = 1024
    v.pending = <OrderRequest *>malloc(v.pend_cap * sizeof(OrderRequest))
    v.pending_due = <int64_t *>malloc(v.pend_cap * sizeof(int64_t))
    if (v.markets == NULL or v.orders == NULL or v.ids == NULL or v.out == NULL
            or v.pending == NULL or v.pending_due == NULL):
        return ST_NO_MEMORY
    for i in range(max_symbols):
        v.markets[i].bid = NAN
        v.markets[i].ask = NAN
        v.markets[i].bid_size = NAN
        v.markets[i].ask_size = NAN
        v.markets[i].last_px = NAN
        v.markets[i].last_size = NAN
        v.markets[i].head = -1
        v.markets[i].tail = -1
    for i in range(v.orders_cap):
        v.orders[i].next = i + 1 if i + 1 < v.orders_cap else -1
    v.free_head = 0
    v.next_order_id = 1
    v.next_expiry = INT64_MAX
    pthread_mutex_init(&v.lock, NULL)
    # max_symbols + 1: a report of a request with no symbol (a cancel of an
    # unknown order) has symbol_id max_symbols.
    return log_init(&v.log, ring_size, max_symbols + 1, max_readers)


cdef void venue_destroy(Venue *v) noexcept nogil:
    cdef int32_t i
    if v.accounts != NULL:
        for i in range(v.n_accounts):
            free(v.accounts[i].positions)
    free(v.accounts); free(v.markets); free(v.orders); free(v.ids); free(v.out)
    free(v.pending); free(v.pending_due)
    log_destroy(&v.log)
    pthread_mutex_destroy(&v.lock)
    v.markets = NULL


# -- tables -------------------------------------------------------------------

cdef inline int64_t id_key(uint8_t account, int64_t cl_ord_id) noexcept nogil:
    return (<int64_t>account << 47) | cl_ord_id


cdef IdSlot *id_find(Venue *v, int64_t key) noexcept nogil:
    """The slot of key, or the empty slot where it would go."""
    cdef uint64_t h = (<uint64_t>key * <uint64_t>0x9E3779B97F4A7C15) >> 17
    cdef int64_t i = <int64_t>(h & <uint64_t>(v.ids_cap - 1))
    while v.ids[i].key != 0 and v.ids[i].key != key:
        i = (i + 1) & (v.ids_cap - 1)
    return &v.ids[i]


cdef IdSlot *id_add(Venue *v, int64_t key) noexcept nogil:
    """Note a used id (not open); NULL when the table cannot grow."""
    cdef IdSlot *old
    cdef int64_t old_cap, i
    cdef IdSlot *s
    if (v.ids_n + 1) * 2 > v.ids_cap:
        old = v.ids
        old_cap = v.ids_cap
        v.ids = <IdSlot *>calloc(old_cap * 2, sizeof(IdSlot))
        if v.ids == NULL:
            v.ids = old
            return NULL
        v.ids_cap = old_cap * 2
        for i in range(old_cap):
            if old[i].key != 0:
                id_find(v, old[i].key)[0] = old[i]
        free(old)
    s = id_find(v, key)
    s.key = key
    s.order = -1
    s.status = OS_REJECTED
    v.ids_n += 1
    return s


cdef int32_t order_alloc(Venue *v) noexcept nogil:
    cdef int32_t i, idx
    cdef VenueOrder *grown
    if v.free_head < 0:
        grown = <VenueOrder *>realloc(v.orders, <size_t>v.orders_cap * 2 * sizeof(VenueOrder))
        if grown == NULL:
            return -1
        v.orders = grown
        for i in range(v.orders_cap, v.orders_cap * 2):
            memset(&v.orders[i], 0, sizeof(VenueOrder))
            v.orders[i].next = i + 1 if i + 1 < v.orders_cap * 2 else -1
        v.free_head = v.orders_cap
        v.orders_cap *= 2
    idx = v.free_head
    v.free_head = v.orders[idx].next
    memset(&v.orders[idx], 0, sizeof(VenueOrder))
    v.orders[idx].in_use = 1
    return idx


cdef void rest_append(Venue *v, int32_t idx) noexcept nogil:
    """Put an order at the back of its symbol's time priority."""
    cdef MarketView *m = &v.markets[v.orders[idx].symbol]
    v.orders[idx].prev = m.tail
    v.orders[idx].next = -1
    if m.tail >= 0:
        v.orders[m.tail].next = idx
    else:
        m.head = idx
    m.tail = idx


cdef void rest_unlink(Venue *v, int32_t idx) noexcept nogil:
    cdef VenueOrder *o = &v.orders[idx]
    cdef MarketView *m = &v.markets[o.symbol]
    if o.prev >= 0:
        v.orders[o.prev].next = o.next
    else:
        m.head = o.next
    if o.next >= 0:
        v.orders[o.next].prev = o.prev
    else:
        m.tail = o.prev


cdef void order_close(Venue *v, int32_t idx, uint8_t status) noexcept nogil:
    """An order is done (filled, canceled, expired): out of its book, its id
    no longer open, its slot free."""
    cdef VenueOrder *o = &v.orders[idx]
    cdef IdSlot *slot
    o.ord_status = status
    o.leaves_qty = 0.0
    rest_unlink(v, idx)
    slot = id_find(v, id_key(o.account, o.cl_ord_id))
    slot.order = -1
    slot.status = status
    v.accounts[o.account].open_orders -= 1
    v.n_open -= 1
    o.in_use = 0
    o.next = v.free_head
    v.free_head = idx


cdef Position *position_of(Venue *v, uint8_t account, int32_t symbol) noexcept nogil:
    """The account's position in the symbol (NULL: no memory)."""
    cdef Account *a = &v.accounts[account]
    if a.positions == NULL:
        a.positions = <Position *>calloc(v.max_symbols, sizeof(Position))
        if a.positions == NULL:
            return NULL
    return &a.positions[symbol]


# -- reports ------------------------------------------------------------------

cdef ExecReport *report_new(Venue *v) noexcept nogil:
    cdef ExecReport *grown
    if v.out_n == v.out_cap:
        grown = <ExecReport *>realloc(v.out, <size_t>v.out_cap * 2 * sizeof(ExecReport))
        if grown == NULL:
            v.no_memory = True
            return NULL
        v.out = grown
        v.out_cap *= 2
    v.out_n += 1
    memset(&v.out[v.out_n - 1], 0, sizeof(ExecReport))
    return &v.out[v.out_n - 1]


cdef void report_position(Venue *v, ExecReport *r, uint8_t account, int32_t symbol) noexcept nogil:
    cdef Position *p
    if account >= v.n_accounts or symbol < 0 or symbol >= v.max_symbols:
        return
    if v.accounts[account].positions == NULL:
        return
    p = &v.accounts[account].positions[symbol]
    r.position = p.quantity
    r.position_avg_px = p.avg_px
    r.realized_pnl = p.realized_pnl
    r.fees = p.fees


cdef void report_order(Venue *v, const VenueOrder *o, uint8_t exec_type, uint8_t reason,
                       double last_px, double last_qty, int64_t orig) noexcept nogil:
    """A report of an order's state as it is now."""
    cdef ExecReport *r = report_new(v)
    if r == NULL:
        return
    r.seq = v.next_exec_seq
    v.next_exec_seq += 1
    r.ts_ns = v.clock
    r.recv_ns = v.cause_recv
    r.symbol_id = o.symbol
    r.kind = KIND_EXEC
    r.cl_ord_id = o.cl_ord_id
    r.orig_cl_ord_id = orig
    r.order_id = o.order_id
    r.cause_seq = v.cause_seq
    r.expire_ns = o.expire_ns
    r.price = o.price
    r.stop_price = o.stop_price
    r.quantity = o.quantity
    r.last_px = last_px
    r.last_qty = last_qty
    r.cum_qty = o.cum_qty
    r.leaves_qty = o.leaves_qty
    r.avg_px = o.avg_px
    r.account = o.account
    r.exec_type = exec_type
    r.ord_status = o.ord_status
    r.side = o.side
    r.ord_type = o.ord_type
    r.tif = o.tif
    r.reject_reason = reason
    r.post_only = o.post_only
    report_position(v, r, o.account, o.symbol)


cdef void report_reject(Venue *v, const OrderRequest *q, uint8_t reason,
                        const VenueOrder *target, uint8_t status=OS_REJECTED) noexcept nogil:
    """A request refused: a NEW (no order made) or a cancel / replace (the
    target, if open, is unchanged; if not, status is its last OrdStatus)."""
    cdef ExecReport *r = report_new(v)
    cdef uint8_t action = q.flags & ORDER_ACTION_MASK
    if r == NULL:
        return
    r.seq = v.next_exec_seq
    v.next_exec_seq += 1
    r.ts_ns = v.clock
    r.recv_ns = v.cause_recv
    r.symbol_id = q.symbol if q.symbol >= 0 else v.max_symbols
    r.kind = KIND_EXEC
    r.cl_ord_id = q.cl_ord_id
    r.orig_cl_ord_id = q.orig_cl_ord_id
    r.cause_seq = v.cause_seq
    r.price = q.price
    r.stop_price = q.stop_price
    r.quantity = q.quantity
    r.last_px = NAN
    r.avg_px = NAN
    r.account = q.account
    r.exec_type = EXEC_REJECTED
    r.ord_status = status
    r.side = SIDE_SELL if q.flags & ORDER_SELL else SIDE_BUY
    r.ord_type = q.ord_type
    r.tif = q.tif
    r.reject_reason = reason
    r.post_only = 1 if q.flags & ORDER_POST_ONLY else 0
    if action != ORDER_NEW and target != NULL:
        r.symbol_id = target.symbol
        r.order_id = target.order_id
        r.ord_status = target.ord_status
        r.side = target.side
        r.ord_type = target.ord_type
        r.tif = target.tif
        r.cum_qty = target.cum_qty
        r.leaves_qty = target.leaves_qty
        r.avg_px = target.avg_px
        r.expire_ns = target.expire_ns
    report_position(v, r, q.account, r.symbol_id)


cdef int venue_flush(Venue *v) noexcept nogil:
    """Write the reports made so far to the report log (the venue thread, or
    a restore before start); waits while its block readers hold it back."""
    cdef int64_t i
    cdef int64_t done = now_ns()
    cdef int st = ST_OK
    if v.out_n == 0:
        return ST_OK
    for i in range(v.out_n):
        v.out[i].done_ns = done
    st = log_write(&v.log, <Result *>v.out, v.out_n)
    v.out_n = 0
    return st


# -- fills and positions --------------------------------------------------------

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
    qty = o.leaves_qty if o.leaves_qty < room else room
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
    if o.tif == TIF_FOK and (touch_room(m, o.side) < o.leaves_qty or not marketable(o, m)):
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


# -- requests -----------------------------------------------------------------

cdef double notional_ref(const VenueOrder *o, const MarketView *m) noexcept nogil:
    if o.ord_type == OT_LIMIT or o.ord_type == OT_STOP_LIMIT:
        return o.price
    if o.ord_type == OT_STOP:
        return o.stop_price
    if o.side == SIDE_BUY and m.ask == m.ask:
        return m.ask
    if o.side == SIDE_SELL and m.bid == m.bid:
        return m.bid
    return m.last_px


cdef uint8_t risk_check(Venue *v, const VenueOrder *o, bint count_open) noexcept nogil:
    """The pre-trade checks of the order's account, in their documented order."""
    cdef Account *a = &v.accounts[o.account]
    cdef MarketView *m = &v.markets[o.symbol]
    cdef double ref, pos = 0.0
    if o.quantity > a.max_order_qty:
        return REJ_MAX_ORDER_QTY
    if o.ord_type == OT_LIMIT or o.ord_type == OT_STOP_LIMIT:
        ref = (m.bid + m.ask) * 0.5 if (m.bid == m.bid and m.ask == m.ask) else m.last_px
        if fabs(o.price - ref) / ref * 1e4 > a.price_collar_bps:
            return REJ_PRICE_COLLAR
    if o.quantity * notional_ref(o, m) > a.max_notional:
        return REJ_MAX_NOTIONAL
    if count_open and a.max_open_orders >= 0 and a.open_orders >= a.max_open_orders:
        return REJ_MAX_OPEN_ORDERS
    if a.positions != NULL:
        pos = a.positions[o.symbol].quantity
    if fabs(pos + (o.quantity if o.side == SIDE_BUY else -o.quantity)) > a.max_position:
        return REJ_MAX_POSITION
    if o.post_only and o.ord_type == OT_LIMIT:
        if (o.side == SIDE_BUY and o.price >= m.ask) or (o.side == SIDE_SELL and o.price <= m.bid):
            return REJ_POST_ONLY_WOULD_CROSS
    return REJ_NONE


cdef void note_expiry(Venue *v, int64_t expire_ns) noexcept nogil:
    if expire_ns != 0 and expire_ns < v.next_expiry:
        v.next_expiry = expire_ns


cdef void request_new(Venue *v, const OrderRequest *q) noexcept nogil:
    cdef IdSlot *slot
    cdef int32_t idx
    cdef VenueOrder *o
    cdef uint8_t reason
    if q.account >= v.n_accounts:
        report_reject(v, q, REJ_UNKNOWN_ACCOUNT, NULL)
        return
    slot = id_find(v, id_key(q.account, q.cl_ord_id))
    if slot.key != 0:
        report_reject(v, q, REJ_DUPLICATE_CL_ORD_ID, NULL)
        return
    if id_add(v, id_key(q.account, q.cl_ord_id)) == NULL:
        v.no_memory = True
        return
    if q.flags & ORDER_RATE_LIMITED:
        report_reject(v, q, REJ_RATE_LIMIT, NULL)
        return
    if not v.markets[q.symbol].seen:
        report_reject(v, q, REJ_NO_MARKET, NULL)
        return
    if q.tif == TIF_GTD and q.expire_ns <= v.clock:
        report_reject(v, q, REJ_EXPIRE_TIME_PASSED, NULL)
        return
    idx = order_alloc(v)
    if idx < 0:
        v.no_memory = True
        return
    o = &v.orders[idx]
    o.cl_ord_id = q.cl_ord_id
    o.symbol = q.symbol
    o.account = q.account
    o.side = SIDE_SELL if q.flags & ORDER_SELL else SIDE_BUY
    o.ord_type = q.ord_type
    o.tif = q.tif
    o.post_only = 1 if q.flags & ORDER_POST_ONLY else 0
    o.price = q.price
    o.stop_price = q.stop_price
    o.quantity = q.quantity
    o.leaves_qty = q.quantity
    o.avg_px = NAN
    reason = risk_check(v, o, True)
    if reason != REJ_NONE:
        o.in_use = 0
        o.next = v.free_head
        v.free_head = idx
        report_reject(v, q, reason, NULL)
        return
    o.order_id = v.next_order_id
    v.next_order_id += 1
    if q.tif == TIF_GTD:
        o.expire_ns = q.expire_ns
    elif q.tif == TIF_DAY:
        o.expire_ns = (v.clock // NS_PER_DAY + 1) * NS_PER_DAY     # the next UTC midnight
    note_expiry(v, o.expire_ns)
    o.ord_status = OS_NEW
    id_find(v, id_key(o.account, o.cl_ord_id)).order = idx
    v.accounts[o.account].open_orders += 1
    v.n_open += 1
    rest_append(v, idx)
    report_order(v, o, EXEC_NEW, REJ_NONE, NAN, 0.0, 0)
    if is_stop(o):
        if not stop_hit(o, &v.markets[o.symbol]):
            return
        o.triggered = 1
    arrive(v, idx)


cdef int32_t find_target(Venue *v, const OrderRequest *q, uint8_t *reason,
                         uint8_t *status) noexcept nogil:
    """The open order a cancel / replace is for; -1 with *reason (and the
    order's last *status, if it was known) if there is none."""
    cdef IdSlot *s = id_find(v, id_key(q.account, q.orig_cl_ord_id))
    status[0] = OS_REJECTED
    if s.key == 0:
        reason[0] = REJ_UNKNOWN_ORDER
        return -1
    if s.order < 0:
        reason[0] = REJ_TOO_LATE_TO_CANCEL
        status[0] = s.status
        return -1
    return s.order


cdef bint own_id_fresh(Venue *v, const OrderRequest *q) noexcept nogil:
    """A cancel / replace's own cl_ord_id (0: none for a cancel) is unused;
    it is marked used."""
    if q.cl_ord_id == 0:
        return True
    if id_find(v, id_key(q.account, q.cl_ord_id)).key != 0:
        return False
    if id_add(v, id_key(q.account, q.cl_ord_id)) == NULL:
        v.no_memory = True
    return True


cdef int32_t checked_target(Venue *v, const OrderRequest *q, bint needs_id) noexcept nogil:
    """The open order of a cancel / replace, or -1 after reporting why not:
    an unknown account, its own id used before (or missing: needs_id), an
    unknown order, one no longer open."""
    cdef uint8_t reason = REJ_NONE
    cdef uint8_t status = OS_REJECTED
    cdef int32_t idx
    if q.account >= v.n_accounts:
        report_reject(v, q, REJ_UNKNOWN_ACCOUNT, NULL)
        return -1
    idx = find_target(v, q, &reason, &status)
    if (needs_id and q.cl_ord_id == 0) or not own_id_fresh(v, q):
        report_reject(v, q, REJ_DUPLICATE_CL_ORD_ID, &v.orders[idx] if idx >= 0 else NULL,
                      status)
        return -1
    if idx < 0:
        report_reject(v, q, reason, NULL, status)
    return idx


cdef void request_cancel(Venue *v, const OrderRequest *q) noexcept nogil:
    cdef int32_t idx = checked_target(v, q, False)
    cdef VenueOrder *o
    cdef int64_t orig
    if idx < 0:
        return
    o = &v.orders[idx]
    orig = o.cl_ord_id
    o.ord_status = OS_CANCELED
    o.leaves_qty = 0.0
    if q.cl_ord_id != 0:
        o.cl_ord_id = q.cl_ord_id      # the report is the cancel request's (FIX)
    report_order(v, o, EXEC_CANCELED, REJ_NONE, NAN, 0.0, orig)
    o.cl_ord_id = orig                  # order_close frees the order's own id
    order_close(v, idx, OS_CANCELED)


cdef void request_replace(Venue *v, const OrderRequest *q) noexcept nogil:
    cdef uint8_t reason
    cdef int32_t idx = checked_target(v, q, True)
    cdef VenueOrder *o
    cdef VenueOrder saved
    cdef int64_t orig
    if idx < 0:
        return
    o = &v.orders[idx]
    if q.quantity == q.quantity and q.quantity <= o.cum_qty:
        report_reject(v, q, REJ_REPLACE_BELOW_FILLED, o)
        return
    saved = o[0]
    if q.quantity == q.quantity:
        o.quantity = q.quantity
    if q.price == q.price:
        o.price = q.price
    if q.stop_price == q.stop_price:
        o.stop_price = q.stop_price
    reason = risk_check(v, o, False)
    if reason != REJ_NONE:
        o[0] = saved
        report_reject(v, q, reason, o)
        return
    orig = o.cl_ord_id
    id_find(v, id_key(o.account, orig)).order = -1
    id_find(v, id_key(o.account, q.cl_ord_id)).order = idx
    o.cl_ord_id = q.cl_ord_id
    o.leaves_qty = o.quantity - o.cum_qty
    rest_unlink(v, idx)
    rest_append(v, idx)
    report_order(v, o, EXEC_REPLACED, REJ_NONE, NAN, 0.0, orig)
    if is_stop(o) and not o.triggered:
        if stop_hit(o, &v.markets[o.symbol]):
            o.triggered = 1
            arrive(v, idx)          # a stop the replace triggers arrives (IOC / FOK apply)
        return
    take_touch(v, idx, True)
    if o.in_use:
        set_queue(v, o)


cdef void sort_by_order_id(Venue *v, int32_t *idx, int32_t n) noexcept nogil:
    cdef int32_t i, j, t
    for i in range(1, n):
        t = idx[i]
        j = i - 1
        while j >= 0 and v.orders[idx[j]].order_id > v.orders[t].order_id:
            idx[j + 1] = idx[j]
            j -= 1
        idx[j + 1] = t


cdef void close_all(Venue *v, int32_t account, int32_t symbol, bint expired) noexcept nogil:
    """Cancel the open orders of an account (symbol -1: all of them), or
    expire the due ones (account -1), in order_id order."""
    cdef int32_t *idx = <int32_t *>malloc(<size_t>(v.n_open + 1) * sizeof(int32_t))
    cdef int32_t i, n = 0
    cdef VenueOrder *o
    if idx == NULL:
        v.no_memory = True
        return
    for i in range(v.orders_cap):
        o = &v.orders[i]
        if not o.in_use:
            continue
        if expired:
            if o.expire_ns != 0 and o.expire_ns <= v.clock:
                idx[n] = i
                n += 1
        elif o.account == account and (symbol < 0 or o.symbol == symbol):
            idx[n] = i
            n += 1
    sort_by_order_id(v, idx, n)
    for i in range(n):
        o = &v.orders[idx[i]]
        o.ord_status = OS_EXPIRED if expired else OS_CANCELED
        o.leaves_qty = 0.0
        report_order(v, o, EXEC_EXPIRED if expired else EXEC_CANCELED, REJ_NONE, NAN, 0.0, 0)
        order_close(v, idx[i], o.ord_status)
    free(idx)
    if expired:
        v.next_expiry = INT64_MAX
        for i in range(v.orders_cap):
            if v.orders[i].in_use:
                note_expiry(v, v.orders[i].expire_ns)


cdef void request(Venue *v, const OrderRequest *q) noexcept nogil:
    cdef uint8_t action = q.flags & ORDER_ACTION_MASK
    v.requests += 1
    if action == ORDER_NEW:
        request_new(v, q)
    elif action == ORDER_CANCEL:
        request_cancel(v, q)
    elif action == ORDER_REPLACE:
        request_replace(v, q)
    elif q.account >= v.n_accounts:
        report_reject(v, q, REJ_UNKNOWN_ACCOUNT, NULL)
    else:
        close_all(v, q.account, q.symbol, False)


cdef void pend(Venue *v, const OrderRequest *q) noexcept nogil:
    """Delay a request by the venue's latency (event time)."""
    cdef OrderRequest *rq
    cdef int64_t *due
    cdef int64_t i, k
    if v.pend_len == v.pend_cap:
        rq = <OrderRequest *>malloc(<size_t>v.pend_cap * 2 * sizeof(OrderRequest))
        due = <int64_t *>malloc(<size_t>v.pend_cap * 2 * sizeof(int64_t))
        if rq == NULL or due == NULL:
            free(rq); free(due)
            v.no_memory = True
            return
        for i in range(v.pend_len):
            k = (v.pend_head + i) % v.pend_cap
            rq[i] = v.pending[k]
            due[i] = v.pending_due[k]
        free(v.pending); free(v.pending_due)
        v.pending = rq
        v.pending_due = due
        v.pend_head = 0
        v.pend_cap *= 2
    k = (v.pend_head + v.pend_len) % v.pend_cap
    v.pending[k] = q[0]
    v.pending_due[k] = v.clock + v.latency_ns
    v.pend_len += 1


cdef void run_due(Venue *v, int64_t ts) noexcept nogil:
    """The delayed requests that reach the venue by event time ts, in order."""
    cdef int64_t due
    cdef int64_t cause_seq = v.cause_seq
    cdef int64_t cause_recv = v.cause_recv
    while v.pend_len > 0 and v.pending_due[v.pend_head] <= ts:
        due = v.pending_due[v.pend_head]
        if due > v.clock:
            v.clock = due
        v.cause_seq = v.pending[v.pend_head].seq
        v.cause_recv = v.pending[v.pend_head].recv_ns
        request(v, &v.pending[v.pend_head])
        v.pend_head = (v.pend_head + 1) % v.pend_cap
        v.pend_len -= 1
    v.cause_seq = cause_seq
    v.cause_recv = cause_recv


# -- market rows --------------------------------------------------------------

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
        q = o.leaves_qty if o.leaves_qty < room else room
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


cdef void venue_process(Venue *v, const Result *rows, int64_t n) noexcept nogil:
    """Act on n rows of the result log, in seq order (venue lock held)."""
    cdef int64_t i
    cdef const Tick *t
    for i in range(n):
        t = &rows[i].tick
        v.cause_seq = t.seq
        v.cause_recv = t.recv_ns
        if t.kind == KIND_ORDER:
            if v.latency_ns > 0:
                pend(v, <const OrderRequest *>t)
            else:
                request(v, <const OrderRequest *>t)
        elif (t.kind == KIND_QUOTE or t.kind == KIND_TRADE) and t.symbol_id < v.max_symbols:
            market_row(v, t)


cdef double venue_mark(const Venue *v, int32_t symbol) noexcept nogil:
    """The price positions are marked at: the mid when quoted, else the last trade."""
    cdef const MarketView *m = &v.markets[symbol]
    if m.bid == m.bid and m.ask == m.ask:
        return (m.bid + m.ask) * 0.5
    return m.last_px


cdef void *venue_main(void *arg) noexcept nogil:
    cdef EngineCore *c = <EngineCore *>arg
    cdef Venue *v = c.venue
    cdef Result *inbox = <Result *>malloc(VENUE_BATCH * sizeof(Result))
    cdef int64_t n
    cdef int st
    if inbox != NULL:
        while True:
            st = log_read(&c.log, &v.rd, inbox, VENUE_BATCH, -1, 0, False, &n, False)
            if st == ST_CLOSED:
                break
            if st == ST_IO_ERROR:
                sleep_ns(10_000_000)    # the journal cannot be written: nothing new for now
                continue
            if st != ST_OK:
                continue
            pthread_mutex_lock(&v.lock)
            venue_process(v, inbox, n)
            pthread_mutex_unlock(&v.lock)
            if venue_flush(v) != ST_OK:
                break
    free(inbox)
    log_close(&v.log)       # report readers drain it, then see the end
    pthread_mutex_lock(&v.lock)
    v.exited = True
    pthread_mutex_unlock(&v.lock)
    return NULL
