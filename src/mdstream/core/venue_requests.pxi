# The paper venue's requests (venue.pxi): new orders and their pre-trade
# checks, cancels, cancel-replaces, cancel-all, expiries and latency.

cdef int64_t NS_PER_DAY = 86_400_000_000_000


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
