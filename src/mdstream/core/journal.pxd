# The journal writer and the reading of journal segments (journal.pxi).

cdef enum:
    JOURNAL_MAGIC = 0x424A444D      # "MDJB" little-endian
    JOURNAL_BLOCK_MAX = 4096        # results per block
    JOURNAL_HEADER_SIZE = 32

cdef extern from "<unistd.h>" nogil:
    int ftruncate(int fd, int64_t length)

cdef enum Durability:
    DUR_WRITE = 0           # write() every block: survives a process crash
    DUR_INTERVAL = 1        # ... and fsync() every interval: a power loss costs at most that
    DUR_FSYNC = 2           # fsync() every block before it becomes visible

ctypedef struct BlockHeader:
    uint32_t magic
    uint32_t count
    int64_t first_seq
    uint32_t record_size
    uint32_t payload_crc
    uint32_t flags
    uint32_t header_crc     # CRC-32C of the 28 bytes before it

ctypedef struct JournalWriter:
    EngineCore *core        # the engine whose result log it journals
    Reader rd               # an ungated, `block` reader of the result log
    char dir[3900]
    int fd
    int64_t roll_bytes
    int durability
    int64_t fsync_interval_ns
    int64_t last_fsync_ns
    bint unsynced
    unsigned char *block    # header + JOURNAL_BLOCK_MAX records
    pthread_t thread
    bint running
    pthread_mutex_t lock    # guards the fields below, read by replays and stats
    int64_t written_seq     # every seq below is in the journal files
    int64_t active_first_seq
    int64_t active_bytes    # complete bytes of the active segment
    int error               # errno of a failed open/write/fsync; 0 while healthy
    bint retry              # on an error: keep trying every retry_ns (else: stop for good)
    int64_t retry_ns
    int last_error          # errno of the newest failure (kept once it recovered)
    int64_t failures        # failures (episodes: a first failed attempt after success)
    int64_t recoveries      # episodes that ended with a write succeeding again
    char op_path[4096]      # the file of the operation under way
    char error_path[4096]   # the file of the newest failure
    int64_t blocks
    int64_t bytes
    int64_t fsyncs
    int64_t state_files
    # The analytics state as of written_seq, kept by replaying what is written,
    # and saved at every new segment so retention can drop older segments.
    SymbolState *shadow
    BarClock shadow_bars
    double ema_alpha

cdef int write_all(int fd, const unsigned char *p, size_t n) noexcept nogil
cdef int journal_init(JournalWriter *jw, EngineCore *c, const char *dir, int64_t roll_bytes,
                      int durability, int64_t fsync_interval_ns, bint retry,
                      int64_t retry_ns) noexcept nogil
cdef int journal_start(JournalWriter *jw) noexcept nogil
cdef void journal_destroy(JournalWriter *jw) noexcept nogil


cdef class SegmentScanner:
    cdef int fd
    cdef readonly object path
    cdef readonly int64_t offset
    cdef readonly int64_t expected_seq
    cdef int64_t limit

    cdef _damage(self, str reason, bint torn)
