# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""mdstream's compiled core: channels, analytics, the result log, the simulated
feed and the worker threads. Everything per tick runs on C structs without the
GIL; the classes here are the thin Python-facing handles.

What each part declares is in _core.pxd (core/*.pxd); the parts below are its
implementations, in no particular order. Test and benchmark entry points are
in mdstream._testing, not here."""

cimport cython
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memset
from libc.math cimport log, sqrt, exp, fabs, floor, ceil, INFINITY, NAN

import io

import numpy as np

from mdstream.durations import format_duration_ns
from mdstream.errors import (
    ChannelClosedError,
    EngineStateError,
    InvalidArgumentError,
    JournalCorruptError,
    JournalUnavailableError,
    MDStreamError,
    OutOfRangeError,
    SlowConsumerError,
    SubscriptionClosedError,
    TimeoutError,
    TooManySubscribersError,
)

include "core/histogram.pxi"
include "core/channel.pxi"
include "core/analytics.pxi"
include "core/result_log.pxi"
include "core/venue_book.pxi"
include "core/venue_reports.pxi"
include "core/venue_fills.pxi"
include "core/venue_requests.pxi"
include "core/venue.pxi"
include "core/sim_feed.pxi"
include "core/bars.pxi"
include "core/crc32c.pxi"
include "core/state.pxi"
include "core/journal.pxi"
include "core/engine_core.pxi"
include "core/dtypes.pxi"
include "core/errors.pxi"
include "core/tick_channel.pxi"
include "core/engine_handle.pxi"
include "core/venue_handle.pxi"
include "core/state_file.pxi"
include "core/filter.pxi"
