# The engine's data plane: ingest (sequence numbers, sharding), the worker
# threads, and the simulated feed's thread. All of it is plain C on pthreads.
#
# Lock order (outer to inner): ingest_lock -> channel lock. The log lock and
# the channel locks are never held together, and no core lock is ever held
# while the GIL is taken or waited for.

cdef int core_init(EngineCore *c, int32_t n_workers, int32_t max_symbols,
                   int64_t ring_size, int64_t channel_capacity, double ema_alpha,
                   int32_t max_readers, const int64_t *bar_intervals,
                   int32_t n_bar_intervals, bint record_latency) noexcept nogil:
    cdef int32_t i
    cdef int st
    memset(c, 0, sizeof(EngineCore))
    c.n_workers = n_workers
    c.max_symbols = max_symbols
    c.ema_alpha = ema_alpha
    c.channels = <Channel *>calloc(n_workers, sizeof(Channel))
    c.workers = <WorkerSlot *>calloc(n_workers, sizeof(WorkerSlot))
    c.states = <SymbolState *>calloc(max_symbols, sizeof(SymbolState))
    # A chunk, plus the bar markers it can close: one per (interval, symbol)
    # that traded, before the chunk or in it.
    c.shard_cap = INGEST_CHUNK + <int64_t>n_bar_intervals * (max_symbols + INGEST_CHUNK)
    c.shard_buf = <Tick *>malloc(<size_t>n_workers * c.shard_cap * sizeof(Tick))
    c.shard_len = <int64_t *>calloc(n_workers, sizeof(int64_t))
    c.shard_pos = <int64_t *>calloc(n_workers, sizeof(int64_t))
    if (c.channels == NULL or c.workers == NULL or c.states == NULL
            or c.shard_buf == NULL or c.shard_len == NULL or c.shard_pos == NULL):
        return ST_NO_MEMORY
    for i in range(max_symbols):
        symbol_state_reset(&c.states[i])
    for i in range(n_workers):
        st = channel_init(&c.channels[i], channel_capacity)
        if st != ST_OK:
            return st
        c.workers[i].core = c
        c.workers[i].index = i
        if record_latency:
            c.workers[i].lat_ingest = whist_new()
            c.workers[i].lat_process = whist_new()
            if c.workers[i].lat_ingest == NULL or c.workers[i].lat_process == NULL:
                return ST_NO_MEMORY
    c.record_latency = record_latency
    # One more symbol id: the pseudo symbol of order requests (set_venue).
    st = log_init(&c.log, ring_size, max_symbols + 1, max_readers)
    if st != ST_OK:
        return st
    st = bar_clock_init(&c.bars, bar_intervals, n_bar_intervals, max_symbols)
    if st != ST_OK:
        return st
    pthread_mutex_init(&c.ingest_lock, NULL)
    return ST_OK


cdef void core_destroy(EngineCore *c) noexcept nogil:
    """Free everything; the threads must have been joined (core_stop)."""
    cdef int32_t i
    if c.channels != NULL:
        for i in range(c.n_workers):
            channel_destroy(&c.channels[i])
    if c.workers != NULL:
        for i in range(c.n_workers):
            free(c.workers[i].lat_ingest); free(c.workers[i].lat_process)
    log_destroy(&c.log)
    bar_clock_destroy(&c.bars)
    if c.journal != NULL:
        journal_destroy(c.journal)
        free(c.journal)
        c.journal = NULL
    if c.has_sim:
        sim_destroy(&c.sim)
    if c.venue != NULL:
        venue_destroy(c.venue)
        free(c.venue)
        c.venue = NULL
    pthread_mutex_destroy(&c.ingest_lock)
    free(c.channels); free(c.workers); free(c.states); free(c.shard_buf); free(c.shard_len)
    free(c.shard_pos)
    c.channels = NULL
    c.workers = NULL


cdef int shard_flush(EngineCore *c, bint interruptible) noexcept nogil:
    """Push every worker's sequenced ticks to its channel (ingest_lock held).

    Ticks go out in sequence order across the workers, as room allows: the
    pending tick with the lowest seq is always pushed next. Pushing one
    worker's whole share first could deadlock: that worker may be waiting in
    the result ring for a lower seq still sitting in another worker's share.
    An interrupted push leaves the rest pending; it goes out first next time,
    so a sequence number is never lost.
    """
    cdef int32_t w, best
    cdef int64_t pushed, lowest
    cdef int st
    while True:
        best = -1
        lowest = 0
        for w in range(c.n_workers):
            if c.shard_pos[w] < c.shard_len[w]:
                if best < 0 or c.shard_buf[w * c.shard_cap + c.shard_pos[w]].seq < lowest:
                    best = w
                    lowest = c.shard_buf[w * c.shard_cap + c.shard_pos[w]].seq
        if best < 0:
            break
        st = channel_push_some(&c.channels[best],
                               &c.shard_buf[best * c.shard_cap + c.shard_pos[best]],
                               c.shard_len[best] - c.shard_pos[best], interruptible, &pushed)
        c.shard_pos[best] += pushed
        if st != ST_OK:
            return st
    for w in range(c.n_workers):
        c.shard_len[w] = 0
        c.shard_pos[w] = 0
    return ST_OK


cdef inline void shard_add(EngineCore *c, Tick *t, int64_t recv) noexcept nogil:
    """Sequence one tick and queue it for the worker owning its symbol (ingest_lock held)."""
    cdef int32_t w = t.symbol_id % c.n_workers
    t.seq = c.next_seq
    c.next_seq += 1
    t.recv_ns = recv
    c.shard_buf[w * c.shard_cap + c.shard_len[w]] = t[0]
    c.shard_len[w] += 1


cdef void close_bars(EngineCore *c, int32_t i, int64_t recv) noexcept nogil:
    """Sequence the bar-close markers of interval i's open bars (ingest_lock held)."""
    cdef BarClock *bc = &c.bars
    cdef int32_t k, sid
    cdef Tick marker
    for k in range(bc.traded_n[i]):
        sid = bc.traded_ids[i * bc.max_symbols + k]
        bc.traded[i * bc.max_symbols + sid] = 0
        bar_marker(&marker, sid, bc.open_start[i], bc.intervals[i])
        shard_add(c, &marker, recv)
    bc.traded_n[i] = 0


cdef inline void bars_before_tick(EngineCore *c, Tick *t, int64_t recv) noexcept nogil:
    """Close the bars that this tick's event time ends, then note its trade
    (ingest_lock held). A trade late for closed bars (bars.pxi) carries their
    mask in interval_ns to the worker, marks nothing there, and is counted."""
    cdef BarClock *bc = &c.bars
    cdef int32_t i
    cdef int64_t start
    if t.kind == KIND_TRADE:
        t.interval_ns = bar_late_mask(bc, t)
        if t.interval_ns != 0:
            bc.late += 1
    for i in range(bc.n_intervals):
        start = floor_to(t.ts_ns, bc.intervals[i])
        if start > bc.open_start[i]:
            if bc.open_start[i] >= 0:
                close_bars(c, i, recv)
            bc.open_start[i] = start
        if t.kind == KIND_TRADE and (t.interval_ns >> i) & 1:
            continue
        if t.kind == KIND_TRADE and not bc.traded[i * bc.max_symbols + t.symbol_id]:
            bc.traded[i * bc.max_symbols + t.symbol_id] = 1
            bc.traded_ids[i * bc.max_symbols + bc.traded_n[i]] = t.symbol_id
            bc.traded_n[i] += 1


cdef void core_finish_ingest(EngineCore *c) noexcept nogil:
    """End of data: close the open bars, then the channels. Workers drain and
    exit, and once the last result is read, subscriptions end."""
    cdef int32_t i
    cdef int64_t recv = now_ns()
    pthread_mutex_lock(&c.ingest_lock)
    if not c.ingest_closed:
        c.ingest_closed = True
        for i in range(c.bars.n_intervals):
            close_bars(c, i, recv)
        shard_flush(c, False)
    pthread_mutex_unlock(&c.ingest_lock)
    for i in range(c.n_workers):
        channel_close(&c.channels[i])


cdef void core_abort_ingest(EngineCore *c) noexcept nogil:
    """Stop taking ticks now. The channels close first: that wakes a feed
    blocked in a push while it holds the ingest lock."""
    cdef int32_t i
    for i in range(c.n_workers):
        channel_close(&c.channels[i])
    pthread_mutex_lock(&c.ingest_lock)
    c.ingest_closed = True
    pthread_mutex_unlock(&c.ingest_lock)


cdef int core_ingest(EngineCore *c, Tick *ticks, int64_t n, bint interruptible,
                     int64_t *accepted) noexcept nogil:
    """Sequence ticks and hand each to the worker that owns its symbol.

    A chunk at a time, under the ingest lock: the chunk is sequenced, then
    pushed in sequence order (shard_flush). Waits for room can be interrupted
    (Ctrl-C); the sequenced rest of that chunk then stays pending and is
    pushed first by the next ingest, so no sequence number is ever skipped.
    *accepted counts the ticks sequenced (pending ones included).
    """
    cdef int64_t done = 0
    cdef int64_t k, chunk, recv, orders
    cdef int st = ST_OK
    accepted[0] = 0
    while done < n:
        chunk = n - done if n - done < INGEST_CHUNK else INGEST_CHUNK
        pthread_mutex_lock(&c.ingest_lock)
        if c.ingest_closed:
            pthread_mutex_unlock(&c.ingest_lock)
            return ST_CLOSED
        st = shard_flush(c, interruptible)      # what an interrupted push left
        if st != ST_OK:
            pthread_mutex_unlock(&c.ingest_lock)
            return st
        recv = now_ns()
        orders = 0
        for k in range(done, done + chunk):
            if ticks[k].kind == KIND_ORDER:
                orders += 1                 # not the bar clock's: its time is the sender's
            elif c.bars.n_intervals > 0 and ticks[k].kind != KIND_OHLCV:
                bars_before_tick(c, &ticks[k], recv)    # input bars are not the clock's
            shard_add(c, &ticks[k], recv)
        done += chunk
        c.ticks_in += chunk - orders
        c.orders_in += orders
        accepted[0] = done
        st = shard_flush(c, interruptible)
        pthread_mutex_unlock(&c.ingest_lock)
        if st != ST_OK:
            return st
        if interruptible and done < n:
            st = check_signals_with_gil()
            if st != ST_OK:
                return st
    return ST_OK


cdef void record_worker_latency(WorkerSlot *slot, const Tick *ticks, int64_t n,
                                int64_t done) noexcept nogil:
    cdef int64_t i
    cdef int64_t second = done // 1_000_000_000
    for i in range(n):
        if ticks[i].kind != KIND_BAR and ticks[i].kind != KIND_OHLCV:   # ts_ns: a bar's start
            whist_record(slot.lat_ingest, ticks[i].recv_ns - ticks[i].ts_ns, second)
            whist_record(slot.lat_process, done - ticks[i].recv_ns, second)


cdef void *worker_main(void *arg) noexcept nogil:
    cdef WorkerSlot *slot = <WorkerSlot *>arg
    cdef EngineCore *c = slot.core
    cdef Channel *ch = &c.channels[slot.index]
    cdef Tick *inbox = <Tick *>malloc(WORKER_BATCH * sizeof(Tick))
    cdef Result *outbox = <Result *>malloc(WORKER_BATCH * sizeof(Result))
    cdef int64_t n, i, done
    cdef int st
    if inbox != NULL and outbox != NULL:
        while True:
            st = channel_pop(ch, inbox, WORKER_BATCH, -1, False, &n)
            if st == ST_CLOSED:
                break
            if st != ST_OK:
                continue
            analytics_update_batch(c.states, inbox, outbox, n, c.ema_alpha,
                                   c.bars.intervals, c.bars.n_intervals)
            done = now_ns()
            for i in range(n):
                outbox[i].done_ns = done
            if c.record_latency:
                record_worker_latency(slot, inbox, n, done)
            if log_write(&c.log, outbox, n) != ST_OK:
                break           # the log was closed: the engine is stopping
            slot.processed += n
    free(inbox); free(outbox)
    # The last worker out closes the log: readers drain it, then see the end.
    pthread_mutex_lock(&c.log.lock)
    c.workers_alive -= 1
    if c.workers_alive == 0:
        c.log.closed = True
        pthread_cond_broadcast(&c.log.readable)
        pthread_cond_broadcast(&c.log.writable)
    pthread_mutex_unlock(&c.log.lock)
    return NULL


cdef void *sim_main(void *arg) noexcept nogil:
    cdef EngineCore *c = <EngineCore *>arg
    cdef SimFeed *f = &c.sim
    cdef int64_t batch = FEED_BATCH_MAX
    cdef int64_t start, n, accepted, due
    cdef Tick *buf = <Tick *>malloc(FEED_BATCH_MAX * sizeof(Tick))
    if buf == NULL:
        return NULL
    if f.rate > 0:
        # Batches of about a millisecond of ticks keep pacing smooth.
        batch = <int64_t>(f.rate / 1000.0)
        if batch < 1:
            batch = 1
        if batch > FEED_BATCH_MAX:
            batch = FEED_BATCH_MAX
    start = mono_ns()
    while not c.sim_stop:
        if f.rate > 0:
            due = start + <int64_t>(f.generated * 1e9 / f.rate)
            while not c.sim_stop and mono_ns() < due:
                sleep_ns(due - mono_ns() if due - mono_ns() < 50_000_000 else 50_000_000)
        n = sim_generate(f, buf, batch, now_ns())
        if n == 0:
            break
        if core_ingest(c, buf, n, False, &accepted) != ST_OK:
            break
    free(buf)
    if f.limit > 0 and f.generated >= f.limit and c.close_on_feed_end:
        core_finish_ingest(c)
    return NULL


cdef void core_restore(EngineCore *c, const Result *rows, int64_t n) noexcept nogil:
    """Replay journaled results (in seq order) so that processing continues as
    if never interrupted. Before start."""
    if n == 0:
        return
    state_replay(c.states, &c.bars, c.ema_alpha, rows, n)     # order requests: the venue's
    c.next_seq = rows[n - 1].tick.seq + 1
    log_start_at(&c.log, c.next_seq)


cdef int core_start(EngineCore *c) noexcept nogil:
    cdef int32_t i
    cdef int64_t oldest
    cdef int st
    if c.journal != NULL:
        st = journal_start(c.journal)
        if st != ST_OK:
            return st
    if c.venue != NULL:
        # Before any worker: the venue reads every row from the first.
        st = log_add_reader(&c.log, &c.venue.rd, -1, &oldest)
        if st != ST_OK:
            return st
        if pthread_create(&c.venue.thread, NULL, venue_main, c) != 0:
            return ST_THREAD_ERROR
        c.venue.running = True
    c.workers_alive = c.n_workers
    for i in range(c.n_workers):
        if pthread_create(&c.workers[i].thread, NULL, worker_main, &c.workers[i]) != 0:
            c.workers_alive = i
            return ST_THREAD_ERROR
        c.workers[i].running = True
    if c.has_sim:
        if pthread_create(&c.sim_thread, NULL, sim_main, c) != 0:
            return ST_THREAD_ERROR
        c.sim_running = True
    return ST_OK


cdef void core_stop(EngineCore *c, double drain_timeout_s) noexcept nogil:
    """Stop the feed, let the workers drain for up to drain_timeout_s, then
    close the log (releasing anything still waiting on a slow reader) and join
    every thread. Always returns."""
    cdef int32_t i
    cdef int64_t deadline = deadline_after(drain_timeout_s)
    cdef int32_t alive
    c.sim_stop = True
    core_abort_ingest(c)
    if c.sim_running:
        pthread_join(c.sim_thread, NULL)
        c.sim_running = False
    while True:
        pthread_mutex_lock(&c.log.lock)
        alive = c.workers_alive
        pthread_mutex_unlock(&c.log.lock)
        if alive == 0 or mono_ns() >= deadline:
            break
        sleep_ns(1_000_000)
    log_close(&c.log)
    for i in range(c.n_workers):
        if c.workers[i].running:
            pthread_join(c.workers[i].thread, NULL)
            c.workers[i].running = False
    if c.journal != NULL and c.journal.running:
        pthread_join(c.journal.thread, NULL)    # it writes what is left, then exits
        c.journal.running = False
    if c.venue != NULL and c.venue.running:
        # It reads what is left and closes its log, unless a `block` reader of
        # the reports has stopped reading: past the drain time its log closes
        # under it (what it still had to write is lost with the stop).
        while True:
            pthread_mutex_lock(&c.venue.lock)
            alive = 0 if c.venue.exited else 1
            pthread_mutex_unlock(&c.venue.lock)
            if alive == 0 or mono_ns() >= deadline:
                break
            sleep_ns(1_000_000)
        log_close(&c.venue.log)
        pthread_join(c.venue.thread, NULL)
        c.venue.running = False
