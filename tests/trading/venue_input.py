"""A deterministic input of ticks and order requests for the paper venue's
tests: item i of the sequence gets engine seq i (bars are off)."""

from __future__ import annotations

import random

import numpy as np

SYMBOLS = ["AAA", "BBB", "CCC"]
#: The columns of an execution report that a replay must reproduce (done_ns
#: is the wall clock of the venue thread).
SAME = ["seq", "ts_ns", "recv_ns", "symbol_id", "cl_ord_id", "orig_cl_ord_id", "order_id",
        "cause_seq", "expire_ns", "price", "stop_price", "quantity", "last_px", "last_qty",
        "cum_qty", "leaves_qty", "avg_px", "position", "position_avg_px", "realized_pnl",
        "fees", "account_id", "exec_type", "ord_status", "side", "ord_type", "tif",
        "reject_reason", "post_only"]


def sequence(n: int, seed: int = 7) -> list[tuple]:
    """n items: ("quote", sym, bid, ask, bid_size, ask_size, ts), ("trade", sym,
    price, size, ts), ("new", account, cl_ord_id, sym, side, qty, kwargs),
    ("cancel", account, orig), ("replace", account, orig, new_id, price)."""
    rng = random.Random(seed)
    mids = {s: 100.0 for s in SYMBOLS}
    ts = 1_700_000_000_000_000_000
    next_id = {"alice": 1, "bob": 1}
    items: list[tuple] = []
    for _ in range(n):
        ts += rng.randrange(1_000_000, 50_000_000)
        sym = rng.choice(SYMBOLS)
        r = rng.random()
        if r < 0.45:
            mids[sym] += rng.choice((-1, 0, 1)) * 0.5
            m = mids[sym]
            items.append(("quote", sym, m - 0.5, m + 0.5, float(rng.randint(1, 9)),
                          float(rng.randint(1, 9)), ts))
        elif r < 0.75:
            items.append(("trade", sym, mids[sym] + rng.choice((-1.0, -0.5, 0.0, 0.5, 1.0)),
                          float(rng.randint(1, 6)), ts))
        elif r < 0.92:
            account = rng.choice(("alice", "bob"))
            cl = next_id[account]
            next_id[account] += 1
            side = rng.choice(("buy", "sell"))
            kind = rng.random()
            if kind < 0.6:
                kwargs = {"price": mids[sym] + rng.choice((-1.0, -0.5, 0.0, 0.5, 1.0)),
                          "tif": rng.choice(("gtc", "gtc", "ioc", "fok", "day"))}
            elif kind < 0.8:
                kwargs = {"ord_type": "market", "tif": rng.choice(("gtc", "ioc"))}
            else:
                kwargs = {"ord_type": "stop", "stop_price": mids[sym] + rng.choice((-1.0, 1.0))}
            items.append(("new", account, cl, sym, side, float(rng.randint(1, 8)), kwargs))
        elif r < 0.97:
            account = rng.choice(("alice", "bob"))
            items.append(("cancel", account, rng.randint(1, max(1, next_id[account]))))
        else:
            account = rng.choice(("alice", "bob"))
            new_id = next_id[account]
            next_id[account] += 1
            items.append(("replace", account, rng.randint(1, max(1, next_id[account] - 1)),
                          new_id, mids[sym] + rng.choice((-0.5, 0.0, 0.5))))
    return items


def feed(engine, items: list[tuple]) -> None:
    """Send items in order, one call each (each call is sequenced in call order)."""
    for item in items:
        what = item[0]
        if what == "quote":
            _, sym, bid, ask, bs, as_, ts = item
            engine.publish_quotes(sym, bid, ask, bs, as_, ts_ns=ts)
        elif what == "trade":
            _, sym, price, size, ts = item
            engine.publish_trades(sym, price, size, ts_ns=ts)
        elif what == "new":
            _, account, cl, sym, side, qty, kwargs = item
            engine.submit_order(account, cl, sym, side, qty, **kwargs)
        elif what == "cancel":
            engine.cancel_order(item[1], item[2])
        else:
            _, account, orig, new_id, price = item
            engine.replace_order(account, orig, new_id, price=price)


def read_all(sub) -> np.ndarray:
    """Every report until the engine's data ends."""
    parts = [batch.data.copy() for batch in sub]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=sub_dtype())


def sub_dtype():
    from mdstream.venue import EXEC_DTYPE
    return EXEC_DTYPE
