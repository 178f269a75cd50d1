# The C structs that flow through the core. They are plain data: no Python
# objects, so every stage can run without the GIL.
#
# Field order matters: the NumPy dtypes in _core.pyx are built from these
# structs' real offsets, and the frame codec reads them.

from libc.stdint cimport int32_t, int64_t

cdef enum TickKind:
    KIND_TRADE = 0
    KIND_QUOTE = 1
    KIND_BAR = 2         # an OHLCV bar of one symbol and interval (made at ingest, see bars.pxi)
    KIND_OHLCV = 3       # an input bar from a feed (DBN ohlcv-*), never a result: ts_ns its start,
                         # interval_ns its interval, open in bid, high in ask, low in bid_size,
                         # close in price, volume in size; it becomes a bar result (analytics.pxi)

cdef enum:
    MAX_BAR_INTERVALS = 4

# Status codes returned by nogil functions; _core.check_status turns them
# into mdstream exceptions (the one place that does).
cdef enum Status:
    ST_OK = 0
    ST_TIMEOUT = -1
    ST_CLOSED = -2
    ST_INTERRUPTED = -3
    ST_NO_MEMORY = -4
    ST_SLOW_CONSUMER = -5
    ST_THREAD_ERROR = -6
    ST_OUT_OF_RANGE = -7
    ST_IO_ERROR = -8
    ST_CORRUPT = -9

ctypedef struct Tick:
    int64_t seq          # engine sequence number, assigned at ingest, gap-free
    int64_t ts_ns        # event time (ns since the Unix epoch), from the source
    int64_t recv_ns      # when the engine ingested it (ns since the Unix epoch)
    int32_t symbol_id
    int32_t kind         # TickKind
    double price         # trades: trade price; quotes: mid
    double size          # trades: trade size; quotes: 0
    double bid
    double ask
    double bid_size
    double ask_size
    int64_t interval_ns  # bars: the bar's interval (ts_ns is its start); 0 otherwise (between
                         # ingest and a worker, a trade's mask of the intervals it is late for)

ctypedef struct Result:
    Tick tick            # trades carry the symbol's current quote in bid/ask; bars carry
                         # close in price, bar volume in size, bar notional in value
    double value         # price x size of this trade (0 for quotes)
    double volume        # session volume of the symbol (bars: the bar's volume)
    double vwap          # session volume-weighted average price (bars: the bar's)
    double high          # session high trade price (bars: the bar's)
    double low           # session low trade price (bars: the bar's)
    double ema           # exponential moving average of trade prices
    double volatility    # sample std-dev of trade log returns (Welford)
    double mid           # (bid + ask) / 2 of the current quote (NaN before the first quote)
    double spread        # ask - bid of the current quote (NaN before the first quote)
    int64_t trade_count  # session trade count of the symbol (bars: the bar's)
    int64_t done_ns      # when the worker finished this result
    double open          # bars: first trade price of the bar (NaN otherwise)

# The bar being built for one symbol and interval.
ctypedef struct BarState:
    double open
    double high
    double low
    double close
    double volume
    double notional
    int64_t count

# Per-symbol running state. Each symbol is owned by exactly one worker,
# so it is only ever touched by that worker's thread.
ctypedef struct SymbolState:
    double volume
    double notional
    int64_t trade_count
    double high
    double low
    double ema
    double last_price
    double last_log      # log(last_price), kept so each return costs one log()
    int64_t ret_count    # Welford: number of log returns seen
    double ret_mean
    double ret_m2
    double bid
    double ask
    double bid_size
    double ask_size
    BarState bars[MAX_BAR_INTERVALS]
    int64_t bar_last_ts[MAX_BAR_INTERVALS]  # event time of each open bar's close (latest trade)
    char _pad[8]         # 384 bytes: neighbours owned by other workers never share a cache line
