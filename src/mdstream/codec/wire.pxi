# Protobuf wire-format primitives: varints, tags and little-endian fixed-width
# values. All of them are plain C, safe without the GIL; readers take an end
# pointer and return NULL when the input is truncated or malformed.

cdef enum WireType:
    WT_VARINT = 0
    WT_I64 = 1
    WT_LEN = 2
    WT_I32 = 5

cdef enum:
    MAX_VARINT_BYTES = 10


cdef inline int varint_size(uint64_t v) noexcept nogil:
    cdef int n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


cdef inline uint8_t *put_varint(uint8_t *p, uint64_t v) noexcept nogil:
    while v >= 0x80:
        p[0] = <uint8_t>(v | 0x80)
        p += 1
        v >>= 7
    p[0] = <uint8_t>v
    return p + 1


cdef inline int tag_size(uint32_t field) noexcept nogil:
    return varint_size(<uint64_t>field << 3)


cdef inline uint8_t *put_tag(uint8_t *p, uint32_t field, int wire_type) noexcept nogil:
    return put_varint(p, (<uint64_t>field << 3) | <uint64_t>wire_type)


cdef inline uint8_t *put_fixed64(uint8_t *p, uint64_t v) noexcept nogil:
    # Byte by byte so the output is little-endian on any host; compilers turn
    # this into one store on little-endian machines.
    p[0] = <uint8_t>v
    p[1] = <uint8_t>(v >> 8)
    p[2] = <uint8_t>(v >> 16)
    p[3] = <uint8_t>(v >> 24)
    p[4] = <uint8_t>(v >> 32)
    p[5] = <uint8_t>(v >> 40)
    p[6] = <uint8_t>(v >> 48)
    p[7] = <uint8_t>(v >> 56)
    return p + 8


cdef inline uint64_t get_fixed64(const uint8_t *p) noexcept nogil:
    return (<uint64_t>p[0] | (<uint64_t>p[1] << 8) | (<uint64_t>p[2] << 16)
            | (<uint64_t>p[3] << 24) | (<uint64_t>p[4] << 32) | (<uint64_t>p[5] << 40)
            | (<uint64_t>p[6] << 48) | (<uint64_t>p[7] << 56))


cdef inline uint64_t load_u64(const void *src) noexcept nogil:
    """The 8 bytes at src (a double or an int64 field of a struct) as an integer."""
    cdef uint64_t v
    memcpy(&v, src, 8)
    return v


cdef inline void store_u64(void *dst, uint64_t v) noexcept nogil:
    memcpy(dst, &v, 8)


cdef inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end,
                                      uint64_t *out) noexcept nogil:
    """Read one varint into *out; NULL if truncated or longer than 10 bytes."""
    cdef uint64_t v = 0
    cdef int shift = 0
    cdef uint8_t b
    while p < end and shift < 7 * MAX_VARINT_BYTES:
        b = p[0]
        p += 1
        v |= <uint64_t>(b & 0x7F) << shift
        if b < 0x80:
            out[0] = v
            return p
        shift += 7
    return NULL


cdef inline const uint8_t *get_len(const uint8_t *p, const uint8_t *end,
                                   uint64_t *length) noexcept nogil:
    """Read the length of a length-delimited field; NULL if it overruns end."""
    p = get_varint(p, end, length)
    if p == NULL or length[0] > <uint64_t>(end - p):
        return NULL
    return p


cdef inline const uint8_t *skip_value(const uint8_t *p, const uint8_t *end,
                                      int wire_type) noexcept nogil:
    """Skip the value of an unknown field (forward compatibility)."""
    cdef uint64_t v
    if wire_type == WT_VARINT:
        return get_varint(p, end, &v)
    if wire_type == WT_I64:
        return p + 8 if end - p >= 8 else NULL
    if wire_type == WT_LEN:
        p = get_len(p, end, &v)
        return p + v if p != NULL else NULL
    if wire_type == WT_I32:
        return p + 4 if end - p >= 4 else NULL
    return NULL     # groups (3, 4) are not used by proto3


class FrameError(ValueError):
    """Bytes that are not a well-formed mdstream.v1 frame."""
