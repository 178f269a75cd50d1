# cython: language_level=3, cdivision=True
# Declarations of the compiled core, mdstream._core: the structs, constants,
# extension types and cdef functions of every part of it. Cython reads this
# file when it compiles _core.pyx, so every part's implementation (core/*.pxi)
# sees every declaration whatever the order of the includes there; a module
# that cimports mdstream._core (mdstream._testing) gets the same declarations,
# and calls the core's cdef functions through the pointers Cython exports.
#
# Each part declares itself in core/<part>.pxd next to its core/<part>.pxi:
# its structs and constants, its extension types' attributes, and the
# prototypes of the functions that other parts or modules call. Functions only
# its own part calls, and inline helpers, stay private to the .pxi (an inline
# function that other modules need is defined in its .pxd: core/clock.pxd).
# The includes below follow the types: a struct that holds another part's
# struct by value comes after that part (pointers may point anywhere).
#
# The directives above are _core.pyx's that matter here: the inline functions
# defined in core/clock.pxd are compiled with this file's, not the .pyx's.

from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.time cimport time_t

from mdstream._posix cimport *
from mdstream._types cimport *

include "core/clock.pxd"
include "core/histogram.pxd"
include "core/channel.pxd"
include "core/analytics.pxd"
include "core/result_log.pxd"
include "core/venue.pxd"
include "core/sim_feed.pxd"
include "core/bars.pxd"
include "core/crc32c.pxd"
include "core/state.pxd"
include "core/journal.pxd"
include "core/engine_core.pxd"
include "core/dtypes.pxd"
include "core/errors.pxd"
include "core/tick_channel.pxd"
include "core/engine_handle.pxd"
include "core/state_file.pxd"
include "core/filter.pxd"
