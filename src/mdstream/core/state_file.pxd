# Loading a state file into a Core (state_file.pxi).

cdef class StateFile:
    pass
