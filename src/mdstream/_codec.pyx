# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""mdstream's wire codec: protobuf frames of mdstream.v1 written and read in C.

The gRPC server streams bytes that this module produces from the engine's
RESULT_DTYPE arrays without the GIL (no protobuf objects per tick), and the
Python client decodes ResultBatch frames straight from the wire bytes into a
RESULT_DTYPE array. The messages are those of proto/mdstream/v1/mdstream.proto;
the field numbers below must match it (the tests check both against the
generated protobuf classes).

Protobuf wire format in brief: every field is a tag varint
(field_number << 3 | wire_type) and a value; wire type 0 is a varint, 1 eight
little-endian bytes, 2 a varint length and that many bytes (strings, nested
messages, packed arrays). Packed fixed-width columns are thus plain
little-endian arrays inside the frame.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

from mdstream._types cimport Result, Tick

import numpy as np

from mdstream._core import RESULT_DTYPE

__all__ = ["BatchEncoder", "ResultEncoder", "decode_batch", "MAX_SYMBOL_ID", "FrameError"]

include "codec/wire.pxi"
include "codec/fields.pxi"
include "codec/batch.pxi"
include "codec/result.pxi"
