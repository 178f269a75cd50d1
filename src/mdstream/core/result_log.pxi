# The result log: one sequenced ring of results that the workers append to and
# every reader (subscription, journal, ...) follows with its own cursor.
#
# Result seq s lives in slot s % capacity. Workers finish out of order across
# workers, so `head` is the first seq not yet written: every seq below it is
# readable. A writer may put s only when s < head + capacity (the slot's old
# occupant s - capacity is committed) and, if `block` readers exist, when
# s < slowest block cursor + capacity (the old occupant has been read).
#
# Readers copy outside the lock: a copy of [c, head) is valid unless a writer
# has meanwhile written some seq >= c + capacity, which `max_written` tells.
#
# With a journal the log is `gated`: subscribers see results only up to
# `visible`, which the journal writer advances once a result is in the
# journal, so no subscriber ever sees a result that a crash could take back.
# Without one, visible == head.
#
# A `block` reader may have a deadline (block_deadline_ns), a write deadline:
# a writer that has to wait for it notes when it first did (blocked_since);
# once that is longer ago than the deadline with no read by that reader in
# between, the writer fails the reader like a `disconnect` one (its next read
# gives ST_SLOW_CONSUMER) and goes on without it. Every read that moves the
# reader's cursor clears blocked_since: a reader slower than the writers
# still holds them back (that is `block`), a stalled one only for the
# deadline. Only a writer that must wait looks at the clock: the fast path is
# unchanged.
#
# Lock order: the log lock is a leaf like the channel locks; the GIL is never
# taken while it is held.

cdef int log_init(ResultLog *log, int64_t capacity, int32_t max_symbols,
                  int32_t max_readers) noexcept nogil:
    cdef int64_t i
    memset(log, 0, sizeof(ResultLog))
    log.ring = <Result *>malloc(<size_t>capacity * sizeof(Result))
    log.symbol_counts = <int64_t *>calloc(<size_t>max_symbols, sizeof(int64_t))
    log.readers = <Reader **>calloc(<size_t>max_readers, sizeof(Reader *))
    log.last_seq = <int64_t *>malloc(<size_t>max_symbols * sizeof(int64_t))
    log.last_evicted = <Result *>malloc(<size_t>max_symbols * sizeof(Result))
    if (log.ring == NULL or log.symbol_counts == NULL or log.readers == NULL
            or log.last_seq == NULL or log.last_evicted == NULL):
        free(log.ring); free(log.symbol_counts); free(log.readers)
        free(log.last_seq); free(log.last_evicted)
        log.ring = NULL
        return ST_NO_MEMORY
    for i in range(capacity):
        log.ring[i].tick.seq = -1
    for i in range(max_symbols):
        log.last_seq[i] = -1
    log.capacity = capacity
    log.mask = capacity - 1
    log.max_written = -1
    log.max_symbols = max_symbols
    log.order_sid = -1
    log.max_readers = max_readers
    pthread_mutex_init(&log.lock, NULL)
    pthread_cond_init(&log.readable, NULL)
    pthread_cond_init(&log.writable, NULL)
    return ST_OK


cdef void log_destroy(ResultLog *log) noexcept nogil:
    if log.ring == NULL:
        return
    pthread_mutex_destroy(&log.lock)
    pthread_cond_destroy(&log.readable)
    pthread_cond_destroy(&log.writable)
    free(log.ring); free(log.symbol_counts); free(log.readers)
    free(log.last_seq); free(log.last_evicted)
    log.ring = NULL


cdef void log_start_at(ResultLog *log, int64_t seq) noexcept nogil:
    """Start an empty log at seq (after a restart from a journal)."""
    pthread_mutex_lock(&log.lock)
    log.head = seq
    log.first_seq = seq
    log.visible = seq
    log.max_written = seq - 1
    pthread_mutex_unlock(&log.lock)


cdef inline int64_t log_oldest(ResultLog *log) noexcept nogil:
    """Oldest seq still readable from the ring (lock held): a slot is intact
    until a seq one capacity later is written; nothing before first_seq was
    ever in this ring."""
    cdef int64_t oldest = log.max_written - log.capacity + 1
    if oldest < log.first_seq:
        oldest = log.first_seq
    return oldest if oldest <= log.visible else log.visible


cdef inline int64_t reader_end(ResultLog *log, Reader *rd) noexcept nogil:
    return log.head if rd.ungated else log.visible


cdef void log_advance_visible(ResultLog *log, int64_t upto) noexcept nogil:
    """Make results below upto visible to subscribers (lock held)."""
    cdef const Result *slot
    if upto <= log.visible:
        return
    while log.visible < upto:
        slot = &log.ring[log.visible & log.mask]
        log.symbol_counts[slot.tick.symbol_id] += 1
        log.last_seq[slot.tick.symbol_id] = log.visible
        log.visible += 1
    pthread_cond_broadcast(&log.readable)
    if log.gated and log.writers_waiting > 0:
        pthread_cond_broadcast(&log.writable)   # the write limit follows visible


cdef void log_close(ResultLog *log) noexcept nogil:
    pthread_mutex_lock(&log.lock)
    log.closed = True
    pthread_cond_broadcast(&log.readable)
    pthread_cond_broadcast(&log.writable)
    pthread_mutex_unlock(&log.lock)


cdef inline int64_t matching_committed(ResultLog *log, Reader *rd) noexcept nogil:
    """Visible results that match the reader's filter (lock held)."""
    cdef int64_t total = 0
    cdef int32_t i
    if rd.filter == NULL:
        if log.order_sid >= 0 and not rd.with_orders:
            return log.visible - log.symbol_counts[log.order_sid]
        return log.visible
    for i in range(rd.n_filter_ids):
        total += log.symbol_counts[rd.filter_ids[i]]
    return total


cdef inline bint reader_wants(ResultLog *log, Reader *rd, int32_t symbol_id) noexcept nogil:
    """Does a result of this symbol pass the reader's filter? (Order requests
    only go to readers with_orders.)"""
    if symbol_id == log.order_sid and log.order_sid >= 0:
        return rd.with_orders
    return rd.filter == NULL or rd.filter[symbol_id] != 0


cdef inline int64_t count_matching(ResultLog *log, Reader *rd, int64_t start,
                                   int64_t end) noexcept nogil:
    """Results of seq [start, end) in the ring that match the reader's filter (lock held)."""
    cdef int64_t s, k = 0
    if rd.filter == NULL and (log.order_sid < 0 or rd.with_orders):
        return end - start
    for s in range(start, end):
        if reader_wants(log, rd, log.ring[s & log.mask].tick.symbol_id):
            k += 1
    return k


cdef inline void join_at_end(ResultLog *log, Reader *rd) noexcept nogil:
    """Add a reader at the end of what it may read (lock held, room checked)."""
    rd.cursor = reader_end(log, rd)
    rd.matched_base = matching_committed(log, rd)
    log.readers[log.n_readers] = rd
    log.n_readers += 1


cdef int log_add_reader(ResultLog *log, Reader *rd, int64_t from_seq,
                        int64_t *oldest) noexcept nogil:
    """Register a reader starting at from_seq (-1: at the head, the next result).

    A from_seq still held by the ring starts there; one beyond the head waits
    for it. One the ring no longer holds gives ST_OUT_OF_RANGE, with *oldest
    set to the oldest seq the ring holds (older ones must come from the journal).
    """
    cdef int st = ST_OK
    pthread_mutex_lock(&log.lock)
    oldest[0] = log_oldest(log)
    if log.n_readers == log.max_readers:
        st = ST_NO_MEMORY
    elif from_seq >= 0 and from_seq < oldest[0]:
        st = ST_OUT_OF_RANGE
    else:
        join_at_end(log, rd)
        if from_seq >= 0 and from_seq < rd.cursor:
            rd.matched_base -= count_matching(log, rd, from_seq, rd.cursor)
            rd.cursor = from_seq
        elif from_seq > rd.cursor:
            rd.skip_below = from_seq
    pthread_mutex_unlock(&log.lock)
    return st


cdef void log_remove_reader(ResultLog *log, Reader *rd) noexcept nogil:
    cdef int32_t i
    pthread_mutex_lock(&log.lock)
    rd.closed = True
    for i in range(log.n_readers):
        if log.readers[i] == rd:
            log.readers[i] = log.readers[log.n_readers - 1]
            log.n_readers -= 1
            break
    # A departing block reader may be what writers were waiting for.
    pthread_cond_broadcast(&log.writable)
    pthread_cond_broadcast(&log.readable)
    pthread_mutex_unlock(&log.lock)


cdef inline int64_t write_limit(ResultLog *log) noexcept nogil:
    """First seq a writer may not write yet (lock held)."""
    cdef int64_t limit = log.head + log.capacity
    cdef int32_t i
    cdef Reader *rd
    if log.gated and log.visible + log.capacity < limit:
        limit = log.visible + log.capacity     # keep what snapshots may still need
    for i in range(log.n_readers):
        rd = log.readers[i]
        if rd.policy == POLICY_BLOCK and rd.cursor + log.capacity < limit and not rd.failed:
            limit = rd.cursor + log.capacity
    return limit


cdef bint fail_overdue_blockers(ResultLog *log, int64_t seq, int64_t *wake) noexcept nogil:
    """A writer must wait to write seq (lock held): start the clock of each
    block reader with a deadline that holds it back, and fail those past
    their deadline. Returns True if one was failed (the limit moved); else
    sets *wake to the earliest deadline still running (-1: none)."""
    cdef int32_t i
    cdef int64_t now = 0
    cdef int64_t due
    cdef bint failed = False
    cdef Reader *rd
    wake[0] = -1
    for i in range(log.n_readers):
        rd = log.readers[i]
        if (rd.policy != POLICY_BLOCK or rd.failed or rd.block_deadline_ns <= 0
                or rd.cursor + log.capacity > seq):
            continue
        if now == 0:
            now = mono_ns()
        if rd.blocked_since == 0:
            rd.blocked_since = now
        due = rd.blocked_since + rd.block_deadline_ns
        if now >= due:
            rd.failed = True
            rd.failed_deadline = True
            rd.failed_behind = log.max_written - rd.cursor + 1
            failed = True
        elif wake[0] < 0 or due < wake[0]:
            wake[0] = due
    if failed:
        pthread_cond_broadcast(&log.readable)   # a failed reader waiting to linger wakes
    return failed


cdef int log_write(ResultLog *log, const Result *results, int64_t n) noexcept nogil:
    """Append n results, in ascending seq order, waiting for room as needed.

    Called by worker threads (never by Python threads). Returns ST_CLOSED if
    the log is closed before all are written.
    """
    cdef int64_t i = 0
    cdef int64_t limit, seq, old_head, wake
    cdef Result *slot
    cdef int st = ST_OK
    pthread_mutex_lock(&log.lock)
    while i < n:
        if log.closed:
            st = ST_CLOSED
            break
        limit = write_limit(log)
        if results[i].tick.seq >= limit:
            if fail_overdue_blockers(log, results[i].tick.seq, &wake):
                continue        # a block reader past its deadline no longer holds us
            log.writers_waiting += 1
            timed_wait_slice(&log.writable, &log.lock, wake)
            log.writers_waiting -= 1
            continue
        while i < n and results[i].tick.seq < limit:
            seq = results[i].tick.seq
            slot = &log.ring[seq & log.mask]
            # Overwriting a symbol's newest result: keep a copy for snapshots.
            if slot.tick.seq >= 0 and log.last_seq[slot.tick.symbol_id] == slot.tick.seq:
                log.last_evicted[slot.tick.symbol_id] = slot[0]
            slot[0] = results[i]
            if seq > log.max_written:
                log.max_written = seq
            i += 1
        old_head = log.head
        while log.ring[log.head & log.mask].tick.seq == log.head:
            log.head += 1
        if log.head != old_head:
            if log.gated:
                pthread_cond_broadcast(&log.readable)   # wakes the journal writer
            else:
                log_advance_visible(log, log.head)
            # Another worker may be waiting for the head to move (s < head + capacity).
            if log.writers_waiting > 0:
                pthread_cond_broadcast(&log.writable)
    pthread_mutex_unlock(&log.lock)
    return st


cdef inline void note_gap(ResultLog *log, Reader *rd) noexcept nogil:
    """Skip policy: jump a reader that fell a ring behind to the head (lock held)."""
    cdef int64_t matched_before = rd.matched_base + rd.delivered
    cdef int64_t missed = matching_committed(log, rd) - matched_before
    if not rd.gap_pending:
        rd.gap_pending = True
        rd.gap_from = rd.cursor
        rd.gap_missed = 0
    rd.gap_to = log.visible
    rd.gap_missed += missed
    rd.missed_total += missed
    rd.gaps_total += 1
    # Count the skipped results as accounted for, so the next gap counts from here.
    rd.matched_base += missed
    rd.cursor = log.visible


cdef inline int64_t copy_matching(ResultLog *log, Reader *rd, int64_t start, int64_t end,
                                  Result *out, int64_t room, int64_t *copied) noexcept nogil:
    """Copy results of seq [start, end) that pass the filter, at most room of them.

    Runs without the log lock; returns the seq to continue from.
    """
    cdef int64_t s = start
    cdef int64_t k = 0
    cdef int64_t run, j, kept
    cdef const Result *slot
    if rd.skip_below > s:
        # Resuming ahead of the head: pass over what comes before, as read.
        while s < end and s < rd.skip_below:
            if reader_wants(log, rd, log.ring[s & log.mask].tick.symbol_id):
                rd.matched_base += 1
            s += 1
    if rd.filter == NULL:
        # No filter: copy contiguous runs of the ring at once.
        while s < end and k < room:
            run = end - s
            if run > room - k:
                run = room - k
            if run > log.capacity - (s & log.mask):
                run = log.capacity - (s & log.mask)
            memcpy(&out[k], &log.ring[s & log.mask], <size_t>run * sizeof(Result))
            s += run
            if log.order_sid >= 0 and not rd.with_orders:
                # Order requests are not results: close them up (they are rare).
                kept = k
                for j in range(k, k + run):
                    if out[j].tick.symbol_id != log.order_sid:
                        if kept != j:
                            out[kept] = out[j]
                        kept += 1
                k = kept
            else:
                k += run
    else:
        while s < end and k < room:
            slot = &log.ring[s & log.mask]
            if reader_wants(log, rd, slot.tick.symbol_id):
                out[k] = slot[0]
                k += 1
            s += 1
    copied[0] = k
    return s


# Adaptive linger (Nagle's algorithm with a cork): a read that has results
# hands them out at once when the reader's previous batch was small (fewer
# than ADAPT_SMALL_BATCH results: ticks trickle in) or when the reader found
# the log drained and waited, its previous batch ending at least
# ADAPT_QUIET_NS ago; it lingers only while results pour in (the previous
# batch was large, and results were already waiting when the reader came back
# or it came straight back): a reader's own time between reads (a Python
# reader takes 0.1-2 ms to hand on a batch) never stops it lingering for
# results that were waiting for it. It lingers until linger_ns after the
# previous batch, so a
# pouring stream sends at most one batch per linger_ns and no result waits
# longer than linger_ns. 64 results: a frame's fixed cost (one gRPC message,
# ~20-40 us in grpcio) is about that of encoding and decoding 64 ticks.
cdef enum:
    ADAPT_SMALL_BATCH = 64
    ADAPT_QUIET_NS = 200000


cdef int log_read(ResultLog *log, Reader *rd, Result *out, int64_t max_n, int64_t deadline,
                  int64_t linger_ns, bint interruptible, int64_t *popped,
                  bint adaptive) noexcept nogil:
    """Read up to max_n results for a reader.

    Waits until at least one result (or a gap notice) is there, then, for up
    to linger_ns more, for the batch to fill (adaptive: only while results
    pour in, see ADAPT_SMALL_BATCH). Returns ST_OK with *popped set
    (0 only with a gap notice pending), ST_TIMEOUT, ST_CLOSED once the log is
    closed and drained or the reader closed, ST_SLOW_CONSUMER when a
    `disconnect` reader fell a whole ring behind, or ST_IO_ERROR when a gated
    reader has read all that is visible while the journal cannot be written.
    """
    cdef int64_t n = 0
    cdef int64_t start, end, nxt, copied
    cdef int64_t linger_deadline = -1
    cdef int64_t now
    cdef bint waited = False        # the log was drained for this reader: it waited
    cdef int st = ST_OK
    pthread_mutex_lock(&log.lock)
    while True:
        if rd.closed:
            st = ST_CLOSED
            break
        if rd.failed:
            st = ST_SLOW_CONSUMER if n == 0 else ST_OK
            break
        if rd.policy != POLICY_BLOCK and log.max_written >= rd.cursor + log.capacity:
            if rd.policy == POLICY_SKIP:
                note_gap(log, rd)
            else:
                rd.failed = True
                rd.failed_behind = log.max_written - rd.cursor
                continue
        if rd.cursor < reader_end(log, rd) and n < max_n:
            start = rd.cursor
            end = reader_end(log, rd)
            pthread_mutex_unlock(&log.lock)
            nxt = copy_matching(log, rd, start, end, &out[n], max_n - n, &copied)
            pthread_mutex_lock(&log.lock)
            if ((rd.policy != POLICY_BLOCK or rd.failed)
                    and log.max_written >= start + log.capacity):
                continue    # overwritten while copying: discard, handle the lag above
            rd.cursor = nxt
            rd.delivered += copied
            n += copied
            if rd.policy == POLICY_BLOCK:
                rd.blocked_since = 0            # it read: its deadline's clock starts over
                if log.writers_waiting > 0:
                    pthread_cond_broadcast(&log.writable)
        if rd.gap_pending or n >= max_n:
            break
        if n > 0:
            if linger_ns <= 0:
                break
            if linger_deadline < 0:
                if adaptive:
                    now = mono_ns()
                    if rd.last_n < ADAPT_SMALL_BATCH or (
                            waited and now - rd.last_return_ns >= ADAPT_QUIET_NS):
                        break           # trickling in, or the log was drained: send at once
                    linger_deadline = rd.last_return_ns + linger_ns
                else:
                    linger_deadline = mono_ns() + linger_ns
                if deadline >= 0 and deadline < linger_deadline:
                    linger_deadline = deadline
            if log.closed:
                break
            # Not interruptible: results already taken must be handed out, and
            # the linger is short anyway.
            if wait_on(&log.readable, &log.lock, linger_deadline, False) != ST_OK:
                break
            continue
        if (log.gate_error != 0 and not rd.ungated and log.gated
                and rd.cursor >= reader_end(log, rd)):
            st = ST_IO_ERROR        # the journal cannot be written: nothing more comes for now
            break
        if (log.closed and rd.cursor >= reader_end(log, rd)
                and (rd.ungated or not log.gated or log.gate_done)):
            st = ST_CLOSED
            break
        if rd.cursor < reader_end(log, rd):
            continue        # filtered out so far but more to scan
        waited = True
        st = wait_on(&log.readable, &log.lock, deadline, interruptible)
        if st != ST_OK:
            break
    pthread_mutex_unlock(&log.lock)
    if adaptive and n > 0:
        rd.last_return_ns = mono_ns()
        rd.last_n = n
    popped[0] = n
    return st


cdef int64_t log_snapshot(ResultLog *log, const int32_t *symbol_ids, int32_t n,
                          Result *out, uint8_t *present, Reader *fence_reader,
                          int64_t *oldest) noexcept nogil:
    """The newest committed result of each symbol, as of one instant.

    Returns the head at that instant: the snapshot holds every result below
    it. If fence_reader is given, it is registered in the same critical
    section at that head, so the stream it reads starts exactly after the
    snapshot. present[i] is 0 for a symbol with no result yet.
    Returns -1 if the reader table is full.
    """
    cdef int32_t i, sid
    cdef int64_t seq, head
    pthread_mutex_lock(&log.lock)
    head = log.visible
    if fence_reader != NULL:
        if log.n_readers == log.max_readers:
            pthread_mutex_unlock(&log.lock)
            return -1
        join_at_end(log, fence_reader)      # at head: the stream starts right after the snapshot
    for i in range(n):
        sid = symbol_ids[i]
        seq = log.last_seq[sid]
        present[i] = seq >= 0
        if seq < 0:
            continue
        if log.ring[seq & log.mask].tick.seq == seq:
            out[i] = log.ring[seq & log.mask]
        else:
            out[i] = log.last_evicted[sid]
    pthread_mutex_unlock(&log.lock)
    return head
