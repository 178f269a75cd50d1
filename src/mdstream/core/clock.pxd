# Clocks and interruptible waiting shared by every blocking operation.
#
# These helpers are inline, and Cython takes an inline function that other
# parts (and modules that cimport mdstream._core) use only with its body in a
# .pxd: so this part is declarations and definitions in one file, no .pxi.

# PyErr_CheckSignals without Cython's `except -1`: the exception it sets must
# stay pending for the caller to report, not be printed and cleared here.
cdef extern from "Python.h":
    int PyErr_CheckSignals()

# Waits are cut into slices of this length so that a waiting Python thread can
# check for signals (Ctrl-C) between them, as grpc's completion queue does.
cdef enum:
    WAIT_SLICE_NS = 100_000_000


cdef inline int64_t now_ns() noexcept nogil:
    """Wall-clock time in ns since the Unix epoch (comparable across processes)."""
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1_000_000_000 + ts.tv_nsec


cdef inline int64_t mono_ns() noexcept nogil:
    """Monotonic time in ns, for deadlines and pacing."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1_000_000_000 + ts.tv_nsec


cdef inline void sleep_ns(int64_t ns) noexcept nogil:
    cdef timespec ts
    if ns <= 0:
        return
    ts.tv_sec = <time_t>(ns // 1_000_000_000)
    ts.tv_nsec = <long>(ns % 1_000_000_000)
    nanosleep(&ts, NULL)


cdef inline int64_t deadline_after(double timeout_s) noexcept nogil:
    """Monotonic deadline for a timeout in seconds; a negative timeout means wait forever."""
    if timeout_s < 0:
        return -1
    return mono_ns() + <int64_t>(timeout_s * 1e9)


cdef inline int check_signals_with_gil() noexcept nogil:
    """Briefly take the GIL to run Python signal handlers; ST_INTERRUPTED if one raised.

    Only called by threads that were entered from Python and hold no C mutex
    (the lock-order rule: never wait for the GIL while holding a core mutex).
    """
    cdef int failed
    with gil:
        failed = PyErr_CheckSignals()
    return ST_INTERRUPTED if failed != 0 else ST_OK


cdef inline int timed_wait_slice(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                 int64_t deadline) noexcept nogil:
    """Wait on cond for at most one slice (or until the monotonic deadline).

    Returns ST_TIMEOUT when the deadline has passed, ST_OK otherwise (woken,
    spuriously or not, or the slice ended): callers re-check their condition.
    """
    cdef int64_t wait = WAIT_SLICE_NS
    cdef int64_t left
    cdef int64_t abs_ns
    cdef timespec ts
    if deadline >= 0:
        left = deadline - mono_ns()
        if left <= 0:
            return ST_TIMEOUT
        if left < wait:
            wait = left
    # pthread_cond_timedwait takes a CLOCK_REALTIME deadline on every POSIX system
    # (macOS has no pthread_condattr_setclock); slices keep a clock jump harmless.
    abs_ns = now_ns() + wait
    ts.tv_sec = <time_t>(abs_ns // 1_000_000_000)
    ts.tv_nsec = <long>(abs_ns % 1_000_000_000)
    pthread_cond_timedwait(cond, mutex, &ts)
    return ST_OK


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
