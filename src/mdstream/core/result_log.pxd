# The result log: the sequenced ring of results and its readers (result_log.pxi).

cdef enum Policy:
    POLICY_BLOCK = 0
    POLICY_SKIP = 1
    POLICY_DISCONNECT = 2

ctypedef struct Reader:
    int64_t cursor            # next seq to look at
    int32_t policy
    uint8_t *filter           # NULL: every symbol; else filter[symbol_id] != 0
    int32_t *filter_ids       # the same filter as a list, to count gaps exactly
    int32_t n_filter_ids
    bint closed               # closed by its owner
    bint failed               # disconnected for falling behind
    int64_t failed_behind     # how far behind it was when disconnected
    int64_t matched_base      # results matching the filter below the start cursor
    int64_t delivered         # results handed out
    # A pending gap notice (skip policy): seqs [gap_from, gap_to) were jumped
    # over, gap_missed of them matched the filter. Taken by the reader's owner.
    bint gap_pending
    int64_t gap_from
    int64_t gap_to
    int64_t gap_missed
    int64_t missed_total
    int64_t gaps_total
    int64_t skip_below        # results below this seq are passed over (resume ahead of head)
    bint ungated              # reads up to head, not visible (the journal writer)
    bint with_orders          # also reads order requests (the journal writer, the paper venue)
    # Block policy with a deadline: a reader that holds a writer back for
    # longer than block_deadline_ns (> 0) without reading is failed like a
    # `disconnect` one.
    int64_t block_deadline_ns # 0: no deadline (wait for it forever)
    int64_t blocked_since     # mono ns a writer first waited on it; 0: not holding one back
    bint failed_deadline      # failed for its block deadline (else: fell a ring behind)
    # Adaptive linger (log_read with adaptive set): touched only by the
    # reader's own thread, in log_read.
    int64_t last_return_ns    # mono ns the previous read that returned results ended
    int64_t last_n            # results that read returned

ctypedef struct ResultLog:
    Result *ring
    int64_t capacity          # a power of two
    int64_t mask
    int64_t head
    int64_t max_written
    int64_t first_seq         # the seq this ring started at (0, or after a restart)
    int64_t visible           # subscribers read below this (== head unless gated)
    bint gated
    bint gate_done            # the journal writer has exited: visible moves no more
    int gate_error            # errno while the journal writer cannot write (0: healthy):
                              # gated readers that have read all that is visible fail
    int64_t *symbol_counts    # committed results per symbol id
    int64_t *last_seq         # per symbol: seq of its newest committed result, -1: none
    Result *last_evicted      # per symbol: its newest result once the ring overwrote it
    int32_t max_symbols
    int32_t order_sid         # the pseudo symbol of order requests (-1: none in this log);
                              # only readers with_orders see those rows
    Reader **readers
    int32_t n_readers
    int32_t max_readers
    int32_t writers_waiting
    bint closed
    pthread_mutex_t lock
    pthread_cond_t readable
    pthread_cond_t writable

cdef int log_init(ResultLog *log, int64_t capacity, int32_t max_symbols,
                  int32_t max_readers) noexcept nogil
cdef void log_destroy(ResultLog *log) noexcept nogil
cdef void log_start_at(ResultLog *log, int64_t seq) noexcept nogil
cdef void log_advance_visible(ResultLog *log, int64_t upto) noexcept nogil
cdef void log_close(ResultLog *log) noexcept nogil
cdef int log_add_reader(ResultLog *log, Reader *rd, int64_t from_seq,
                        int64_t *oldest) noexcept nogil
cdef void log_remove_reader(ResultLog *log, Reader *rd) noexcept nogil
cdef int log_write(ResultLog *log, const Result *results, int64_t n) noexcept nogil
cdef int log_read(ResultLog *log, Reader *rd, Result *out, int64_t max_n, int64_t deadline,
                  int64_t linger_ns, bint interruptible, int64_t *popped,
                  bint adaptive) noexcept nogil
cdef int64_t log_snapshot(ResultLog *log, const int32_t *symbol_ids, int32_t n,
                          Result *out, uint8_t *present, Reader *fence_reader,
                          int64_t *oldest) noexcept nogil
