"""What the commands print: results in the original project's style, prices,
quantities, latency summaries."""

from __future__ import annotations

import datetime
from decimal import Decimal

from mdstream.text import printable

__all__ = ["format_result", "row_line", "message_line", "digits", "px", "qty", "amount",
           "fmt_latency", "fmt_age", "plural",
           "RESULT_FIELDS"]

KIND_TRADE, KIND_QUOTE, KIND_BAR = 0, 1, 2
#: The fields a printed result uses.
RESULT_FIELDS = ("seq", "kind", "ts_ns", "price", "size", "value", "vwap", "volume", "bid", "ask",
                 "bid_size", "ask_size", "open", "high", "low", "trade_count", "interval_ns")


def digits(x: float, significant: int | None = None) -> str:
    """``x`` in positional notation with all of its significant digits: the
    shortest text that reads back as the same float (``significant=None``),
    or that many significant digits (at least the whole part and two
    decimals) for computed values. Never rounds a
    small value to zero nor two different values to the same text; values
    below 1e-12 or from 1e16 on are shown in scientific notation."""
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return repr(x)
    if significant is not None:
        # Never fewer digits than the whole part and two decimals.
        significant = max(significant, len(str(int(abs(x)))) + 2 if abs(x) < 1e16 else 17)
    text = repr(x) if significant is None else format(x, f".{significant}g")
    d = Decimal(text)
    if d == 0:
        return "0"
    if not -12 <= d.adjusted() < 16:
        return text
    return format(d.normalize(), "f")


def _grouped(text: str, min_decimals: int, thousands: bool) -> str:
    if "e" in text or text in ("nan", "inf", "-inf"):
        return text
    whole, _, frac = text.partition(".")
    frac = frac.ljust(min_decimals, "0")
    if thousands:
        whole = f"{int(whole):,}" if whole not in ("-0", "") else whole
    return f"{whole}.{frac}" if frac else whole


def px(x: float, significant: int | None = None) -> str:
    """A price with every significant digit and at least two decimals:
    208.40, 86.655, 0.000000001, -37.63; '-' for NaN (a missing quote side)."""
    x = float(x)
    if x != x:
        return "-"
    return _grouped(digits(x, significant), 2, False)


def qty(x: float, significant: int | None = None) -> str:
    """A size with every significant digit (1,200 or 0.132), or a computed
    quantity (a volume: a sum of sizes) to ``significant`` digits."""
    return _grouped(digits(x, significant), 0, True)


def amount(x: float) -> str:
    """A computed amount (price x size, VWAP): 12 significant digits, at
    least two decimals, thousands separated: 4,793.89."""
    return _grouped(digits(x, 12), 2, True)


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
    batch, or a dict); times are ns since the epoch. The symbol comes from
    outside: its control characters are printed escaped (mdstream.text.printable).
    """
    from mdstream.durations import format_duration_ns

    symbol = printable(symbol)
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
                f"l={px(r['low'])} c={px(r['price'])} v={qty(r['volume'], 12)} "
                f"vwap={px(r['vwap'], 12)} n={int(r['trade_count']):,}  seq={seq}")
    return (f"[PY] {symbol} -> {amount(r['value'])}  px={px(r['price'])} size={qty(r['size'])} "
            f"vwap={px(r['vwap'], 12)} vol={qty(r['volume'], 12)}  seq={seq}")


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


def fmt_age(count: int, p) -> str:
    """Results that the engine received before the subscription (a replay
    from the journal or the ring): their count and age, which is not a
    latency; '' when there were none."""
    if not count:
        return ""
    age = "" if p is None else f", age p50 {p[0] / 1e3:,.3f} s max {p[3] / 1e3:,.3f} s"
    return f"; {count:,} replayed results (received by the engine before this subscription{age})"


def plural(n: int, word: str) -> str:
    """'1 segment', '2 segments', '1,200 results'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
