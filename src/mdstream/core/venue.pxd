# The paper venue: orders matched against the engine's own market data
# (venue.pxi; its rules are docs/guides/paper-venue.md, its plain-Python
# reference mdstream/venue/reference.py).

# FIX 4.4 codes: Side(54), OrdType(40), TimeInForce(59), ExecType(150, the
# FIX 4.2 values for partial fill and fill), OrdStatus(39).
cdef enum:
    SIDE_BUY = 1
    SIDE_SELL = 2
    OT_MARKET = 1
    OT_LIMIT = 2
    OT_STOP = 3
    OT_STOP_LIMIT = 4
    TIF_DAY = 0
    TIF_GTC = 1
    TIF_IOC = 3
    TIF_FOK = 4
    TIF_GTD = 6
    EXEC_NEW = 0
    EXEC_PARTIAL_FILL = 1
    EXEC_FILL = 2
    EXEC_CANCELED = 4
    EXEC_REPLACED = 5
    EXEC_REJECTED = 8
    EXEC_EXPIRED = 12
    OS_NEW = 0
    OS_PARTIALLY_FILLED = 1
    OS_FILLED = 2
    OS_CANCELED = 4
    OS_REJECTED = 8
    OS_EXPIRED = 12

# Reject (and cancel) reasons: mdstream.venue.codes.RejectReason has their texts.
cdef enum:
    REJ_NONE = 0
    REJ_NO_MARKET = 1
    REJ_DUPLICATE_CL_ORD_ID = 2
    REJ_UNKNOWN_ORDER = 3
    REJ_TOO_LATE_TO_CANCEL = 4
    REJ_MAX_ORDER_QTY = 5
    REJ_MAX_NOTIONAL = 6
    REJ_MAX_POSITION = 7
    REJ_MAX_OPEN_ORDERS = 8
    REJ_PRICE_COLLAR = 9
    REJ_RATE_LIMIT = 10
    REJ_POST_ONLY_WOULD_CROSS = 11
    REJ_IOC_REMAINDER = 12
    REJ_FOK_UNFILLED = 13
    REJ_UNKNOWN_ACCOUNT = 14
    REJ_REPLACE_BELOW_FILLED = 15
    REJ_EXPIRE_TIME_PASSED = 16

cdef enum:
    VENUE_BATCH = 1024          # results the venue reads from the log at once
    VENUE_MAX_ACCOUNTS = 256    # OrderRequest.account is a byte

ctypedef struct Position:
    double quantity             # signed: long > 0, short < 0
    double avg_px               # average entry price of the open quantity (0: flat)
    double realized_pnl
    double fees
    int64_t fills

ctypedef struct Account:
    double fee_bps
    double max_order_qty        # INFINITY: no limit (likewise below)
    double max_notional
    double max_position
    double price_collar_bps
    int64_t max_open_orders     # -1: no limit
    int64_t open_orders
    Position *positions         # max_symbols of them, allocated at its first report

# The venue's view of one symbol, from the results it has read.
ctypedef struct MarketView:
    double bid
    double ask
    double bid_size
    double ask_size
    double bid_taken            # of the current quote's size, already filled by our orders
    double ask_taken
    double last_px              # last trade
    double last_size
    bint seen                   # a quote or a trade has been seen: the symbol has a market
    bint traded
    int32_t head                # resting orders in time priority (VenueOrder indexes; -1: none)
    int32_t tail

ctypedef struct VenueOrder:
    int64_t cl_ord_id
    int64_t order_id
    int64_t expire_ns           # 0: never
    double price
    double stop_price
    double quantity
    double cum_qty
    double leaves_qty
    double avg_px
    double queue_ahead          # size ahead of it at its price (queue position option)
    int32_t symbol
    int32_t prev
    int32_t next                # also the free list's link
    uint8_t account
    uint8_t side
    uint8_t ord_type
    uint8_t tif
    uint8_t post_only
    uint8_t triggered           # stops: 0 waiting, 1 triggered, 2 triggered by the row at hand
    uint8_t ord_status
    uint8_t in_use

ctypedef struct IdSlot:
    int64_t key                 # account << 47 | cl_ord_id; 0: empty
    int32_t order               # its open order's index, -1: not open (closed or rejected)
    uint8_t status              # not open: its last OrdStatus (REJECTED for a refused request)

ctypedef struct Venue:
    int32_t max_symbols
    int32_t order_sid           # the pseudo symbol id of order requests in the result log
    Account *accounts
    int32_t n_accounts
    int64_t latency_ns
    bint queue_position
    MarketView *markets
    VenueOrder *orders
    int32_t orders_cap
    int32_t free_head
    int32_t n_open
    IdSlot *ids                 # every (account, cl_ord_id) ever used: open addressing
    int64_t ids_cap
    int64_t ids_n
    int64_t next_order_id
    int64_t clock               # event time: the latest ts_ns of the quotes and trades read
    int64_t next_expiry         # the earliest expire_ns of the open orders (INT64_MAX: none)
    OrderRequest *pending       # delayed requests (latency_ns > 0), a FIFO ring
    int64_t *pending_due
    int64_t pend_head
    int64_t pend_len
    int64_t pend_cap
    ExecReport *out             # reports of the rows at hand, before they go to the log
    int64_t out_n
    int64_t out_cap
    int64_t next_exec_seq
    int64_t cause_seq           # the row at hand
    int64_t cause_recv
    bint no_memory              # a table could not grow: the venue stopped matching
    int64_t requests            # order requests processed
    ResultLog log               # the execution report log (ExecReport rows)
    Reader rd                   # its reader of the engine's result log (block, with orders)
    pthread_t thread
    bint running
    bint exited                 # the venue thread has read the log to its end and left
    pthread_mutex_t lock        # held while the venue changes its state; queries take it

cdef int venue_init(Venue *v, int32_t max_symbols, int64_t ring_size, int32_t max_readers,
                    int64_t latency_ns, bint queue_position) noexcept nogil
cdef void venue_destroy(Venue *v) noexcept nogil
cdef void venue_process(Venue *v, const Result *rows, int64_t n) noexcept nogil
cdef int venue_flush(Venue *v) noexcept nogil
cdef double venue_mark(const Venue *v, int32_t symbol) noexcept nogil
