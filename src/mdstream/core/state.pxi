# The analytics state as a thing of its own: rebuilt by replaying journaled
# results, and saved to a state file so that a restart after the journal's
# retention removed old segments still continues exactly.
#
# A state file (state-NNNNNNNNNNNNNNNNNNNN.mds, named after the seq it is as
# of) holds a header, the SymbolState of every symbol id, and the bar clock.

cdef void state_replay(SymbolState *states, BarClock *bc, double ema_alpha,
                       const Result *rows, int64_t n) noexcept nogil:
    """Fold journaled results (in seq order) into the state and the bar clock,
    exactly as processing them the first time did."""
    cdef int64_t i
    cdef Result scratch
    cdef Tick t
    for i in range(n):
        t = rows[i].tick
        if t.kind == KIND_BAR and rows[i].trade_count == 0:
            continue        # an input bar (pass_bar): it changed no state and no clock
        if t.kind == KIND_ORDER:
            continue        # an order request: the paper venue's, not the analytics'
        if t.kind == KIND_TRADE:
            t.interval_ns = bar_late_mask(bc, &t)     # what ingest told the worker
        analytics_update(&states[t.symbol_id], &t, &scratch, ema_alpha,
                         bc.intervals, bc.n_intervals)
        bar_clock_replay(bc, &t)


cdef size_t state_body_size(int32_t max_symbols) noexcept nogil:
    return (<size_t>max_symbols * sizeof(SymbolState)
            + <size_t>MAX_BAR_INTERVALS * max_symbols * (sizeof(int32_t) + 1))


cdef int state_save(const char *path, const char *tmp_path, const SymbolState *states,
                    const BarClock *bc, int64_t next_seq) noexcept nogil:
    """Write the state file atomically (temp file, fsync, rename); errno or 0."""
    cdef StateHeader h
    cdef size_t n_states = <size_t>bc.max_symbols * sizeof(SymbolState)
    cdef size_t n_ids = <size_t>MAX_BAR_INTERVALS * bc.max_symbols * sizeof(int32_t)
    cdef size_t n_flags = <size_t>MAX_BAR_INTERVALS * bc.max_symbols
    cdef uint32_t crc
    cdef int fd, err = 0
    cdef int32_t i
    memset(&h, 0, sizeof(h))
    h.magic = STATE_MAGIC
    h.version = STATE_VERSION
    h.next_seq = next_seq
    h.state_size = sizeof(SymbolState)
    h.max_symbols = bc.max_symbols
    h.n_intervals = bc.n_intervals
    for i in range(MAX_BAR_INTERVALS):
        h.intervals[i] = bc.intervals[i]
        h.open_start[i] = bc.open_start[i]
        h.traded_n[i] = bc.traded_n[i]
    crc = crc32c_update(0, <const unsigned char *>states, n_states)
    crc = crc32c_update(crc, <const unsigned char *>bc.traded_ids, n_ids)
    crc = crc32c_update(crc, bc.traded, n_flags)
    h.body_crc = crc
    h.header_crc = crc32c_update(0, <const unsigned char *>&h, sizeof(StateHeader) - 4)
    fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if fd < 0:
        return errno
    err = write_all(fd, <const unsigned char *>&h, sizeof(h))
    if err == 0:
        err = write_all(fd, <const unsigned char *>states, n_states)
    if err == 0:
        err = write_all(fd, <const unsigned char *>bc.traded_ids, n_ids)
    if err == 0:
        err = write_all(fd, bc.traded, n_flags)
    if err == 0 and fsync(fd) != 0:
        err = errno
    close(fd)
    if err == 0 and rename(tmp_path, path) != 0:
        err = errno
    return err
