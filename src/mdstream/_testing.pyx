# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Entry points into the compiled core for the tests and the benchmarks, kept
out of the production module (mdstream._core).

compute_analytics and simulate_ticks run the core's analytics and simulated
feed single-threaded, for the property tests (against mdstream.reference) and
the analytics benchmark; channel_pump moves ticks through a core channel
between two C threads, for the channel benchmark. They call the core's C
functions, declared in mdstream/_core.pxd, through the pointers that Cython
exports from mdstream._core (one call per batch, never per tick)."""

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, calloc, free

from mdstream._posix cimport pthread_t, pthread_create, pthread_join
from mdstream._types cimport KIND_OHLCV, KIND_QUOTE, KIND_TRADE, ST_OK, Result, SymbolState, Tick
from mdstream._core cimport (
    Channel,
    SimFeed,
    analytics_update_batch,
    array_data,
    channel_close,
    channel_destroy,
    channel_init,
    channel_pop,
    channel_push,
    check_status,
    mono_ns,
    sim_destroy,
    sim_generate,
    sim_init,
    symbol_state_reset,
)

import numpy as np

from mdstream._core import RESULT_DTYPE, TICK_DTYPE
from mdstream.errors import InvalidArgumentError


# --- the core's analytics and simulated feed, single-threaded -----------------

def compute_analytics(ticks, double ema_alpha, int32_t n_symbols):
    """Run the per-symbol analytics over an array of TICK_DTYPE in order.

    Returns (results, seconds): a RESULT_DTYPE array and the time the update
    loop took, without the GIL.
    """
    cdef int64_t n = len(ticks)
    cdef int64_t i
    cdef int64_t t0 = 0, t1 = 0
    results = np.empty(n, dtype=RESULT_DTYPE)
    if n == 0:
        return results, 0.0
    ticks = np.ascontiguousarray(ticks)        # kept alive: src points into it
    cdef Tick *src = <Tick *>array_data(ticks, TICK_DTYPE)
    cdef Result *dst = <Result *>array_data(results, RESULT_DTYPE)
    for i in range(n):
        if src[i].symbol_id < 0 or src[i].symbol_id >= n_symbols:
            raise InvalidArgumentError(f"symbol id {src[i].symbol_id} is out of range [0, {n_symbols})")
        if src[i].kind != KIND_TRADE and src[i].kind != KIND_QUOTE and src[i].kind != KIND_OHLCV:
            raise InvalidArgumentError(f"tick {i}: kind must be trade (0), quote (1) or an input bar (3)")
    cdef SymbolState *states = <SymbolState *>malloc(<size_t>n_symbols * sizeof(SymbolState))
    if states == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n_symbols):
            symbol_state_reset(&states[i])
        t0 = mono_ns()
        analytics_update_batch(states, src, dst, n, ema_alpha, NULL, 0)
        t1 = mono_ns()
        for i in range(n):
            dst[i].done_ns = 0
    free(states)
    return results, (t1 - t0) / 1e9


def simulate_ticks(int64_t n, uint64_t seed, int32_t n_symbols, double quote_ratio=0.2,
                   double sigma=0.0005, double spread_bps=2.0):
    """Generate n ticks exactly as SimulatedFeed would (symbol ids 0..n_symbols-1)."""
    cdef SimFeed f
    ids = np.arange(n_symbols, dtype=np.int32)
    cdef int32_t[::1] idv = ids
    ticks = np.zeros(n, dtype=TICK_DTYPE)
    check_status(sim_init(&f, seed, &idv[0], n_symbols, 0.0, 0, quote_ratio, sigma, spread_bps),
                 "simulate_ticks")
    if n > 0:
        sim_generate(&f, <Tick *>array_data(ticks, TICK_DTYPE), n, 0)
    sim_destroy(&f)
    return ticks


# --- the channel between two C threads, for the benchmark --------------------

ctypedef struct PumpArgs:
    Channel *ch
    int64_t n
    int64_t batch
    int64_t checksum


cdef void *_pump_producer(void *arg) noexcept nogil:
    cdef PumpArgs *a = <PumpArgs *>arg
    cdef Tick *buf = <Tick *>calloc(a.batch, sizeof(Tick))
    cdef int64_t sent = 0
    cdef int64_t k, m, pushed
    while sent < a.n:
        m = a.n - sent if a.n - sent < a.batch else a.batch
        for k in range(m):
            buf[k].seq = sent + k
        if channel_push(a.ch, buf, m, -1, False, &pushed) != ST_OK:
            break
        sent += m
    free(buf)
    channel_close(a.ch)
    return NULL


cdef void *_pump_consumer(void *arg) noexcept nogil:
    cdef PumpArgs *a = <PumpArgs *>arg
    cdef Tick *buf = <Tick *>calloc(a.batch, sizeof(Tick))
    cdef int64_t k, got
    while channel_pop(a.ch, buf, a.batch, -1, False, &got) == ST_OK:
        for k in range(got):
            a.checksum += buf[k].seq
    free(buf)
    return NULL


def channel_pump(int64_t n_items, int64_t batch=1024, int64_t capacity=65536):
    """Move n_items ticks between two C threads through one channel, in batches.

    Returns (seconds, checksum); the checksum (sum of the values received)
    lets a caller check that nothing was lost or duplicated.
    """
    cdef Channel ch
    cdef PumpArgs args
    cdef pthread_t prod, cons
    cdef int64_t t0, t1
    if n_items < 0 or batch < 1 or capacity < 1:
        raise InvalidArgumentError("n_items must be >= 0, batch and capacity >= 1")
    check_status(channel_init(&ch, capacity), "channel_pump")
    args.ch = &ch
    args.n = n_items
    args.batch = batch
    args.checksum = 0
    with nogil:
        t0 = mono_ns()
        pthread_create(&cons, NULL, _pump_consumer, &args)
        pthread_create(&prod, NULL, _pump_producer, &args)
        pthread_join(prod, NULL)
        pthread_join(cons, NULL)
        t1 = mono_ns()
    channel_destroy(&ch)
    return (t1 - t0) / 1e9, args.checksum
