# TickChannel: the bounded channel as a Python object, for tests, benchmarks
# and users who want to move values between threads through the core.


cdef inline int64_t _deadline(object timeout) except? -2:
    if timeout is None:
        return -1
    if timeout < 0:
        raise InvalidArgumentError(f"timeout must be >= 0 seconds or None, got {timeout}")
    return deadline_after(timeout)


cdef class TickChannel:
    """A bounded, thread-safe FIFO of ticks (here carrying int64 values).

    put() blocks while the channel is full and get() while it is empty, like
    queue.Queue, but the waiting happens without the GIL. close() wakes every
    waiter: later puts raise ChannelClosedError, gets drain what is left and
    then raise ChannelClosedError.
    """
    # Its C attributes are declared in core/tick_channel.pxd.

    def __cinit__(self, int64_t capacity=1024):
        if capacity < 1:
            raise InvalidArgumentError(f"capacity must be >= 1, got {capacity}")
        check_status(channel_init(&self.ch, capacity), "TickChannel")
        self.ready = True

    def __dealloc__(self):
        if self.ready:
            channel_destroy(&self.ch)

    @property
    def capacity(self) -> int:
        return self.ch.capacity

    def __len__(self):
        return self.ch.count

    @property
    def closed(self) -> bool:
        return self.ch.closed

    def close(self):
        with nogil:
            channel_close(&self.ch)

    def put(self, int64_t value, timeout=None):
        """Append one value; waits while full (up to timeout seconds if given)."""
        cdef Tick t
        cdef int64_t pushed
        cdef int64_t deadline = _deadline(timeout)
        cdef int st
        t.seq = value
        # Fast path: room now and the lock free, so no need to give up the GIL.
        st = channel_try_push(&self.ch, &t, 1)
        if st == ST_TIMEOUT:
            with nogil:
                st = channel_push(&self.ch, &t, 1, deadline, True, &pushed)
        check_status(st, "TickChannel.put")

    def get(self, timeout=None) -> int:
        """Remove and return the oldest value; waits while empty."""
        cdef Tick t
        cdef int64_t popped
        cdef int64_t deadline = _deadline(timeout)
        cdef int st
        st = channel_try_pop(&self.ch, &t, 1, &popped)     # fast path, GIL kept
        if st == ST_TIMEOUT:
            with nogil:
                st = channel_pop(&self.ch, &t, 1, deadline, True, &popped)
        check_status(st, "TickChannel.get")
        return t.seq

    def put_many(self, values, timeout=None) -> int:
        """Append all values in order, under one lock acquisition per run of free room.

        Returns how many were put; raises if the channel closes or the timeout
        runs out first (values before that point are in the channel).
        """
        cdef int64_t[::1] v = np.ascontiguousarray(values, dtype=np.int64)
        cdef int64_t n = v.shape[0]
        cdef int64_t i, pushed = 0
        cdef int64_t deadline = _deadline(timeout)
        cdef int st = ST_OK
        if n == 0:
            return 0
        cdef Tick *buf = <Tick *>malloc(<size_t>n * sizeof(Tick))
        if buf == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                buf[i].seq = v[i]
            with nogil:
                st = channel_push(&self.ch, buf, n, deadline, True, &pushed)
        finally:
            free(buf)
        check_status(st, f"TickChannel.put_many ({pushed} of {n} put)")
        return pushed

    def get_many(self, int64_t max_items, timeout=None) -> list:
        """Remove and return between 1 and max_items values; waits while empty."""
        cdef int64_t popped = 0
        cdef int64_t deadline = _deadline(timeout)
        cdef int st
        cdef int64_t i
        if max_items < 1:
            raise InvalidArgumentError(f"max_items must be >= 1, got {max_items}")
        cdef Tick *buf = <Tick *>malloc(<size_t>max_items * sizeof(Tick))
        if buf == NULL:
            raise MemoryError()
        try:
            with nogil:
                st = channel_pop(&self.ch, buf, max_items, deadline, True, &popped)
            check_status(st, "TickChannel.get_many")
            return [buf[i].seq for i in range(popped)]
        finally:
            free(buf)
