"""What the commands print: results in the original project's style, prices,
quantities, latency summaries."""

from __future__ import annotations

import datetime

__all__ = ["format_result", "row_line", "message_line", "px", "qty", "fmt_latency", "plural",
           "RESULT_FIELDS"]

KIND_TRADE, KIND_QUOTE, KIND_BAR = 0, 1, 2
#: The fields a printed result uses.
RESULT_FIELDS = ("seq", "kind", "ts_ns", "price", "size", "value", "vwap", "volume", "bid", "ask",
                 "bid_size", "ask_size", "open", "high", "low", "trade_count", "interval_ns")


def px(x: float) -> str:
    """A price: two decimals, or as many as it has (up to 6), e.g. 86.655; '-' for NaN."""
    x = float(x)
    if x != x:
        return "-"
    if abs(x - round(x, 2)) < 1e-9 * max(1.0, abs(x)):
        return f"{x:.2f}"
    return f"{x:.6f}".rstrip("0")


def qty(x: float) -> str:
    """A size or volume: 1,200 or 0.132."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:,.6f}".rstrip("0")


def _bar_start(ts_ns: int, interval_ns: int) -> str:
    """A bar's start time (UTC), with milliseconds for sub-second intervals."""
    t = datetime.datetime.fromtimestamp(ts_ns / 1e9, tz=datetime.timezone.utc)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if interval_ns % 1_000_000_000:
        text += f".{t.microsecond // 1000:03d}"
    return text


def format_result(symbol: str, r) -> str:
    """One result in the original project's style: '[PY] AAPL -> 1500.00 ...'.

    ``r`` gives the fields of RESULT_FIELDS by ``r[name]`` (a row of a
    batch, or a dict); times are ns since the epoch.
    """
    from mdstream.durations import format_duration_ns

    kind = int(r["kind"])
    seq = int(r["seq"])
    if kind == KIND_QUOTE:
        bid = px(r["bid"]) + (f" x {qty(r['bid_size'])}" if r["bid_size"] else "")
        ask = px(r["ask"]) + (f" x {qty(r['ask_size'])}" if r["ask_size"] else "")
        return f"[PY] {symbol} -> quote {bid} / {ask}  seq={seq}"
    if kind == KIND_BAR:
        interval = int(r["interval_ns"])
        return (f"[PY] {symbol} {format_duration_ns(interval) if interval > 0 else '?'} bar "
                f"{_bar_start(int(r['ts_ns']), interval)} o={px(r['open'])} h={px(r['high'])} "
                f"l={px(r['low'])} c={px(r['price'])} v={qty(r['volume'])} "
                f"vwap={px(r['vwap'])} n={int(r['trade_count']):,}  seq={seq}")
    return (f"[PY] {symbol} -> {r['value']:,.2f}  px={px(r['price'])} size={qty(r['size'])} "
            f"vwap={px(r['vwap'])} vol={qty(r['volume'])}  seq={seq}")


def row_line(batch, i: int) -> str:
    """Row ``i`` of a ResultBatch, formatted."""
    r = batch.rows[i]
    return format_result(batch.symbols[int(r["symbol_id"])], r)


def message_line(m) -> str:
    """A Result message (StreamResults), formatted."""
    return format_result(m.symbol, {name: getattr(m, name) for name in RESULT_FIELDS})


def fmt_latency(p) -> str:
    """(p50, p99, p999, max) in ms (LatencyMeter) as one phrase; 'latency -' for None."""
    if p is None:
        return "latency -"
    return f"latency p50 {p[0]:.2f} ms p99 {p[1]:.2f} ms p999 {p[2]:.2f} ms max {p[3]:.2f} ms"


def plural(n: int, word: str) -> str:
    """'1 segment', '2 segments', '1,200 results'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
