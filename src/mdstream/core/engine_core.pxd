# The engine's data plane: ingest, worker threads, the simulated feed's thread
# (engine_core.pxi).

cdef enum:
    WORKER_BATCH = 1024       # ticks a worker takes from its channel at once
    INGEST_CHUNK = 1024       # ticks sequenced and pushed per ingest step
    FEED_BATCH_MAX = 1024

ctypedef struct WorkerSlot:
    EngineCore *core
    int32_t index
    pthread_t thread
    bint running
    int64_t processed         # written by this worker only
    WindowedHistogram *lat_ingest     # event time -> ingest (NULL: not recorded)
    WindowedHistogram *lat_process    # ingest -> processed
    char _pad[64]

ctypedef struct EngineCore:
    int32_t n_workers
    int32_t max_symbols
    double ema_alpha
    bint record_latency
    Channel *channels
    WorkerSlot *workers
    SymbolState *states
    ResultLog log
    pthread_mutex_t ingest_lock
    int64_t next_seq          # guarded by ingest_lock
    int64_t ticks_in          # ticks taken since start (not bar markers, not recovered results,
                              # not order requests)
    int64_t orders_in         # order requests taken since start
    bint ingest_closed        # guarded by ingest_lock
    # Sequenced ticks on their way to each worker's channel: shard_cap per
    # worker (a chunk plus the bar markers it may close), guarded by ingest_lock.
    # shard_pos..shard_len is still to push (left over if a push was interrupted).
    Tick *shard_buf
    int64_t shard_cap
    int64_t *shard_len
    int64_t *shard_pos
    BarClock bars             # guarded by ingest_lock
    int32_t workers_alive     # guarded by log.lock
    # simulated feed
    SimFeed sim
    bint has_sim
    bint sim_running
    volatile bint sim_stop
    pthread_t sim_thread
    bint close_on_feed_end
    JournalWriter *journal    # NULL: no journal
    Venue *venue              # NULL: no paper venue (no orders taken)

cdef int core_init(EngineCore *c, int32_t n_workers, int32_t max_symbols,
                   int64_t ring_size, int64_t channel_capacity, double ema_alpha,
                   int32_t max_readers, const int64_t *bar_intervals,
                   int32_t n_bar_intervals, bint record_latency) noexcept nogil
cdef void core_destroy(EngineCore *c) noexcept nogil
cdef void core_finish_ingest(EngineCore *c) noexcept nogil
cdef void core_abort_ingest(EngineCore *c) noexcept nogil
cdef int core_ingest(EngineCore *c, Tick *ticks, int64_t n, bint interruptible,
                     int64_t *accepted) noexcept nogil
cdef void core_restore(EngineCore *c, const Result *rows, int64_t n) noexcept nogil
cdef int core_start(EngineCore *c) noexcept nogil
cdef void core_stop(EngineCore *c, double drain_timeout_s) noexcept nogil
