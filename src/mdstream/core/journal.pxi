# The journal: every result, in sequence order, appended to segment files by
# its own thread, which reads the result log like a subscriber (never on the
# workers' path). Subscribers of a journaled engine see a result only once it
# is in the journal (the log's gate), so a crash never takes back a result
# anyone has seen.
#
# A segment is named after its first seq (00000000000000001234.mdj) and holds
# blocks: a 32-byte header (magic, count, first seq, record size, CRC-32C of
# the payload, CRC-32C of the header) and `count` Result records. Blocks are
# written with one write() each; a crash can leave only a prefix of the last
# one (a torn tail), which recovery finds and cuts.
#
# When a write, an fsync, or the opening of a file fails (a full file system,
# a directory made read-only or deleted, no file descriptor left), the writer
# records the errno and the file, and gated readers that have read all that
# is visible fail with ST_IO_ERROR. With `retry` it cuts the failed block off
# the segment (ftruncate to its complete bytes) and tries again every
# retry_ns, and carries on where it stopped once a write succeeds: nothing is
# lost, nothing written twice. Without, it stops for good (ingest too).

cdef int write_all(int fd, const unsigned char *p, size_t n) noexcept nogil:
    cdef ssize_t k
    while n > 0:
        k = write(fd, p, n)
        if k < 0:
            if errno == EINTR:
                continue
            return errno
        p += k
        n -= <size_t>k
    return 0


cdef inline void journal_op(JournalWriter *jw, const char *path) noexcept nogil:
    """The file the next operation is about (named if it fails)."""
    snprintf(jw.op_path, sizeof(jw.op_path), "%s", path)


cdef int journal_sync(JournalWriter *jw) noexcept nogil:
    if fsync(jw.fd) != 0:
        return errno
    jw.unsynced = False
    jw.last_fsync_ns = mono_ns()
    pthread_mutex_lock(&jw.lock)
    jw.fsyncs += 1
    pthread_mutex_unlock(&jw.lock)
    return 0


cdef int journal_save_state(JournalWriter *jw, int64_t seq) noexcept nogil:
    cdef char path[4096]
    cdef char tmp[4096]
    cdef int err
    snprintf(path, sizeof(path), "%s/state-%020lld.mds", jw.dir, <long long>seq)
    snprintf(tmp, sizeof(tmp), "%s/state.tmp", jw.dir)
    journal_op(jw, tmp)
    err = state_save(path, tmp, jw.shadow, &jw.shadow_bars, seq)
    if err == 0:
        pthread_mutex_lock(&jw.lock)
        jw.state_files += 1
        pthread_mutex_unlock(&jw.lock)
    return err


cdef int journal_open_segment(JournalWriter *jw, int64_t first_seq) noexcept nogil:
    cdef char path[4096]
    cdef int err = 0
    if jw.fd >= 0:
        if jw.durability != DUR_WRITE and jw.unsynced:
            err = journal_sync(jw)
        close(jw.fd)
        jw.fd = -1
        if err != 0:
            return err
    # The state as of the segment's first seq: what a restart needs once
    # retention has removed the segments before this one.
    err = journal_save_state(jw, first_seq)
    if err != 0:
        return err
    snprintf(path, sizeof(path), "%s/%020lld.mdj", jw.dir, <long long>first_seq)
    journal_op(jw, path)
    jw.fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    if jw.fd < 0:
        return errno
    pthread_mutex_lock(&jw.lock)
    jw.active_first_seq = first_seq
    jw.active_bytes = 0
    pthread_mutex_unlock(&jw.lock)
    return 0


cdef int journal_append(JournalWriter *jw, int64_t n) noexcept nogil:
    """Write the block of n results staged in jw.block; returns errno or 0."""
    cdef BlockHeader *h = <BlockHeader *>jw.block
    cdef const Result *first = <const Result *>(jw.block + JOURNAL_HEADER_SIZE)
    cdef size_t size = JOURNAL_HEADER_SIZE + <size_t>n * sizeof(Result)
    cdef int err
    if jw.fd < 0 or jw.active_bytes >= jw.roll_bytes:
        err = journal_open_segment(jw, first.tick.seq)
        if err != 0:
            return err
    h.magic = JOURNAL_MAGIC
    h.count = <uint32_t>n
    h.first_seq = first.tick.seq
    h.record_size = sizeof(Result)
    h.payload_crc = crc32c_update(0, jw.block + JOURNAL_HEADER_SIZE, size - JOURNAL_HEADER_SIZE)
    h.flags = 0
    h.header_crc = crc32c_update(0, jw.block, JOURNAL_HEADER_SIZE - 4)
    # jw.op_path names the active segment (since journal_open_segment).
    err = write_all(jw.fd, jw.block, size)
    if err != 0:
        return err
    jw.unsynced = True
    if jw.durability == DUR_FSYNC or (
            jw.durability == DUR_INTERVAL and mono_ns() - jw.last_fsync_ns >= jw.fsync_interval_ns):
        err = journal_sync(jw)
        if err != 0:
            return err
    pthread_mutex_lock(&jw.lock)
    jw.written_seq = first.tick.seq + n
    jw.active_bytes += size
    jw.blocks += 1
    jw.bytes += size
    pthread_mutex_unlock(&jw.lock)
    return 0


cdef bint journal_failed(JournalWriter *jw, int err) noexcept nogil:
    """An operation failed with err: record it, fail the gated readers that
    wait, and with `retry` wait retry_ns. Returns True to try again, False to
    give up (no retry, or the log closed: the engine stops)."""
    cdef ResultLog *log = &jw.core.log
    cdef int64_t until
    cdef bint closed
    pthread_mutex_lock(&jw.lock)
    if jw.error == 0:
        jw.failures += 1
    jw.error = err
    jw.last_error = err
    snprintf(jw.error_path, sizeof(jw.error_path), "%s", jw.op_path)
    pthread_mutex_unlock(&jw.lock)
    pthread_mutex_lock(&log.lock)
    log.gate_error = err
    pthread_cond_broadcast(&log.readable)
    closed = log.closed
    pthread_mutex_unlock(&log.lock)
    if not jw.retry or closed:
        return False
    while True:
        until = mono_ns() + jw.retry_ns
        while mono_ns() < until:
            sleep_ns(10_000_000)
            pthread_mutex_lock(&log.lock)
            closed = log.closed
            pthread_mutex_unlock(&log.lock)
            if closed:
                return False
        # Cut what a failed write may have left of the block off the segment,
        # so that the block is written again whole, right after the last one.
        if jw.fd < 0 or ftruncate(jw.fd, jw.active_bytes) == 0:
            return True
        pthread_mutex_lock(&jw.lock)
        jw.error = errno
        jw.last_error = errno
        pthread_mutex_unlock(&jw.lock)


cdef void journal_recovered(JournalWriter *jw) noexcept nogil:
    """A write succeeded after failures: readers may wait again."""
    cdef ResultLog *log = &jw.core.log
    pthread_mutex_lock(&jw.lock)
    jw.error = 0
    jw.recoveries += 1
    pthread_mutex_unlock(&jw.lock)
    pthread_mutex_lock(&log.lock)
    log.gate_error = 0
    pthread_mutex_unlock(&log.lock)


cdef void *journal_main(void *arg) noexcept nogil:
    cdef JournalWriter *jw = <JournalWriter *>arg
    cdef EngineCore *core = jw.core
    cdef ResultLog *log = &core.log
    cdef int64_t n, deadline
    cdef int st, err = 0
    cdef bint failing
    while True:
        deadline = mono_ns() + 100_000_000
        if jw.durability == DUR_INTERVAL and jw.unsynced:
            deadline = jw.last_fsync_ns + jw.fsync_interval_ns
        st = log_read(log, &jw.rd, <Result *>(jw.block + JOURNAL_HEADER_SIZE),
                      JOURNAL_BLOCK_MAX, deadline, 0, False, &n, False)
        if st == ST_CLOSED:
            break
        failing = False
        if st == ST_TIMEOUT or n == 0:
            if jw.durability == DUR_INTERVAL and jw.unsynced:
                err = journal_sync(jw)
                while err != 0:
                    failing = True
                    if not journal_failed(jw, err):
                        break
                    err = journal_sync(jw)
                if err != 0:
                    break
                if failing:
                    journal_recovered(jw)
            continue
        err = journal_append(jw, n)
        while err != 0:
            failing = True
            if not journal_failed(jw, err):
                break
            err = journal_append(jw, n)
        if err != 0:
            break
        if failing:
            journal_recovered(jw)
        state_replay(jw.shadow, &jw.shadow_bars, jw.ema_alpha,
                     <Result *>(jw.block + JOURNAL_HEADER_SIZE), n)
        pthread_mutex_lock(&log.lock)
        log_advance_visible(log, jw.written_seq)
        pthread_mutex_unlock(&log.lock)
    if err == 0 and jw.fd >= 0 and jw.unsynced:
        err = journal_sync(jw)           # a clean stop leaves everything on disk
        if err != 0:
            journal_failed(jw, err)
    if jw.fd >= 0:
        close(jw.fd)
        jw.fd = -1
    if err != 0:
        # Without a journal nothing more may be published: stop taking ticks.
        core_abort_ingest(core)
    log_remove_reader(log, &jw.rd)
    pthread_mutex_lock(&log.lock)
    log.gate_done = True
    pthread_cond_broadcast(&log.readable)
    pthread_cond_broadcast(&log.writable)
    pthread_mutex_unlock(&log.lock)
    return NULL


cdef int journal_init(JournalWriter *jw, EngineCore *c, const char *dir, int64_t roll_bytes,
                      int durability, int64_t fsync_interval_ns, bint retry,
                      int64_t retry_ns) noexcept nogil:
    cdef int st
    memset(jw, 0, sizeof(JournalWriter))
    jw.shadow = <SymbolState *>malloc(<size_t>c.max_symbols * sizeof(SymbolState))
    if jw.shadow == NULL:
        return ST_NO_MEMORY
    st = bar_clock_init(&jw.shadow_bars, c.bars.intervals, c.bars.n_intervals, c.max_symbols)
    if st != ST_OK:
        return st
    jw.ema_alpha = c.ema_alpha
    jw.core = c
    jw.fd = -1
    snprintf(jw.dir, sizeof(jw.dir), "%s", dir)
    jw.roll_bytes = roll_bytes
    jw.durability = durability
    jw.fsync_interval_ns = fsync_interval_ns
    jw.retry = retry
    jw.retry_ns = retry_ns
    jw.block = <unsigned char *>malloc(JOURNAL_HEADER_SIZE + JOURNAL_BLOCK_MAX * sizeof(Result))
    if jw.block == NULL:
        return ST_NO_MEMORY
    jw.rd.policy = POLICY_BLOCK
    jw.rd.ungated = True
    jw.rd.with_orders = True    # order requests are input: a restart replays them
    pthread_mutex_init(&jw.lock, NULL)
    return ST_OK


cdef int journal_start(JournalWriter *jw) noexcept nogil:
    """Join the log at its start and begin writing (before any result exists)."""
    cdef EngineCore *c = jw.core
    cdef int64_t oldest
    cdef int32_t i
    cdef int st = log_add_reader(&c.log, &jw.rd, -1, &oldest)
    if st != ST_OK:
        return st
    # The shadow state starts as the engine's (fresh, or restored from the journal).
    memcpy(jw.shadow, c.states, <size_t>c.max_symbols * sizeof(SymbolState))
    memcpy(jw.shadow_bars.traded, c.bars.traded, <size_t>MAX_BAR_INTERVALS * c.max_symbols)
    memcpy(jw.shadow_bars.traded_ids, c.bars.traded_ids,
           <size_t>MAX_BAR_INTERVALS * c.max_symbols * sizeof(int32_t))
    for i in range(MAX_BAR_INTERVALS):
        jw.shadow_bars.open_start[i] = c.bars.open_start[i]
        jw.shadow_bars.traded_n[i] = c.bars.traded_n[i]
    jw.written_seq = jw.rd.cursor
    jw.active_first_seq = jw.rd.cursor
    jw.last_fsync_ns = mono_ns()
    if pthread_create(&jw.thread, NULL, journal_main, jw) != 0:
        return ST_THREAD_ERROR
    jw.running = True
    return ST_OK


cdef void journal_destroy(JournalWriter *jw) noexcept nogil:
    if jw.block == NULL:
        return
    pthread_mutex_destroy(&jw.lock)
    free(jw.block)
    free(jw.shadow)
    bar_clock_destroy(&jw.shadow_bars)
    jw.block = NULL


cdef ssize_t read_full(int fd, unsigned char *p, size_t n) noexcept nogil:
    """Read up to n bytes (fewer only at end of file); -1 on error."""
    cdef ssize_t k
    cdef size_t got = 0
    while got < n:
        k = read(fd, p + got, n - got)
        if k < 0:
            if errno == EINTR:
                continue
            return -1
        if k == 0:
            break
        got += <size_t>k
    return <ssize_t>got


cdef class SegmentScanner:
    """Reads the blocks of one journal segment in order, checking every one.

    next_block() returns (first_seq, rows) for each whole, intact block and
    None at the end (or at `limit` bytes: the complete part of a segment still
    being written). A damaged block raises JournalCorruptError with the file,
    the offset and whether it is a torn tail (a prefix of a block at the end
    of the file, as a crash mid-write leaves) or damage (never served).
    """
    # Its C attributes are declared in core/journal.pxd.

    def __cinit__(self, path, int64_t expected_first_seq=-1, int64_t limit=-1):
        self.fd = -1
        self.path = str(path)
        self.offset = 0
        self.expected_seq = expected_first_seq
        self.limit = limit
        cdef bytes p = self.path.encode()
        self.fd = open(p, O_RDONLY)
        if self.fd < 0:
            raise FileNotFoundError(errno, f"cannot open journal segment {self.path}")

    def __dealloc__(self):
        if self.fd >= 0:
            close(self.fd)

    def close(self):
        if self.fd >= 0:
            close(self.fd)
            self.fd = -1

    cdef _damage(self, str reason, bint torn):
        raise JournalCorruptError(self.path, self.offset, reason, torn)

    def next_block(self):
        cdef BlockHeader h
        cdef ssize_t k
        cdef size_t size
        cdef uint32_t crc
        cdef unsigned char *dst
        if self.fd < 0:
            raise ValueError("the scanner is closed")
        if self.limit >= 0 and self.offset >= self.limit:
            return None
        with nogil:
            k = read_full(self.fd, <unsigned char *>&h, JOURNAL_HEADER_SIZE)
        if k < 0:
            raise OSError(errno, f"cannot read {self.path}")
        if k == 0:
            return None
        if k < JOURNAL_HEADER_SIZE:
            self._damage(f"block header cut short ({k} of {JOURNAL_HEADER_SIZE} bytes)", True)
        if h.magic == 0 and h.count == 0 and h.header_crc == 0 and h.first_seq == 0:
            self._damage("zero-filled bytes where a block should start", True)
        if h.magic != JOURNAL_MAGIC or h.header_crc != crc32c_update(0, <unsigned char *>&h, JOURNAL_HEADER_SIZE - 4):
            self._damage("block header fails its checksum", False)
        if h.record_size != sizeof(Result):
            self._damage(f"records of {h.record_size} bytes; this version reads {sizeof(Result)}", False)
        if h.count == 0 or h.count > JOURNAL_BLOCK_MAX:
            self._damage(f"block of {h.count} records", False)
        if self.expected_seq >= 0 and h.first_seq != self.expected_seq:
            self._damage(f"sequence jumps from {self.expected_seq} to {h.first_seq}", False)
        rows = np.empty(h.count, dtype=RESULT_DTYPE)
        dst = array_data(rows, RESULT_DTYPE)
        size = <size_t>h.count * sizeof(Result)
        with nogil:
            k = read_full(self.fd, dst, size)
            crc = crc32c_update(0, dst, <size_t>k) if k > 0 else 0
        if k < 0:
            raise OSError(errno, f"cannot read {self.path}")
        if <size_t>k < size:
            self._damage(f"block of {h.count} records cut short ({k} of {size} bytes)", True)
        if crc != h.payload_crc:
            self._damage("block payload fails its checksum", False)
        self.offset += JOURNAL_HEADER_SIZE + <int64_t>size
        self.expected_seq = h.first_seq + h.count
        return h.first_seq, rows
