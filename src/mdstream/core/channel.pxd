# The bounded channel of ticks between ingest and a worker (channel.pxi).

ctypedef struct Channel:
    Tick *buf
    int64_t capacity
    int64_t head          # index of the oldest item
    int64_t count
    bint closed
    int32_t waiting_pop       # threads waiting for items: only then is not_empty signalled
    int32_t waiting_push      # threads waiting for room: only then is not_full signalled
    pthread_mutex_t lock
    pthread_cond_t not_empty
    pthread_cond_t not_full

cdef int channel_init(Channel *ch, int64_t capacity) noexcept nogil
cdef void channel_destroy(Channel *ch) noexcept nogil
cdef void channel_close(Channel *ch) noexcept nogil
cdef int channel_push(Channel *ch, const Tick *items, int64_t n, int64_t deadline,
                      bint interruptible, int64_t *pushed) noexcept nogil
cdef int channel_push_some(Channel *ch, const Tick *items, int64_t n, bint interruptible,
                           int64_t *pushed) noexcept nogil
cdef int channel_pop(Channel *ch, Tick *out, int64_t max_n, int64_t deadline,
                     bint interruptible, int64_t *popped) noexcept nogil
cdef int channel_try_push(Channel *ch, const Tick *items, int64_t n) noexcept nogil
cdef int channel_try_pop(Channel *ch, Tick *out, int64_t max_n, int64_t *popped) noexcept nogil
