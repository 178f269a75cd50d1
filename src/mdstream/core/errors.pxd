# Status codes (Status: _types.pxd) turned into exceptions (errors.pxi).

cdef int check_status(int st, str what) except -1
