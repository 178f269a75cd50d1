# CRC-32C, the checksum of journal blocks and state files (crc32c.pxi).

cdef uint32_t crc32c_update(uint32_t crc, const unsigned char *p, size_t n) noexcept nogil
