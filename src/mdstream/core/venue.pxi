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
