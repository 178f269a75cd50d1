# The paper venue's execution reports (venue.pxi): made while a batch of rows
# is handled, then written to the report log in one step.

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
    if action == ORDER_NEW:
        r.side = SIDE_SELL if q.flags & ORDER_SELL else SIDE_BUY     # else 0: no order, no side
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
