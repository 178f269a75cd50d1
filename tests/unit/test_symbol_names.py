"""The one rule for symbol names (mdstream.text), applied wherever names enter,
and printable(): untrusted text with its control characters escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

import mdstream
from mdstream.engine.symbols import SymbolTable
from mdstream.errors import InvalidArgumentError
from mdstream.text import MAX_SYMBOL_LENGTH, check_symbol_name, printable

TRUEFX = Path(__file__).parents[1] / "data" / "real" / "truefx-usdjpy-ticks.csv"

REFUSED = {
    "A\u2028B": "line separator",
    "A\u2029B": "paragraph separator",
    "A\u0085B": "control character",       # NEL, a C1 control
    "A\nB": "control character",
    "A\x1b[31mB": "control character",
    "A\x00B": "control character",
    "A\x7fB": "control character",
    "A\ud800B": "lone surrogate",
    "A\u202eB": "bidirectional",
    "x" * (MAX_SYMBOL_LENGTH + 1): f"at most {MAX_SYMBOL_LENGTH}",
    "": "non-empty",
    " A": "white space",
    "A\u3000": "white space",
}


@pytest.mark.parametrize("name,why", REFUSED.items(), ids=[repr(n[:12]) for n in REFUSED])
def test_refused_names_say_why(name, why):
    with pytest.raises(InvalidArgumentError, match=why) as info:
        check_symbol_name(name)
    # The message itself is safe to print.
    assert printable(str(info.value)) == str(info.value)


@pytest.mark.parametrize("name", ["AAPL", "BRK.B", "EUR/USD", "Zürich", "株式", "a b",
                                  "x" * MAX_SYMBOL_LENGTH, "<img src=x>", "📈"])
def test_accepted_names(name):
    assert check_symbol_name(name) == name


def test_not_a_string():
    with pytest.raises(InvalidArgumentError, match="must be a string"):
        check_symbol_name(["A"])


def test_the_symbol_table_applies_the_rule_and_adds_nothing_on_refusal():
    table = SymbolTable(10)
    assert table.add(["A", "B"]) == [0, 1]
    with pytest.raises(InvalidArgumentError, match="line separator"):
        table.add(["C", "D\u2028E"])
    assert list(table.names) == ["A", "B"]
    with pytest.raises(InvalidArgumentError):
        table.add([["unhashable"]])
    # Names from a journal keep their ids unchecked.
    assert list(SymbolTable(10, existing=["A\u2028B", "C"]).names) == ["A\u2028B", "C"]


@pytest.mark.parametrize("path", ["add_symbols", "symbols=", "simulated feed", "csv"])
def test_every_way_in_refuses_the_same_names(path):
    bad = "EVIL\x1b]0;title\x07"
    with pytest.raises(InvalidArgumentError, match="control character"):
        if path == "add_symbols":
            mdstream.Engine().add_symbols([bad])
        elif path == "symbols=":
            mdstream.Engine(symbols=[bad])
        elif path == "simulated feed":
            mdstream.Engine(feed=mdstream.SimulatedFeed(symbols=[bad], rate=0, count=1))
        else:
            mdstream.Engine(feed=mdstream.CSVFeed(TRUEFX, symbol=bad, speed=0))


def test_printable_escapes_controls_only():
    assert printable("AAPL") == "AAPL"
    assert printable("Zürich 株式 📈") == "Zürich 株式 📈"
    assert printable("A\x1b[2J\x07B") == "A\\x1b[2J\\x07B"
    assert printable("A\u2028B\u0085C\u202eD") == "A\\u2028B\\x85C\\u202eD"
    assert printable("line\r\nbreak\t") == "line\\r\\nbreak\\t"
    assert printable(123) == "123"


def test_unknown_symbol_message_with_no_symbols_declared():
    from mdstream.errors import UnknownSymbolError

    text = str(UnknownSymbolError(["X"], known=[]))
    assert "the engine has no symbols yet" in text and "knows: ." not in text
    assert "the engine knows: A, B." in str(UnknownSymbolError(["X"], known=["A", "B"]))
