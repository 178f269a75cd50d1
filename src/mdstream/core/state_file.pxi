# Loading a state file into a Core (see state.pxi for the format).


cdef class StateFile:
    """Reads a state file into a not yet started Core (restart after retention)."""

    @staticmethod
    def load(path, Core core) -> int:
        """Check the file and load it into core; returns the seq it is as of.
        Raises JournalCorruptError if it fails its checks."""
        cdef StateHeader h
        cdef bytes data
        cdef const unsigned char *p
        cdef BarClock *bc = &core.c.bars
        cdef size_t n_states = <size_t>core.c.max_symbols * sizeof(SymbolState)
        cdef size_t n_ids = <size_t>MAX_BAR_INTERVALS * core.c.max_symbols * sizeof(int32_t)
        cdef size_t n_flags = <size_t>MAX_BAR_INTERVALS * core.c.max_symbols
        cdef int32_t i
        path = str(path)
        with io.open(path, "rb") as f:   # io.open: `open` here is POSIX open(2)
            data = f.read()
        if len(data) < sizeof(StateHeader):
            raise JournalCorruptError(path, 0, "state file cut short", True)
        p = data
        memcpy(&h, p, sizeof(StateHeader))
        if h.magic != STATE_MAGIC or h.header_crc != crc32c_update(0, p, sizeof(StateHeader) - 4):
            raise JournalCorruptError(path, 0, "state header fails its checksum", False)
        if (h.version != STATE_VERSION or h.state_size != sizeof(SymbolState)
                or h.max_symbols != core.c.max_symbols or h.n_intervals != bc.n_intervals):
            raise JournalCorruptError(path, 0, "state written with other settings (max_symbols, bars)", False)
        for i in range(bc.n_intervals):
            if h.intervals[i] != bc.intervals[i]:
                raise JournalCorruptError(path, 0, "state written with other bar intervals", False)
        if <size_t>len(data) != sizeof(StateHeader) + n_states + n_ids + n_flags:
            raise JournalCorruptError(path, sizeof(StateHeader), "state body has the wrong size", False)
        if h.body_crc != crc32c_update(0, p + sizeof(StateHeader), n_states + n_ids + n_flags):
            raise JournalCorruptError(path, sizeof(StateHeader), "state body fails its checksum", False)
        if core.started:
            raise EngineStateError("a state file can only be loaded before start")
        memcpy(core.c.states, p + sizeof(StateHeader), n_states)
        memcpy(bc.traded_ids, p + sizeof(StateHeader) + n_states, n_ids)
        memcpy(bc.traded, p + sizeof(StateHeader) + n_states + n_ids, n_flags)
        for i in range(MAX_BAR_INTERVALS):
            bc.open_start[i] = h.open_start[i]
            bc.traded_n[i] = h.traded_n[i]
        core.c.next_seq = h.next_seq
        log_start_at(&core.c.log, h.next_seq)
        return h.next_seq
