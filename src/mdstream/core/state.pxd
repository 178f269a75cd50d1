# The analytics state: replay and state files (state.pxi; loading: state_file.pxi).

cdef enum:
    STATE_MAGIC = 0x5353444D        # "MDSS"
    STATE_VERSION = 1

ctypedef struct StateHeader:
    uint32_t magic
    uint32_t version
    int64_t next_seq                # the state is as of every result below this
    uint32_t state_size             # sizeof(SymbolState)
    int32_t max_symbols
    int32_t n_intervals
    uint32_t body_crc
    int64_t intervals[MAX_BAR_INTERVALS]
    int64_t open_start[MAX_BAR_INTERVALS]
    int32_t traded_n[MAX_BAR_INTERVALS]
    uint32_t reserved               # keeps header_crc the last 4 bytes (no padding after it)
    uint32_t header_crc             # over everything before it

cdef void state_replay(SymbolState *states, BarClock *bc, double ema_alpha,
                       const Result *rows, int64_t n) noexcept nogil
cdef int state_save(const char *path, const char *tmp_path, const SymbolState *states,
                    const BarClock *bc, int64_t next_seq) noexcept nogil
