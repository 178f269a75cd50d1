"""Venue messages in the shapes of the venues' public documentation (our own samples).

Binance: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
Coinbase: https://docs.cdp.coinbase.com/exchange/websocket-feed/channels
Kraken: https://docs.kraken.com/api/docs/websocket-v2/trade and .../ticker
"""

from __future__ import annotations

import json
from datetime import datetime, timezone


def iso(ts_ns: int) -> str:
    """ns since the epoch -> RFC 3339 with microseconds, as Coinbase and Kraken write it."""
    dt = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ts_ns % 1_000_000_000) // 1000:06d}Z"


# -- Binance (combined streams) ---------------------------------------------------------

def binance_trade(symbol: str, trade_id: int, price: str, qty: str, ts_ms: int,
                  buyer_is_maker: bool = False) -> str:
    data = {"e": "trade", "E": ts_ms + 1, "s": symbol.upper(), "t": trade_id, "p": price,
            "q": qty, "T": ts_ms, "m": buyer_is_maker, "M": True}
    return json.dumps({"stream": f"{symbol.lower()}@trade", "data": data})


def binance_agg_trade(symbol: str, agg_id: int, price: str, qty: str, ts_ms: int,
                      buyer_is_maker: bool = False) -> str:
    data = {"e": "aggTrade", "E": ts_ms + 1, "s": symbol.upper(), "a": agg_id, "p": price,
            "q": qty, "f": agg_id * 3, "l": agg_id * 3 + 2, "T": ts_ms, "m": buyer_is_maker}
    return json.dumps({"stream": f"{symbol.lower()}@aggTrade", "data": data})


def binance_book(symbol: str, update_id: int, bid: str, bid_qty: str, ask: str, ask_qty: str,
                 event_ms: int | None = None) -> str:
    data = {"u": update_id, "s": symbol.upper(), "b": bid, "B": bid_qty, "a": ask, "A": ask_qty}
    if event_ms is not None:                       # futures bookTicker
        data.update({"e": "bookTicker", "E": event_ms, "T": event_ms - 1})
    return json.dumps({"stream": f"{symbol.lower()}@bookTicker", "data": data})


def binance_shutdown(ts_ms: int) -> str:
    return json.dumps({"e": "serverShutdown", "E": ts_ms})


# -- Coinbase Exchange ----------------------------------------------------------------

def coinbase_match(product: str, trade_id: int, sequence: int, price: str, size: str,
                   ts_ns: int, maker_side: str = "sell", kind: str = "match") -> str:
    return json.dumps({"type": kind, "trade_id": trade_id, "sequence": sequence,
                       "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
                       "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1",
                       "time": iso(ts_ns), "product_id": product, "size": size,
                       "price": price, "side": maker_side})


def coinbase_ticker(product: str, sequence: int, bid: str, bid_size: str, ask: str,
                    ask_size: str, ts_ns: int, trade_id: int = 1) -> str:
    return json.dumps({"type": "ticker", "sequence": sequence, "product_id": product,
                       "price": bid, "open_24h": "1310.79", "volume_24h": "404592.4",
                       "low_24h": "1270.54", "high_24h": "1317.16", "volume_30d": "1.2e7",
                       "best_bid": bid, "best_bid_size": bid_size, "best_ask": ask,
                       "best_ask_size": ask_size, "side": "buy", "time": iso(ts_ns),
                       "trade_id": trade_id, "last_size": "0.01"})


def coinbase_heartbeat(product: str, sequence: int, last_trade_id: int, ts_ns: int) -> str:
    return json.dumps({"type": "heartbeat", "sequence": sequence, "last_trade_id": last_trade_id,
                       "product_id": product, "time": iso(ts_ns)})


# -- Kraken v2 -------------------------------------------------------------------------

def kraken_trades(*trades: tuple) -> str:
    """trades: (symbol, trade_id, price, qty, side, ts_ns) each."""
    return json.dumps({"channel": "trade", "type": "update", "data": [
        {"symbol": s, "side": side, "price": price, "qty": qty, "ord_type": "market",
         "trade_id": tid, "timestamp": iso(ts)} for s, tid, price, qty, side, ts in trades]})


def kraken_ticker(symbol: str, bid: float, bid_qty: float, ask: float, ask_qty: float,
                  ts_ns: int | None = None) -> str:
    entry = {"symbol": symbol, "bid": bid, "bid_qty": bid_qty, "ask": ask, "ask_qty": ask_qty,
             "last": bid, "volume": 1000.5, "vwap": bid, "low": bid - 10, "high": ask + 10,
             "change": 1.5, "change_pct": 0.01}
    if ts_ns is not None:
        entry["timestamp"] = iso(ts_ns)
    return json.dumps({"channel": "ticker", "type": "update", "data": [entry]})


KRAKEN_HEARTBEAT = json.dumps({"channel": "heartbeat"})
