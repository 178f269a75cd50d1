# The paper venue's tables (venue.pxi): the ids every account has used, the
# open orders and each symbol's time priority among them, the positions.

cdef inline int64_t id_key(uint8_t account, int64_t cl_ord_id) noexcept nogil:
    return (<int64_t>account << 47) | cl_ord_id


cdef IdSlot *id_find(Venue *v, int64_t key) noexcept nogil:
    """The slot of key, or the empty slot where it would go."""
    cdef uint64_t h = (<uint64_t>key * <uint64_t>0x9E3779B97F4A7C15) >> 17
    cdef int64_t i = <int64_t>(h & <uint64_t>(v.ids_cap - 1))
    while v.ids[i].key != 0 and v.ids[i].key != key:
        i = (i + 1) & (v.ids_cap - 1)
    return &v.ids[i]


cdef IdSlot *id_add(Venue *v, int64_t key) noexcept nogil:
    """Note a used id (not open); NULL when the table cannot grow."""
    cdef IdSlot *old
    cdef int64_t old_cap, i
    cdef IdSlot *s
    if (v.ids_n + 1) * 2 > v.ids_cap:
        old = v.ids
        old_cap = v.ids_cap
        v.ids = <IdSlot *>calloc(old_cap * 2, sizeof(IdSlot))
        if v.ids == NULL:
            v.ids = old
            return NULL
        v.ids_cap = old_cap * 2
        for i in range(old_cap):
            if old[i].key != 0:
                id_find(v, old[i].key)[0] = old[i]
        free(old)
    s = id_find(v, key)
    s.key = key
    s.order = -1
    s.status = OS_REJECTED
    v.ids_n += 1
    return s


cdef int32_t order_alloc(Venue *v) noexcept nogil:
    cdef int32_t i, idx
    cdef VenueOrder *grown
    if v.free_head < 0:
        grown = <VenueOrder *>realloc(v.orders, <size_t>v.orders_cap * 2 * sizeof(VenueOrder))
        if grown == NULL:
            return -1
        v.orders = grown
        for i in range(v.orders_cap, v.orders_cap * 2):
            memset(&v.orders[i], 0, sizeof(VenueOrder))
            v.orders[i].next = i + 1 if i + 1 < v.orders_cap * 2 else -1
        v.free_head = v.orders_cap
        v.orders_cap *= 2
    idx = v.free_head
    v.free_head = v.orders[idx].next
    memset(&v.orders[idx], 0, sizeof(VenueOrder))
    v.orders[idx].in_use = 1
    return idx


cdef void rest_append(Venue *v, int32_t idx) noexcept nogil:
    """Put an order at the back of its symbol's time priority."""
    cdef MarketView *m = &v.markets[v.orders[idx].symbol]
    v.orders[idx].prev = m.tail
    v.orders[idx].next = -1
    if m.tail >= 0:
        v.orders[m.tail].next = idx
    else:
        m.head = idx
    m.tail = idx


cdef void rest_unlink(Venue *v, int32_t idx) noexcept nogil:
    cdef VenueOrder *o = &v.orders[idx]
    cdef MarketView *m = &v.markets[o.symbol]
    if o.prev >= 0:
        v.orders[o.prev].next = o.next
    else:
        m.head = o.next
    if o.next >= 0:
        v.orders[o.next].prev = o.prev
    else:
        m.tail = o.prev


cdef void order_close(Venue *v, int32_t idx, uint8_t status) noexcept nogil:
    """An order is done (filled, canceled, expired): out of its book, its id
    no longer open, its slot free."""
    cdef VenueOrder *o = &v.orders[idx]
    cdef IdSlot *slot
    o.ord_status = status
    o.leaves_qty = 0.0
    rest_unlink(v, idx)
    slot = id_find(v, id_key(o.account, o.cl_ord_id))
    slot.order = -1
    slot.status = status
    v.accounts[o.account].open_orders -= 1
    v.n_open -= 1
    o.in_use = 0
    o.next = v.free_head
    v.free_head = idx


cdef Position *position_of(Venue *v, uint8_t account, int32_t symbol) noexcept nogil:
    """The account's position in the symbol (NULL: no memory)."""
    cdef Account *a = &v.accounts[account]
    if a.positions == NULL:
        a.positions = <Position *>calloc(v.max_symbols, sizeof(Position))
        if a.positions == NULL:
            return NULL
    return &a.positions[symbol]
