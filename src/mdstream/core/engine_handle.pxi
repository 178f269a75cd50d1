# Core and CoreReader: the Python handles on the engine's C data plane. The
# Engine class (engine.py) adds symbols, feeds and the friendly API on top.


cdef class Core:
    """The C data plane of one engine: channels, workers, result log, sim feed."""
    # Its C attributes are declared in core/engine_handle.pxd.

    def __cinit__(self, int32_t workers, int32_t max_symbols, int64_t ring_size,
                  int64_t channel_capacity, double ema_alpha, int32_t max_readers,
                  bar_intervals_ns=(), bint record_latency=True):
        cdef int64_t intervals[MAX_BAR_INTERVALS]
        cdef int32_t n_intervals = len(bar_intervals_ns)
        cdef int32_t i
        if workers < 1:
            raise InvalidArgumentError(f"workers must be >= 1, got {workers}")
        if max_symbols < 1:
            raise InvalidArgumentError(f"max_symbols must be >= 1, got {max_symbols}")
        if ring_size < 2 or (ring_size & (ring_size - 1)) != 0:
            raise InvalidArgumentError(f"ring_size must be a power of two >= 2, got {ring_size}")
        if channel_capacity < 1:
            raise InvalidArgumentError(f"channel_capacity must be >= 1, got {channel_capacity}")
        if not 0.0 < ema_alpha <= 1.0:
            raise InvalidArgumentError(f"ema_alpha must be in (0, 1], got {ema_alpha}")
        if n_intervals > MAX_BAR_INTERVALS:
            raise InvalidArgumentError(f"at most {MAX_BAR_INTERVALS} bar intervals, got {n_intervals}")
        if len(set(bar_intervals_ns)) != n_intervals:
            raise InvalidArgumentError(f"bar intervals must be distinct, got {list(bar_intervals_ns)}")
        for i in range(n_intervals):
            intervals[i] = bar_intervals_ns[i]
            if intervals[i] <= 0:
                raise InvalidArgumentError(f"bar intervals must be > 0, got {intervals[i]} ns")
        cdef int st = core_init(&self.c, workers, max_symbols, ring_size,
                                channel_capacity, ema_alpha, max_readers, intervals, n_intervals,
                                record_latency)
        self.ready = True
        check_status(st, "Engine")

    def __dealloc__(self):
        if not self.ready:
            return
        if self.started and not self.stopped:
            with nogil:
                core_stop(&self.c, 0.0)
        core_destroy(&self.c)

    def set_sim_feed(self, symbol_ids, uint64_t seed, double rate, int64_t limit,
                     double quote_ratio, double sigma, double spread_bps, bint close_on_end):
        """Configure the simulated feed thread (before start)."""
        cdef int32_t[::1] ids = np.ascontiguousarray(symbol_ids, dtype=np.int32)
        if self.started:
            raise EngineStateError("the feed must be set before the engine starts")
        if ids.shape[0] == 0:
            raise InvalidArgumentError("the simulated feed needs at least one symbol")
        check_status(sim_init(&self.c.sim, seed, &ids[0], <int32_t>ids.shape[0], rate,
                              limit, quote_ratio, sigma, spread_bps), "SimulatedFeed")
        self.c.has_sim = True
        self.c.close_on_feed_end = close_on_end

    def enable_journal(self, str directory, int64_t roll_bytes, int durability,
                       int64_t fsync_interval_ns, bint retry=True, int64_t retry_ns=500_000_000):
        """Journal every result into directory (before start); subscribers then
        see results once they are journaled. When the journal cannot be
        written: retry every retry_ns (retry=True), else stop for good."""
        if self.started:
            raise EngineStateError("the journal must be set up before the engine starts")
        if self.c.journal != NULL:
            raise EngineStateError("the journal is already set up")
        if durability not in (DUR_WRITE, DUR_INTERVAL, DUR_FSYNC):
            raise InvalidArgumentError(f"unknown durability code {durability}")
        cdef bytes d = directory.encode()
        if len(d) >= 3800:
            raise InvalidArgumentError("the journal directory path is too long")
        self.c.journal = <JournalWriter *>calloc(1, sizeof(JournalWriter))
        if self.c.journal == NULL:
            raise MemoryError()
        if retry_ns <= 0:
            raise InvalidArgumentError(f"retry_ns must be > 0, got {retry_ns}")
        check_status(journal_init(self.c.journal, &self.c, d, roll_bytes, durability,
                                  fsync_interval_ns, retry, retry_ns), "journal")
        self.c.log.gated = True

    def restore(self, rows):
        """Replay journaled results (RESULT_DTYPE, in seq order, continuing the
        previous call) into the analytics state; before start."""
        cdef int64_t n = len(rows)
        cdef int64_t i
        if self.started:
            raise EngineStateError("restore() must run before start()")
        if n == 0:
            return
        rows = np.ascontiguousarray(rows)      # kept alive: src points into it
        cdef Result *src = <Result *>array_data(rows, RESULT_DTYPE)
        for i in range(n):
            if src[i].tick.seq != self.c.next_seq and not (self.c.next_seq == 0 and i == 0):
                raise MDStreamError(
                    f"journal replay out of order: expected seq {self.c.next_seq}, got {src[i].tick.seq}")
            if src[i].tick.kind == KIND_ORDER and src[i].tick.symbol_id == self.c.max_symbols:
                pass        # an order request: the venue's (venue_replay)
            elif src[i].tick.symbol_id < 0 or src[i].tick.symbol_id >= self.c.max_symbols:
                raise MDStreamError(f"journaled symbol id {src[i].tick.symbol_id} is out of range")
            self.c.next_seq = src[i].tick.seq + 1
        self.c.next_seq = src[0].tick.seq
        with nogil:
            core_restore(&self.c, src, n)

    def journal_status(self) -> dict | None:
        """Counters of the journal writer, or None without a journal."""
        cdef JournalWriter *jw = self.c.journal
        if jw == NULL:
            return None
        pthread_mutex_lock(&jw.lock)
        d = {
            "written_seq": jw.written_seq,
            "active_first_seq": jw.active_first_seq,
            "active_bytes": jw.active_bytes,
            "error": jw.error,
            "blocks": jw.blocks,
            "bytes": jw.bytes,
            "fsyncs": jw.fsyncs,
            "state_files": jw.state_files,
            "last_error": jw.last_error,
            "error_path": jw.error_path.decode("utf-8", "replace"),
            "failures": jw.failures,
            "recoveries": jw.recoveries,
            "retry": bool(jw.retry),
        }
        pthread_mutex_unlock(&jw.lock)
        return d

    @property
    def next_seq(self) -> int:
        return self.c.next_seq

    def start(self):
        if self.started:
            raise EngineStateError("the engine was already started; an Engine runs once")
        self.started = True
        cdef int st
        with nogil:
            st = core_start(&self.c)
        if st != ST_OK:
            with nogil:
                core_stop(&self.c, 0.0)
            self.stopped = True
        check_status(st, "Engine.start")

    def stop(self, double drain_timeout=1.0):
        """Stop the feed, drain for up to drain_timeout s, close the log, join all threads."""
        if not self.started or self.stopped:
            self.stopped = True
            return
        self.stopped = True
        with nogil:
            core_stop(&self.c, drain_timeout)

    def close_ingest(self):
        """End of data: open bars close, workers finish what they have, then
        subscriptions end after the last result."""
        with nogil:
            core_finish_ingest(&self.c)

    def ingest(self, ticks):
        """Sequence and process an array of TICK_DTYPE (its seq and recv_ns are overwritten).

        Waits while the workers' channels are full (backpressure). Returns the
        number of ticks taken.
        """
        cdef int64_t n = len(ticks)
        cdef int64_t accepted = 0
        cdef int st
        if n == 0:
            return 0
        ticks = np.ascontiguousarray(ticks)    # kept alive: buf points into it
        cdef Tick *buf = <Tick *>array_data(ticks, TICK_DTYPE)
        cdef int64_t first
        cdef int32_t max_sym = self.c.max_symbols
        cdef int64_t i
        for i in range(n):
            if buf[i].symbol_id < 0 or buf[i].symbol_id >= max_sym:
                raise InvalidArgumentError(f"symbol id {buf[i].symbol_id} is out of range [0, {max_sym})")
            if buf[i].kind == KIND_OHLCV:
                if buf[i].interval_ns <= 0:
                    raise InvalidArgumentError(
                        f"tick {i}: an input bar (kind 3) needs its interval_ns > 0, got {buf[i].interval_ns}")
                continue
            if buf[i].kind != KIND_TRADE and buf[i].kind != KIND_QUOTE:
                raise InvalidArgumentError(
                    f"tick {i}: kind must be trade (0), quote (1) or an input bar (3), got {buf[i].kind}")
            buf[i].interval_ns = 0
        with nogil:
            st = core_ingest(&self.c, buf, n, True, &accepted)
        if st == ST_CLOSED:
            raise EngineStateError(
                f"the engine is not accepting ticks (stopped, or its feed has ended); {accepted} of {n} were taken")
        check_status(st, "Engine.publish")
        return accepted

    def reader(self, int32_t policy, filter_ids, int64_t max_batch, int64_t from_seq=-1,
               bint with_snapshot=False, int64_t block_deadline_ns=0):
        """A new reader of the result log, starting at the next result or at
        from_seq (OutOfRangeError if the ring no longer holds it); with
        with_snapshot=True it is registered by its snapshot_and_register().
        block_deadline_ns > 0 (policy block only): the reader is disconnected
        (SlowConsumerError) once it has held the workers back that long
        without reading."""
        return CoreReader(self, policy, filter_ids, max_batch, from_seq, with_snapshot,
                          block_deadline_ns)

    def report_reader(self, int32_t policy, filter_ids, int64_t max_batch, int64_t from_seq=-1,
                      int64_t block_deadline_ns=0):
        """A reader of the paper venue's execution report log (ExecReport rows
        in RESULT_DTYPE arrays: view them as EXEC_DTYPE)."""
        return CoreReader(self, policy, filter_ids, max_batch, from_seq, False,
                          block_deadline_ns, True)

    def snapshot(self, symbol_ids):
        """(head, rows, present): the newest result of each symbol as of head."""
        cdef int32_t[::1] ids = np.ascontiguousarray(symbol_ids, dtype=np.int32)
        cdef int32_t n = <int32_t>ids.shape[0]
        cdef int64_t head, oldest = 0
        cdef int32_t i
        rows = np.zeros(max(n, 1), dtype=RESULT_DTYPE)
        present = np.zeros(max(n, 1), dtype=np.uint8)
        cdef uint8_t[::1] pv = present
        cdef Result *out = <Result *>array_data(rows, RESULT_DTYPE)
        for i in range(n):
            if ids[i] < 0 or ids[i] >= self.c.max_symbols:
                raise InvalidArgumentError(f"symbol id {ids[i]} is out of range")
        with nogil:
            head = log_snapshot(&self.c.log, &ids[0] if n > 0 else NULL, n, out, &pv[0],
                                NULL, &oldest)
        keep = present[:n].astype(bool)
        return head, rows[:n][keep], keep

    def counters(self) -> dict:
        """A consistent-enough snapshot of the counters (each read is atomic)."""
        cdef int32_t i
        # Not under the ingest lock: a feed holds it while it waits for room
        # (backpressure), and this thread holds the GIL. An aligned 64-bit read
        # is never torn; it may be a moment old.
        ingested = (<volatile int64_t *>&self.c.ticks_in)[0]
        orders_in = (<volatile int64_t *>&self.c.orders_in)[0]
        late = (<volatile int64_t *>&self.c.bars.late)[0]
        pthread_mutex_lock(&self.c.log.lock)
        head = self.c.log.visible
        readers = self.c.log.n_readers
        alive = self.c.workers_alive
        # Finished: no more results will come and every one is visible (with a
        # journal, once the journal writer has written the last of them).
        log_closed = self.c.log.closed and (not self.c.log.gated or self.c.log.gate_done)
        pthread_mutex_unlock(&self.c.log.lock)
        if log_closed and self.c.venue != NULL:
            # ... and the paper venue has acted on all of it.
            pthread_mutex_lock(&self.c.venue.lock)
            log_closed = self.c.venue.exited or not self.c.venue.running
            pthread_mutex_unlock(&self.c.venue.lock)
        return {
            "ingested": ingested,
            "order_requests": orders_in,
            "late_ticks": late,
            "results": head,
            "processed": [self.c.workers[i].processed for i in range(self.c.n_workers)],
            "channel_depth": [self.c.channels[i].count for i in range(self.c.n_workers)],
            "readers": readers,
            "workers_alive": alive,
            "finished": bool(log_closed),
            "sim_generated": self.c.sim.generated if self.c.has_sim else 0,
            "ring_size": self.c.log.capacity,
            "bar_intervals_ns": [self.c.bars.intervals[i] for i in range(self.c.bars.n_intervals)],
        }

    def latency(self, str stage, bint window=False) -> LatencyHistogram:
        """Merged latency histogram of a worker stage: 'feed_to_ingest' (event
        time to engine receive) or 'ingest_to_processed'. window=True: the
        last seconds only; else since start."""
        cdef LatencyHistogram out = LatencyHistogram()
        cdef int32_t i
        if stage not in ("feed_to_ingest", "ingest_to_processed"):
            raise InvalidArgumentError(f"unknown stage {stage!r}")
        if not self.c.record_latency:
            return out
        for i in range(self.c.n_workers):
            out.merge(whist_snapshot(self.c.workers[i].lat_ingest if stage == "feed_to_ingest"
                                     else self.c.workers[i].lat_process, window))
        return out

    def symbol_result_counts(self, int32_t n) -> list:
        """Committed results per symbol id, for ids [0, n)."""
        pthread_mutex_lock(&self.c.log.lock)
        counts = [self.c.log.symbol_counts[i] for i in range(min(n, self.c.max_symbols))]
        pthread_mutex_unlock(&self.c.log.lock)
        return counts


# The reader's __dealloc__ leaves the core's log through self.core: the cycle
# collector must not clear that reference first.
@cython.no_gc_clear
cdef class CoreReader:
    """One reader of the result log: a cursor, a symbol filter and a policy."""
    # Its C attributes are declared in core/engine_handle.pxd.

    def __cinit__(self, Core core, int32_t policy, filter_ids, int64_t max_batch,
                  int64_t from_seq=-1, bint with_snapshot=False, int64_t block_deadline_ns=0,
                  bint reports=False):
        cdef int32_t i, sid
        if max_batch < 1:
            raise InvalidArgumentError(f"max_batch must be >= 1, got {max_batch}")
        if policy not in (POLICY_BLOCK, POLICY_SKIP, POLICY_DISCONNECT):
            raise InvalidArgumentError(f"unknown policy code {policy}")
        if block_deadline_ns < 0:
            raise InvalidArgumentError(f"block_deadline_ns must be >= 0, got {block_deadline_ns}")
        self.core = core
        memset(&self.rd, 0, sizeof(Reader))
        if reports:
            if core.c.venue == NULL:
                raise EngineStateError("this engine has no paper venue")
            self.log = &core.c.venue.log
        else:
            self.log = &core.c.log
        self.rd.policy = policy
        if policy == POLICY_BLOCK:
            self.rd.block_deadline_ns = block_deadline_ns
        self.max_batch = max_batch
        self.buf = <Result *>malloc(<size_t>max_batch * sizeof(Result))
        if self.buf == NULL:
            raise MemoryError()
        if core.c.record_latency:
            self.lat_send = whist_new()
            self.lat_age = whist_new()
            if self.lat_send == NULL or self.lat_age == NULL:
                raise MemoryError()
        if filter_ids is not None:
            ids = sorted(set(int(x) for x in filter_ids))
            self.rd.filter = <uint8_t *>calloc(self.log.max_symbols, 1)
            self.rd.filter_ids = <int32_t *>malloc(max(1, len(ids)) * sizeof(int32_t))
            if self.rd.filter == NULL or self.rd.filter_ids == NULL:
                raise MemoryError()
            for i, sid in enumerate(ids):
                if sid < 0 or sid >= core.c.max_symbols:
                    raise InvalidArgumentError(f"symbol id {sid} is out of range")
                self.rd.filter[sid] = 1
                self.rd.filter_ids[i] = sid
            self.rd.n_filter_ids = len(ids)
        if with_snapshot:
            return      # registered by snapshot_and_register()
        cdef int st
        cdef int64_t oldest = 0
        with nogil:
            st = log_add_reader(self.log, &self.rd, from_seq, &oldest)
        self._check_registration(st, oldest, from_seq)
        self.registered = True

    cdef int _check_registration(self, int st, int64_t oldest, int64_t from_seq) except -1:
        if st == ST_NO_MEMORY:
            raise TooManySubscribersError(
                f"the engine already has {self.log.max_readers} subscriptions; "
                "close some or raise max_subscribers")
        if st == ST_OUT_OF_RANGE:
            raise OutOfRangeError(
                f"from_seq {from_seq} is no longer held in memory (the oldest is {oldest}); a "
                "larger ring_size keeps more, and a journal keeps everything", oldest)
        return check_status(st, "subscribe")

    def snapshot_and_register(self, symbol_ids):
        """Take the newest result of each symbol and register this reader right
        after them, in one step: returns (head, rows, present) where the
        stream then starts exactly at seq head."""
        cdef int32_t[::1] ids = np.ascontiguousarray(symbol_ids, dtype=np.int32)
        cdef int32_t n = <int32_t>ids.shape[0]
        cdef int64_t head, oldest = 0
        rows = np.zeros(max(n, 1), dtype=RESULT_DTYPE)
        present = np.zeros(max(n, 1), dtype=np.uint8)
        cdef uint8_t[::1] pv = present
        cdef Result *out = <Result *>array_data(rows, RESULT_DTYPE)
        if self.registered:
            raise MDStreamError("this reader is already registered")
        for i in range(n):
            if ids[i] < 0 or ids[i] >= self.core.c.max_symbols:
                raise InvalidArgumentError(f"symbol id {ids[i]} is out of range")
        with nogil:
            head = log_snapshot(self.log, &ids[0] if n > 0 else NULL, n, out,
                                &pv[0], &self.rd, &oldest)
        if head < 0:
            self._check_registration(ST_NO_MEMORY, 0, -1)
        self.registered = True
        keep = present[:n].astype(bool)
        return head, rows[:n][keep], keep

    def __dealloc__(self):
        if self.registered:
            log_remove_reader(self.log, &self.rd)
        free(self.buf)
        free(self.lat_send)
        free(self.lat_age)
        free(self.rd.filter)
        free(self.rd.filter_ids)

    def close(self):
        """Leave the log; a read in progress in another thread returns at once."""
        if self.registered:
            self.registered = False
            with nogil:
                log_remove_reader(self.log, &self.rd)

    @property
    def closed(self) -> bool:
        return not self.registered

    def read(self, timeout=None, int64_t max_n=0, double linger=0.0, bint adaptive=False):
        """Read the next batch.

        linger (seconds): how long the batch may wait after its first result
        for more; with adaptive, it waits only while results pour in (the
        previous batch was large and the reader came straight back) and then
        until linger after the previous batch (see log_read).
        Returns (rows, gap): rows is a RESULT_DTYPE array (possibly empty when
        only a gap is reported) or None on timeout; gap is None or
        (from_seq, to_seq, missed). Raises EOFError when the stream has ended,
        SubscriptionClosedError when closed, SlowConsumerError when dropped.
        """
        cdef int64_t deadline = _deadline(timeout)
        cdef int64_t linger_ns = <int64_t>(linger * 1e9)
        cdef int64_t n = 0
        cdef int st
        if not self.registered:
            raise SubscriptionClosedError("the subscription is closed; open a new one with engine.subscribe()")
        if self.busy:
            raise MDStreamError("a subscription can be read by one thread at a time")
        if max_n <= 0 or max_n > self.max_batch:
            max_n = self.max_batch
        self.busy = True
        try:
            with nogil:
                st = log_read(self.log, &self.rd, self.buf, max_n, deadline,
                              linger_ns, True, &n, adaptive)
                if self.lat_send != NULL and n > 0:
                    self._record_latency(n)
        finally:
            self.busy = False
        if st == ST_TIMEOUT:
            return None, None
        if st == ST_CLOSED:
            if not self.registered:
                raise SubscriptionClosedError("the subscription was closed")
            raise EOFError("the data ended (or the engine stopped) and every result was delivered")
        if st == ST_SLOW_CONSUMER and self.rd.failed_deadline:
            raise SlowConsumerError(
                f"subscription held the engine back without reading for longer than its block "
                f"deadline of {format_duration_ns(self.rd.block_deadline_ns)} (policy 'block'): it "
                f"was {self.rd.failed_behind} results behind, a whole ring of "
                f"{self.log.capacity}, and was disconnected. Keep reading, or use "
                "policy='skip'.")
        if st == ST_SLOW_CONSUMER:
            raise SlowConsumerError(
                f"the subscription fell {self.rd.failed_behind} results behind, more than the "
                f"ring of {self.log.capacity} holds, and its policy is 'disconnect'. "
                "Consume faster, use policy 'skip' or 'block', or raise the engine's ring_size "
                "(mdstream serve --ring-size).")
        if st == ST_IO_ERROR:
            raise JournalUnavailableError.from_status(self.core.journal_status())
        check_status(st, "Subscription.read")
        rows = np.empty(n, dtype=RESULT_DTYPE)
        cdef unsigned char *dst
        if n > 0:
            dst = array_data(rows, RESULT_DTYPE)
            with nogil:     # up to ~750 KB: let other threads have the GIL meanwhile
                memcpy(dst, self.buf, <size_t>n * sizeof(Result))
        gap = None
        if self.rd.gap_pending:
            # Only this reader's own reads touch the gap fields: no lock needed.
            gap = (self.rd.gap_from, self.rd.gap_to, self.rd.gap_missed)
            self.rd.gap_pending = False
        return rows, gap

    cdef void _record_latency(self, int64_t n) noexcept nogil:
        cdef int64_t i
        cdef int64_t now = now_ns()
        cdef int64_t second = now // 1_000_000_000
        for i in range(n):
            if self.buf[i].tick.kind != KIND_BAR:
                whist_record(self.lat_send, now - self.buf[i].done_ns, second)
                whist_record(self.lat_age, now - self.buf[i].tick.ts_ns, second)

    def latency(self, str stage, bint window=False) -> LatencyHistogram:
        """This reader's latency histogram: 'processed_to_sent' or 'age_at_send'."""
        if stage == "processed_to_sent":
            return whist_snapshot(self.lat_send, window)
        if stage == "age_at_send":
            return whist_snapshot(self.lat_age, window)
        raise InvalidArgumentError(f"unknown stage {stage!r}")

    def counters(self) -> dict:
        pthread_mutex_lock(&self.log.lock)
        d = {
            "cursor": self.rd.cursor,
            "lag": max(0, self.log.visible - self.rd.cursor),
            "delivered": self.rd.delivered,
            "missed": self.rd.missed_total,
            "gaps": self.rd.gaps_total,
            "disconnected": bool(self.rd.failed),
        }
        pthread_mutex_unlock(&self.log.lock)
        return d
