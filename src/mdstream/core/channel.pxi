# A bounded channel of ticks: a ring guarded by one mutex and two condition
# variables. Whole batches move under one lock acquisition; a push on a full
# channel waits (backpressure), a pop on an empty one waits; close wakes all.
#
# Lock order: a channel lock is a leaf. Nothing else is locked while it is
# held, and the GIL is never taken while it is held.

ctypedef struct Channel:
    Tick *buf
    int64_t capacity
    int64_t head          # index of the oldest item
    int64_t count
    bint closed
    pthread_mutex_t lock
    pthread_cond_t not_empty
    pthread_cond_t not_full


cdef int channel_init(Channel *ch, int64_t capacity) noexcept nogil:
    memset(ch, 0, sizeof(Channel))
    ch.buf = <Tick *>malloc(<size_t>capacity * sizeof(Tick))
    if ch.buf == NULL:
        return ST_NO_MEMORY
    ch.capacity = capacity
    pthread_mutex_init(&ch.lock, NULL)
    pthread_cond_init(&ch.not_empty, NULL)
    pthread_cond_init(&ch.not_full, NULL)
    return ST_OK


cdef void channel_destroy(Channel *ch) noexcept nogil:
    if ch.buf == NULL:
        return
    pthread_mutex_destroy(&ch.lock)
    pthread_cond_destroy(&ch.not_empty)
    pthread_cond_destroy(&ch.not_full)
    free(ch.buf)
    ch.buf = NULL


cdef void channel_close(Channel *ch) noexcept nogil:
    pthread_mutex_lock(&ch.lock)
    ch.closed = True
    pthread_cond_broadcast(&ch.not_empty)
    pthread_cond_broadcast(&ch.not_full)
    pthread_mutex_unlock(&ch.lock)


cdef inline int wait_on(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t deadline,
                        bint interruptible) noexcept nogil:
    """One slice of waiting, called with lock held and returning with it held.

    Threads entered from Python pass interruptible=True: between slices they
    drop the lock, run signal handlers under the GIL, and take the lock again.
    """
    cdef int st = timed_wait_slice(cond, lock, deadline)
    if st != ST_OK or not interruptible:
        return st
    pthread_mutex_unlock(lock)
    st = check_signals_with_gil()
    pthread_mutex_lock(lock)
    return st


cdef int channel_push(Channel *ch, const Tick *items, int64_t n, int64_t deadline,
                      bint interruptible, int64_t *pushed) noexcept nogil:
    """Push all n items, waiting while the channel is full.

    Returns ST_OK when all are in, or ST_CLOSED / ST_TIMEOUT / ST_INTERRUPTED
    with *pushed telling how many made it in (a prefix of items).
    """
    cdef int64_t done = 0
    cdef int64_t room, chunk, tail, first
    cdef int st = ST_OK
    pthread_mutex_lock(&ch.lock)
    while done < n:
        if ch.closed:
            st = ST_CLOSED
            break
        room = ch.capacity - ch.count
        if room == 0:
            st = wait_on(&ch.not_full, &ch.lock, deadline, interruptible)
            if st != ST_OK:
                break
            continue
        chunk = n - done if n - done < room else room
        tail = (ch.head + ch.count) % ch.capacity
        first = ch.capacity - tail if ch.capacity - tail < chunk else chunk
        memcpy(&ch.buf[tail], &items[done], <size_t>first * sizeof(Tick))
        if chunk > first:
            memcpy(&ch.buf[0], &items[done + first], <size_t>(chunk - first) * sizeof(Tick))
        ch.count += chunk
        done += chunk
        pthread_cond_signal(&ch.not_empty)
    pthread_mutex_unlock(&ch.lock)
    pushed[0] = done
    return st


cdef int channel_pop(Channel *ch, Tick *out, int64_t max_n, int64_t deadline,
                     bint interruptible, int64_t *popped) noexcept nogil:
    """Pop between 1 and max_n items, waiting while the channel is empty.

    A closed channel still hands out what it holds; once empty it returns ST_CLOSED.
    """
    cdef int64_t chunk, first
    cdef int st = ST_OK
    popped[0] = 0
    pthread_mutex_lock(&ch.lock)
    while ch.count == 0:
        if ch.closed:
            pthread_mutex_unlock(&ch.lock)
            return ST_CLOSED
        st = wait_on(&ch.not_empty, &ch.lock, deadline, interruptible)
        if st != ST_OK:
            pthread_mutex_unlock(&ch.lock)
            return st
    chunk = ch.count if ch.count < max_n else max_n
    first = ch.capacity - ch.head if ch.capacity - ch.head < chunk else chunk
    memcpy(out, &ch.buf[ch.head], <size_t>first * sizeof(Tick))
    if chunk > first:
        memcpy(&out[first], &ch.buf[0], <size_t>(chunk - first) * sizeof(Tick))
    ch.head = (ch.head + chunk) % ch.capacity
    ch.count -= chunk
    pthread_cond_broadcast(&ch.not_full)
    pthread_mutex_unlock(&ch.lock)
    popped[0] = chunk
    return ST_OK
