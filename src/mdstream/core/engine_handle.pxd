# Core and CoreReader: the Python handles on the data plane (engine_handle.pxi).

cdef class Core:
    cdef EngineCore c
    cdef bint ready
    cdef bint started
    cdef bint stopped


cdef class CoreReader:
    cdef Core core
    cdef ResultLog *log      # the engine's result log, or its venue's report log
    cdef Reader rd
    cdef Result *buf
    cdef int64_t max_batch
    cdef bint registered
    cdef bint busy
    cdef WindowedHistogram *lat_send     # processed -> handed to the subscriber
    cdef WindowedHistogram *lat_age      # event time -> handed to the subscriber

    cdef int _check_registration(self, int st, int64_t oldest, int64_t from_seq) except -1
    cdef void _record_latency(self, int64_t n) noexcept nogil
