# The C structs that flow through the core. They are plain data: no Python
# objects, so every stage can run without the GIL.
#
# Field order matters: the NumPy dtypes in _core.pyx are built from these
# structs' real offsets, and the frame codec reads them.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t

cdef enum TickKind:
    KIND_TRADE = 0
    KIND_QUOTE = 1
    KIND_BAR = 2         # an OHLCV bar of one symbol and interval (made at ingest, see bars.pxi)
    KIND_OHLCV = 3       # an input bar from a feed (DBN ohlcv-*), never a result: ts_ns its start,
                         # interval_ns its interval, open in bid, high in ask, low in bid_size,
                         # close in price, volume in size; it becomes a bar result (analytics.pxi)
    KIND_ORDER = 4       # an order request (an OrderRequest laid over the Tick), sequenced with
                         # the ticks; journaled, read by the paper venue, never by subscribers
    KIND_EXEC = 5        # an execution report (an ExecReport laid over the Result), only in the
                         # paper venue's own log

cdef enum:
    MAX_BAR_INTERVALS = 4

# OrderRequest.flags
cdef enum:
    ORDER_ACTION_MASK = 3
    ORDER_NEW = 0
    ORDER_CANCEL = 1
    ORDER_REPLACE = 2
    ORDER_CANCEL_ALL = 3
    ORDER_SELL = 4
    ORDER_POST_ONLY = 8
    ORDER_RATE_LIMITED = 16

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

# An order request: a Tick of kind KIND_ORDER read through this layout (same
# size, same header). symbol_id of the header is the engine's order pseudo
# symbol (EngineCore.max_symbols), so subscribers' counts and snapshots never
# see it; the order's symbol is `symbol`.
ctypedef struct OrderRequest:
    int64_t seq
    int64_t ts_ns        # when it was sent (ns since the Unix epoch, wall clock)
    int64_t recv_ns
    int32_t symbol_id    # the order pseudo symbol
    int32_t kind         # KIND_ORDER
    int64_t cl_ord_id    # the client's id, unique per account, 1 .. 2**47 - 1
    int64_t orig_cl_ord_id   # cancel / replace: the order's current cl_ord_id
    double price         # limit price (NaN: none)
    double stop_price    # stop trigger price (NaN: none)
    double quantity      # order quantity (replace: the new quantity, NaN: unchanged)
    int64_t expire_ns    # GTD: event time it expires (ns since the Unix epoch)
    int32_t symbol       # the order's symbol id (cancel-all: -1 for every symbol)
    uint8_t account      # account id (the venue's configuration order)
    uint8_t ord_type     # FIX OrdType(40)
    uint8_t tif          # FIX TimeInForce(59)
    uint8_t flags        # ORDER_ACTION_MASK bits: the action; ORDER_SELL, ORDER_POST_ONLY,
                         # ORDER_RATE_LIMITED

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

# An execution report: a Result of kind KIND_EXEC read through this layout
# (same size, same header), in the paper venue's report log. Codes follow
# FIX 4.4 (ExecType(150), OrdStatus(39), Side(54), OrdType(40), TimeInForce(59)).
ctypedef struct ExecReport:
    int64_t seq          # the report log's own gap-free sequence (also the exec_id)
    int64_t ts_ns        # event time when it was made: the venue's clock (the latest event time
                         # of the quotes and trades read, or a delayed request's arrival)
    int64_t recv_ns      # when the causing row entered the engine (ns since the Unix epoch)
    int32_t symbol_id    # the order's symbol
    int32_t kind         # KIND_EXEC
    int64_t cl_ord_id
    int64_t orig_cl_ord_id
    int64_t order_id     # the venue's id, 1, 2, ... in acceptance order (0: none)
    int64_t cause_seq    # engine seq of the input row that caused it
    int64_t expire_ns    # GTD / DAY: event time the order expires (0: never)
    double price
    double stop_price
    double quantity
    double last_px       # this fill's price (NaN: no fill)
    double last_qty      # this fill's quantity (0: no fill)
    double cum_qty
    double leaves_qty
    double avg_px        # average fill price of the order (NaN before its first fill)
    double position     # the account's signed position in the symbol after this report
    double position_avg_px
    double realized_pnl
    double fees
    int64_t done_ns      # when the venue wrote it
    uint8_t account
    uint8_t exec_type
    uint8_t ord_status
    uint8_t side         # FIX Side(54): 1 buy, 2 sell
    uint8_t ord_type
    uint8_t tif
    uint8_t reject_reason
    uint8_t post_only
