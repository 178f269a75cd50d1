# The one place where status codes from nogil code become exceptions.

cdef int check_status(int st, str what) except -1:
    if st == ST_OK:
        return 0
    if st == ST_INTERRUPTED:
        # PyErr_CheckSignals already set the exception (KeyboardInterrupt, ...).
        return -1
    if st == ST_TIMEOUT:
        raise TimeoutError(f"{what}: timed out")
    if st == ST_CLOSED:
        raise ChannelClosedError(f"{what}: closed")
    if st == ST_NO_MEMORY:
        raise MemoryError(f"{what}: out of memory")
    if st == ST_THREAD_ERROR:
        raise MDStreamError(f"{what}: could not start a thread")
    raise MDStreamError(f"{what}: failed with status {st}")
