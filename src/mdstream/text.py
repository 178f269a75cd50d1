"""Untrusted text: the rule for symbol names, and printing names safely.

Symbol names come from outside (CSV files, gRPC clients, feeds, ``publish``),
so one rule decides which are accepted (:func:`check_symbol_name`, applied by
the symbol table every path lands in), and one helper prints any text that
came from outside with its control characters escaped (:func:`printable`),
so a name can neither break a file format nor drive a terminal.
"""

from __future__ import annotations

import unicodedata

from mdstream.errors import InvalidArgumentError

__all__ = ["MAX_SYMBOL_LENGTH", "check_symbol_name", "symbol_name_problem", "printable"]

#: The longest symbol name accepted, in characters.
MAX_SYMBOL_LENGTH = 256

#: Unicode categories refused in a name: control characters (C0, DEL, C1: Cc),
#: line and paragraph separators (Zl, Zp) and lone surrogates (Cs, which no
#: UTF-8 encoder takes).
_REFUSED_CATEGORIES = {"Cc": "a control character", "Zl": "a line separator",
                       "Zp": "a paragraph separator", "Cs": "a lone surrogate"}
#: Bidirectional embeddings, overrides and isolates (Cf): they reorder how the
#: text around them is shown, so a name could pass for another one.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _char_problem(ch: str) -> str | None:
    what = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
    if what is None and ch in _BIDI_CONTROLS:
        what = "a bidirectional-text control"
    return what


def symbol_name_problem(name: object) -> str | None:
    """Why ``name`` is not an acceptable symbol name, or None when it is.

    A name is a non-empty string of at most MAX_SYMBOL_LENGTH characters,
    without surrounding white space, control characters (category Cc), line
    or paragraph separators (Zl, Zp), lone surrogates (Cs) or
    bidirectional-text controls (U+202A-U+202E, U+2066-U+2069).
    """
    if not isinstance(name, str):
        return f"a symbol must be a string, got {type(name).__name__} {printable(repr(name))}"
    if not name:
        return "a symbol must be a non-empty string"
    if len(name) > MAX_SYMBOL_LENGTH:
        return (f"a symbol has at most {MAX_SYMBOL_LENGTH} characters, got {len(name)} "
                f"({printable(name[:40])}...)")
    for i, ch in enumerate(name):
        what = _char_problem(ch)
        if what is not None:
            return (f"a symbol may not contain {what}: {printable(name)} has U+{ord(ch):04X} "
                    f"at position {i}")
    if name != name.strip():
        return f"a symbol may not start or end with white space, got {printable(repr(name))}"
    return None


def check_symbol_name(name: object) -> str:
    """``name`` if it is an acceptable symbol name (see symbol_name_problem),
    else InvalidArgumentError saying what is wrong with it."""
    problem = symbol_name_problem(name)
    if problem is not None:
        raise InvalidArgumentError(problem)
    return name  # type: ignore[return-value]


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{code:02x}")
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object) -> str:
    """``text`` (str() of it) safe to print on a terminal or in a log line:
    control characters (an escape sequence's ESC, CR, BEL, the C1 controls
    ...), line and paragraph separators, lone surrogates and bidirectional
    controls are shown as Python escapes (``\\x1b``, ``\\u2028``). Anything
    else, including any other non-ASCII letter, is unchanged."""
    text = str(text)
    if all(_char_problem(ch) is None for ch in text):
        return text
    return "".join(_escape(ch) if _char_problem(ch) is not None else ch for ch in text)
