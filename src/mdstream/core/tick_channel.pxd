# TickChannel: the channel as a Python object (tick_channel.pxi).

cdef class TickChannel:
    cdef Channel ch
    cdef bint ready
