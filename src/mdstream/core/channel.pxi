# A bounded channel of ticks: a ring guarded by one mutex and two condition
# variables. Whole batches move under one lock acquisition; a push on a full
# channel waits (backpressure), a pop on an empty one waits; close wakes all.
#
# Lock order: a channel lock is a leaf. Nothing else is locked while it is
# held, and the GIL is never taken while it is held.

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


cdef inline void ring_put(Channel *ch, const Tick *items, int64_t n) noexcept nogil:
    """Append n items that fit (lock held) and wake a waiting consumer."""
    cdef int64_t tail = (ch.head + ch.count) % ch.capacity
    cdef int64_t first = ch.capacity - tail if ch.capacity - tail < n else n
    memcpy(&ch.buf[tail], items, <size_t>first * sizeof(Tick))
    if n > first:
        memcpy(&ch.buf[0], &items[first], <size_t>(n - first) * sizeof(Tick))
    ch.count += n
    # Signalling costs a system call only when someone waits: skip it otherwise.
    if ch.waiting_pop > 0:
        pthread_cond_signal(&ch.not_empty)


cdef inline int64_t ring_take(Channel *ch, Tick *out, int64_t max_n) noexcept nogil:
    """Remove up to max_n items (lock held, count > 0) and wake waiting producers."""
    cdef int64_t chunk = ch.count if ch.count < max_n else max_n
    cdef int64_t first = ch.capacity - ch.head if ch.capacity - ch.head < chunk else chunk
    memcpy(out, &ch.buf[ch.head], <size_t>first * sizeof(Tick))
    if chunk > first:
        memcpy(&out[first], &ch.buf[0], <size_t>(chunk - first) * sizeof(Tick))
    ch.head = (ch.head + chunk) % ch.capacity
    ch.count -= chunk
    if ch.waiting_push > 0:
        pthread_cond_broadcast(&ch.not_full)
    if ch.count > 0 and ch.waiting_pop > 0:
        pthread_cond_signal(&ch.not_empty)      # items left for another consumer
    return chunk


cdef inline int push_items(Channel *ch, const Tick *items, int64_t n, int64_t deadline,
                           bint interruptible, bint all_items, int64_t *pushed) noexcept nogil:
    """The push loop of channel_push (all_items) and channel_push_some (not):
    wait while the channel is full, put what fits, and with all_items go on
    until all n are in."""
    cdef int64_t done = 0
    cdef int64_t room, chunk
    cdef int st = ST_OK
    pthread_mutex_lock(&ch.lock)
    while done < n:
        if ch.closed:
            st = ST_CLOSED
            break
        room = ch.capacity - ch.count
        if room == 0:
            ch.waiting_push += 1
            st = wait_on(&ch.not_full, &ch.lock, deadline, interruptible)
            ch.waiting_push -= 1
            if st != ST_OK:
                break
            continue
        chunk = n - done if n - done < room else room
        ring_put(ch, &items[done], chunk)
        done += chunk
        if not all_items:
            break
    pthread_mutex_unlock(&ch.lock)
    pushed[0] = done
    return st


cdef int channel_push(Channel *ch, const Tick *items, int64_t n, int64_t deadline,
                      bint interruptible, int64_t *pushed) noexcept nogil:
    """Push all n items, waiting while the channel is full.

    Returns ST_OK when all are in, or ST_CLOSED / ST_TIMEOUT / ST_INTERRUPTED
    with *pushed telling how many made it in (a prefix of items).
    """
    return push_items(ch, items, n, deadline, interruptible, True, pushed)


cdef int channel_push_some(Channel *ch, const Tick *items, int64_t n, bint interruptible,
                           int64_t *pushed) noexcept nogil:
    """Push as many of n (>= 1) items as there is room for, waiting only while
    there is none; *pushed tells how many (a prefix of items)."""
    return push_items(ch, items, n, -1, interruptible, False, pushed)


cdef int channel_pop(Channel *ch, Tick *out, int64_t max_n, int64_t deadline,
                     bint interruptible, int64_t *popped) noexcept nogil:
    """Pop between 1 and max_n items, waiting while the channel is empty.

    A closed channel still hands out what it holds; once empty it returns ST_CLOSED.
    """
    cdef int st = ST_OK
    popped[0] = 0
    pthread_mutex_lock(&ch.lock)
    while ch.count == 0:
        if ch.closed:
            pthread_mutex_unlock(&ch.lock)
            return ST_CLOSED
        ch.waiting_pop += 1
        st = wait_on(&ch.not_empty, &ch.lock, deadline, interruptible)
        ch.waiting_pop -= 1
        if st != ST_OK:
            pthread_mutex_unlock(&ch.lock)
            return st
    popped[0] = ring_take(ch, out, max_n)
    pthread_mutex_unlock(&ch.lock)
    return ST_OK


cdef int channel_try_push(Channel *ch, const Tick *items, int64_t n) noexcept nogil:
    """Push all n items now, or nothing: ST_TIMEOUT if the lock is busy or
    there is not room for all, ST_CLOSED if closed. Never waits, so it may be
    called with the GIL held (the fast path of a call from Python)."""
    cdef int st = ST_TIMEOUT
    if pthread_mutex_trylock(&ch.lock) != 0:
        return ST_TIMEOUT
    if ch.closed:
        st = ST_CLOSED
    elif ch.capacity - ch.count >= n:
        ring_put(ch, items, n)
        st = ST_OK
    pthread_mutex_unlock(&ch.lock)
    return st


cdef int channel_try_pop(Channel *ch, Tick *out, int64_t max_n, int64_t *popped) noexcept nogil:
    """Pop up to max_n items now: ST_TIMEOUT if the lock is busy or the
    channel is empty (ST_CLOSED once closed and drained). Never waits."""
    cdef int st = ST_TIMEOUT
    popped[0] = 0
    if pthread_mutex_trylock(&ch.lock) != 0:
        return ST_TIMEOUT
    if ch.count > 0:
        popped[0] = ring_take(ch, out, max_n)
        st = ST_OK
    elif ch.closed:
        st = ST_CLOSED
    pthread_mutex_unlock(&ch.lock)
    return st
