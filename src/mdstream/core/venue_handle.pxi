# VenueCore: the Python handle on an engine's paper venue (venue.pxi). The
# Engine (engine/trading.py) adds names, checks and the friendly API.

ORDER_ACTIONS = {"new": ORDER_NEW, "cancel": ORDER_CANCEL, "replace": ORDER_REPLACE,
                 "cancel_all": ORDER_CANCEL_ALL}
ORDER_FLAGS = {"sell": ORDER_SELL, "post_only": ORDER_POST_ONLY,
               "rate_limited": ORDER_RATE_LIMITED}


# The core owns the venue's memory (core_destroy frees it): the cycle
# collector must not clear the reference to it first.
@cython.no_gc_clear
cdef class VenueCore:
    """The paper venue of one Core: set up before the core starts."""
    cdef Core core
    cdef Venue *v

    def __cinit__(self, Core core, accounts, int64_t latency_ns, bint queue_position):
        """accounts: one dict per account id (fee_bps, max_order_qty,
        max_notional, max_position, price_collar_bps: floats, inf for no
        limit; max_open_orders: int, -1 for no limit)."""
        cdef int32_t i, n = len(accounts)
        if core.started:
            raise EngineStateError("the paper venue must be set up before the engine starts")
        if core.c.venue != NULL:
            raise EngineStateError("this engine already has a paper venue")
        if not 1 <= n <= VENUE_MAX_ACCOUNTS:
            raise InvalidArgumentError(f"a paper venue has 1 to {VENUE_MAX_ACCOUNTS} accounts, got {n}")
        if latency_ns < 0:
            raise InvalidArgumentError(f"latency_ns must be >= 0, got {latency_ns}")
        core.c.venue = <Venue *>calloc(1, sizeof(Venue))
        if core.c.venue == NULL:
            raise MemoryError()
        self.core = core
        self.v = core.c.venue
        check_status(venue_init(self.v, core.c.max_symbols, core.c.log.capacity,
                                core.c.log.max_readers, latency_ns, queue_position), "PaperVenue")
        self.v.accounts = <Account *>calloc(n, sizeof(Account))
        if self.v.accounts == NULL:
            raise MemoryError()
        self.v.n_accounts = n
        for i, a in enumerate(accounts):
            self.v.accounts[i].fee_bps = a["fee_bps"]
            self.v.accounts[i].max_order_qty = a["max_order_qty"]
            self.v.accounts[i].max_notional = a["max_notional"]
            self.v.accounts[i].max_position = a["max_position"]
            self.v.accounts[i].price_collar_bps = a["price_collar_bps"]
            self.v.accounts[i].max_open_orders = a["max_open_orders"]
        self.v.rd.policy = POLICY_BLOCK
        self.v.rd.with_orders = True
        core.c.log.order_sid = core.c.max_symbols

    def submit(self, requests):
        """Sequence an array of ORDER_DTYPE requests with the ticks (their seq,
        recv_ns, symbol_id and kind are overwritten); returns the engine seq of
        the first. Waits while the workers' channels are full."""
        cdef int64_t n = len(requests)
        cdef int64_t accepted = 0
        cdef int64_t i
        cdef int st
        if n == 0:
            return -1
        requests = np.ascontiguousarray(requests)     # kept alive: buf points into it
        cdef OrderRequest *buf = <OrderRequest *>array_data(requests, ORDER_DTYPE)
        for i in range(n):
            if buf[i].symbol < -1 or buf[i].symbol >= self.v.max_symbols:
                raise InvalidArgumentError(f"request {i}: symbol id {buf[i].symbol} is out of range")
            if (buf[i].flags & ORDER_ACTION_MASK) == ORDER_NEW and buf[i].symbol < 0:
                raise InvalidArgumentError(f"request {i}: a new order needs a symbol")
            buf[i].symbol_id = self.v.order_sid
            buf[i].kind = KIND_ORDER
        with nogil:
            st = core_ingest(&self.core.c, <Tick *>buf, n, True, &accepted)
        if st == ST_CLOSED:
            raise EngineStateError(
                f"the engine is not accepting orders (stopped, or its data has ended); "
                f"{accepted} of {n} were taken")
        check_status(st, "Engine.submit_order")
        return buf[0].seq       # ingest numbered the requests in place

    def replay(self, rows):
        """Act on journaled rows (RESULT_DTYPE, in seq order) before start: the
        orders, positions and reports come back exactly as they were."""
        if self.core.started:
            raise EngineStateError("the venue replays before the engine starts")
        if len(rows) == 0:
            return
        rows = np.ascontiguousarray(rows)
        cdef Result *src = <Result *>array_data(rows, RESULT_DTYPE)
        cdef int64_t n = len(rows)
        with nogil:
            pthread_mutex_lock(&self.v.lock)
            venue_process(self.v, src, n)
            pthread_mutex_unlock(&self.v.lock)
            venue_flush(self.v)

    def regenerate(self, rows):
        """Act on rows (RESULT_DTYPE, in seq order, continuing the previous
        call) on a venue that never starts, and return the reports made
        (EXEC_DTYPE), without writing them to its log: a journal's reports
        made again (done_ns: now)."""
        if self.core.started:
            raise EngineStateError("reports are regenerated by a venue that is not started")
        rows = np.ascontiguousarray(rows)
        cdef int64_t n = len(rows)
        cdef int64_t i, done = now_ns()
        cdef Result *src
        if n > 0:
            src = <Result *>array_data(rows, RESULT_DTYPE)
            with nogil:
                venue_process(self.v, src, n)
        out = np.empty(self.v.out_n, dtype=EXEC_DTYPE)
        for i in range(self.v.out_n):
            self.v.out[i].done_ns = done
        if self.v.out_n > 0:
            memcpy(<void *>array_data(out, EXEC_DTYPE), self.v.out,
                   <size_t>self.v.out_n * sizeof(ExecReport))
        self.v.out_n = 0
        return out

    def orders(self):
        """The open orders, in order_id order: a list of tuples (account,
        symbol, cl_ord_id, order_id, side, ord_type, tif, price, stop_price,
        quantity, cum_qty, leaves_qty, avg_px, ord_status, triggered,
        expire_ns, post_only)."""
        cdef int32_t i
        cdef VenueOrder *o
        out = []
        pthread_mutex_lock(&self.v.lock)
        try:
            for i in range(self.v.orders_cap):
                o = &self.v.orders[i]
                if o.in_use:
                    out.append((o.account, o.symbol, o.cl_ord_id, o.order_id, o.side, o.ord_type,
                                o.tif, o.price, o.stop_price, o.quantity, o.cum_qty,
                                o.leaves_qty, o.avg_px, o.ord_status, o.triggered != 0,
                                o.expire_ns, o.post_only != 0))
        finally:
            pthread_mutex_unlock(&self.v.lock)
        out.sort(key=lambda t: t[3])
        return out

    def positions(self):
        """Every (account, symbol) that has had a fill: a list of tuples
        (account, symbol, quantity, avg_px, realized_pnl, fees, fills, mark)."""
        cdef int32_t a, s
        cdef Position *p
        out = []
        pthread_mutex_lock(&self.v.lock)
        try:
            for a in range(self.v.n_accounts):
                if self.v.accounts[a].positions == NULL:
                    continue
                for s in range(self.v.max_symbols):
                    p = &self.v.accounts[a].positions[s]
                    if p.fills > 0:
                        out.append((a, s, p.quantity, p.avg_px, p.realized_pnl, p.fees, p.fills,
                                    venue_mark(self.v, s)))
        finally:
            pthread_mutex_unlock(&self.v.lock)
        return out

    def counters(self) -> dict:
        pthread_mutex_lock(&self.v.lock)
        d = {
            "requests": self.v.requests,
            "reports": self.v.next_exec_seq,
            "open_orders": self.v.n_open,
            "pending": self.v.pend_len,
            "clock_ns": self.v.clock,
            "no_memory": bool(self.v.no_memory),
        }
        pthread_mutex_unlock(&self.v.lock)
        return d

    @property
    def order_symbol_id(self) -> int:
        """The pseudo symbol id order requests carry in the result log."""
        return self.v.order_sid
