"""Column mappings: presets, detection from the header, overrides and their errors."""

from __future__ import annotations

import pytest

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.csv.format import PRESETS, CSVFormat, FormatMismatch, resolve_format

TARDIS_TRADES = ["exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"]
TARDIS_QUOTES = ["exchange", "symbol", "timestamp", "local_timestamp", "ask_amount", "ask_price",
                 "bid_price", "bid_amount"]
TRUEFX = ["timestamp", "bid", "ask"]


def test_presets_are_detected_from_their_headers():
    assert resolve_format(TARDIS_TRADES) == PRESETS["tardis-trades"]
    assert resolve_format(TARDIS_QUOTES) == PRESETS["tardis-quotes"]
    fmt = resolve_format(TRUEFX, fixed_symbol=True)
    assert fmt.name == "truefx" and fmt.time_unit == "iso" and fmt.symbol is None


def test_tardis_quotes_map_ask_and_bid_by_name_not_position():
    fmt = resolve_format(TARDIS_QUOTES)
    assert (fmt.bid, fmt.ask, fmt.bid_size, fmt.ask_size) == ("bid_price", "ask_price", "bid_amount",
                                                              "ask_amount")
    assert fmt.time_unit == "us"


def test_detection_by_common_names():
    fmt = resolve_format(["Time", "Ticker", "Px", "Qty"])
    assert fmt.kind == "trades"
    assert (fmt.timestamp, fmt.symbol, fmt.price, fmt.size) == ("Time", "Ticker", "Px", "Qty")
    assert fmt.time_unit == "auto"
    fmt = resolve_format(["ts", "symbol", "bid_px", "ask_px", "bid_qty", "ask_qty"])
    assert fmt.kind == "quotes" and fmt.bid_size == "bid_qty" and fmt.ask_size == "ask_qty"


def test_a_header_with_both_kinds_needs_kind():
    header = ["timestamp", "symbol", "price", "size", "bid", "ask"]
    with pytest.raises(FormatMismatch, match="kind='trades' or kind='quotes'"):
        resolve_format(header)
    assert resolve_format(header, kind="quotes").kind == "quotes"
    assert resolve_format(header, kind="trades").price == "price"


def test_ambiguous_columns_are_named():
    with pytest.raises(FormatMismatch, match=r"several columns that could be the size \(amount, qty\)"):
        resolve_format(["timestamp", "symbol", "price", "amount", "qty"])
    fmt = resolve_format(["timestamp", "symbol", "price", "amount", "qty"], columns={"size": "qty"})
    assert fmt.size == "qty"


def test_missing_columns_of_a_preset_are_named():
    with pytest.raises(FormatMismatch, match=r"missing column 'amount' \(the size\) for preset "
                                             r"tardis-trades; the header has: exchange, symbol"):
        resolve_format([c for c in TARDIS_TRADES if c != "amount"], preset="tardis-trades")


def test_no_symbol_column_asks_for_a_symbol():
    with pytest.raises(FormatMismatch, match="give the symbol of the file with symbol="):
        resolve_format(TRUEFX)


def test_nothing_recognisable():
    with pytest.raises(FormatMismatch, match="cannot tell what the columns hold"):
        resolve_format(["a", "b", "c"])


def test_columns_override_a_preset_and_drop_optional_fields():
    fmt = resolve_format(TARDIS_TRADES, columns={"timestamp": "local_timestamp", "side": None})
    assert fmt.timestamp == "local_timestamp" and fmt.side is None and fmt.price == "price"
    with pytest.raises(FormatMismatch, match="mapped to both"):
        resolve_format(TARDIS_TRADES, columns={"size": "price"})


def test_time_unit_override_and_fixed_symbol():
    fmt = resolve_format(TARDIS_TRADES, time_unit="ms", fixed_symbol=True)
    assert fmt.time_unit == "ms" and fmt.symbol is None


def test_argument_errors():
    with pytest.raises(InvalidArgumentError, match="unknown preset 'tardis'"):
        resolve_format(TARDIS_TRADES, preset="tardis")
    with pytest.raises(InvalidArgumentError, match="unknown field in columns: 'volume'"):
        resolve_format(TARDIS_TRADES, columns={"volume": "amount"})
    with pytest.raises(InvalidArgumentError, match="kind must be"):
        resolve_format(TARDIS_TRADES, kind="bars")


def test_a_format_object_as_preset():
    mine = CSVFormat("trades", timestamp="t", time_unit="ms", symbol="s", price="p", size="q")
    assert resolve_format(["t", "s", "p", "q"], preset=mine) == mine
