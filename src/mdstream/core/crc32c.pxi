# CRC-32C (Castagnoli), slice-by-8: the checksum of journal blocks. Chosen over
# zlib's CRC-32 for its better error detection, and written here so the core
# needs no zlib headers to build. mdstream.journal has a plain-Python version
# that the property tests compare against.

cdef uint32_t _crc_table[8][256]


cdef void crc32c_init() noexcept nogil:
    cdef uint32_t i, j, c
    for i in range(256):
        c = i
        for j in range(8):
            c = (c >> 1) ^ (<uint32_t>0x82F63B78 if c & 1 else <uint32_t>0)
        _crc_table[0][i] = c
    for i in range(256):
        c = _crc_table[0][i]
        for j in range(1, 8):
            c = _crc_table[0][c & 0xFF] ^ (c >> 8)
            _crc_table[j][i] = c


cdef uint32_t crc32c_update(uint32_t crc, const unsigned char *p, size_t n) noexcept nogil:
    cdef uint64_t word
    crc = ~crc
    while n >= 8:
        memcpy(&word, p, 8)            # little-endian load (all supported targets)
        word ^= crc
        crc = (_crc_table[7][word & 0xFF] ^ _crc_table[6][(word >> 8) & 0xFF]
               ^ _crc_table[5][(word >> 16) & 0xFF] ^ _crc_table[4][(word >> 24) & 0xFF]
               ^ _crc_table[3][(word >> 32) & 0xFF] ^ _crc_table[2][(word >> 40) & 0xFF]
               ^ _crc_table[1][(word >> 48) & 0xFF] ^ _crc_table[0][word >> 56])
        p += 8
        n -= 8
    while n > 0:
        crc = _crc_table[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    return ~crc


crc32c_init()


def crc32c(data, uint32_t crc=0) -> int:
    """CRC-32C of a bytes-like object (continuing from crc)."""
    cdef const unsigned char[::1] v = memoryview(data).cast("B")
    if v.shape[0] == 0:
        return crc
    return crc32c_update(crc, &v[0], v.shape[0])
