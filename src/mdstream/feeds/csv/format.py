"""Column mappings of recorded trade and quote files: presets, and detection from the header."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Mapping, Sequence

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.timestamps import check_time_unit

__all__ = ["CSVFormat", "PRESETS", "FIELDS", "FormatMismatch", "resolve_format"]

TRADES = "trades"
QUOTES = "quotes"
KINDS = (TRADES, QUOTES)

#: The fields a column can be mapped to, with the kind of file that uses each.
FIELDS = {
    "timestamp": None, "symbol": None,
    "price": TRADES, "size": TRADES, "side": TRADES,
    "bid": QUOTES, "ask": QUOTES, "bid_size": QUOTES, "ask_size": QUOTES,
}


class FormatMismatch(ValueError):
    """The header does not fit the mapping (the caller names the file)."""


# Fields a file of that kind cannot do without (the others are optional).
_REQUIRED = {TRADES: ("timestamp", "price", "size"), QUOTES: ("timestamp", "bid", "ask")}


@dataclass(frozen=True)
class CSVFormat:
    """Which column holds what, in a file of trades or of quotes.

    Every field names a column of the header, or is None when the file has no
    such column (``symbol`` None: the symbol is fixed for the file; sizes
    None: 0). ``time_unit`` is s, ms, us or ns (numbers since the Unix epoch),
    iso (ISO 8601 text) or auto (decided from the file's first timestamp).
    ``side`` (trades) is not carried further: any value is accepted (see
    mdstream.tick_rules.side_codes for the encodings it reads).
    """

    kind: str
    timestamp: str = "timestamp"
    time_unit: str = "auto"
    symbol: str | None = None
    price: str | None = None
    size: str | None = None
    side: str | None = None
    bid: str | None = None
    ask: str | None = None
    bid_size: str | None = None
    ask_size: str | None = None
    name: str = "custom"

    def columns(self) -> dict[str, str]:
        """Field -> column, for the fields this format uses."""
        return {f: getattr(self, f) for f in FIELDS
                if getattr(self, f) is not None and FIELDS[f] in (None, self.kind)}


#: Presets for the formats of well-known recorders (see tests/data/SOURCES.md).
PRESETS: dict[str, CSVFormat] = {
    # Tardis.dev "trades" CSV: exchange,symbol,timestamp,local_timestamp,id,side,price,amount
    "tardis-trades": CSVFormat(TRADES, timestamp="timestamp", time_unit="us", symbol="symbol",
                               price="price", size="amount", side="side", name="tardis-trades"),
    # Tardis.dev "quotes" CSV (ask columns before bid ones):
    # exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
    "tardis-quotes": CSVFormat(QUOTES, timestamp="timestamp", time_unit="us", symbol="symbol",
                               bid="bid_price", ask="ask_price", bid_size="bid_amount",
                               ask_size="ask_amount", name="tardis-quotes"),
    # TrueFX ticks with a header: timestamp,bid,ask (ISO 8601); the symbol is fixed per file.
    "truefx": CSVFormat(QUOTES, timestamp="timestamp", time_unit="iso", bid="bid", ask="ask",
                        name="truefx"),
}

# The exact headers the presets are recognised by.
_PRESET_HEADERS = {
    ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"):
        "tardis-trades",
    ("exchange", "symbol", "timestamp", "local_timestamp", "ask_amount", "ask_price", "bid_price",
     "bid_amount"): "tardis-quotes",
    ("timestamp", "bid", "ask"): "truefx",
}

# Column names recognised for each field when there is no preset (compared
# case-insensitively, ignoring spaces, dashes and underscores).
_ALIASES = {
    "timestamp": ("timestamp", "ts", "time", "datetime", "tsevent", "tsns", "tsus", "tsms",
                  "eventtime", "exchangetimestamp", "transacttime"),
    "symbol": ("symbol", "sym", "ticker", "instrument", "instrumentid", "pair", "ccypair"),
    "price": ("price", "px", "tradeprice", "last", "lastprice"),
    "size": ("size", "amount", "qty", "quantity", "volume", "tradesize", "lastsize"),
    "side": ("side", "aggressorside", "takerside"),
    "bid": ("bid", "bidprice", "bidpx", "bestbid", "bestbidprice"),
    "ask": ("ask", "askprice", "askpx", "offer", "offerprice", "bestask", "bestaskprice"),
    "bid_size": ("bidsize", "bidamount", "bidqty", "bidquantity", "bidvolume"),
    "ask_size": ("asksize", "askamount", "askqty", "askquantity", "askvolume", "offersize"),
}


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " _-.")


def _detect_columns(header: Sequence[str]) -> dict[str, list[str]]:
    """Field -> the columns of the header
    it could be (several columns for one field: the caller reports the ambiguity)."""
    found: dict[str, list[str]] = {}
    for col in header:
        key = _norm(col)
        for field, aliases in _ALIASES.items():
            if key in aliases:
                found.setdefault(field, []).append(col)
    return found


def resolve_format(header: Sequence[str], preset: str | CSVFormat | None = None,
                   columns: Mapping[str, str | None] | None = None, kind: str | None = None,
                   time_unit: str | None = None, fixed_symbol: bool = False) -> CSVFormat:
    """The format of a file with this header.

    ``preset`` names one of PRESETS (or is a CSVFormat); None detects it: a
    header equal to a preset's selects it, otherwise each field is looked up
    among common column names. ``columns`` maps fields to column names (None
    to drop an optional one) on top of that; ``kind`` ("trades" or "quotes")
    settles a header with both; ``time_unit`` overrides the preset's unit.
    ``fixed_symbol``: the symbol is given for the file, so no symbol column is
    needed (and any is ignored).

    Raises FormatMismatch (with the reason, for the caller to turn into a
    BadFileError naming the file) when the header does not fit, and
    InvalidArgumentError for arguments that are wrong whatever the file.
    """
    if kind is not None and kind not in KINDS:
        raise InvalidArgumentError(f"kind must be 'trades' or 'quotes', got {kind!r}")
    columns = dict(columns or {})
    unknown = [f for f in columns if f not in FIELDS]
    if unknown:
        raise InvalidArgumentError(
            f"unknown field{'s' if len(unknown) > 1 else ''} in columns: {', '.join(map(repr, unknown))}; "
            f"the fields are {', '.join(FIELDS)}")
    header_t = tuple(header)
    if isinstance(preset, CSVFormat):
        fmt = preset
    elif preset is not None:
        if preset not in PRESETS:
            raise InvalidArgumentError(
                f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)} "
                "(or None to detect it from the header)")
        fmt = PRESETS[preset]
    elif header_t in _PRESET_HEADERS and not (kind and PRESETS[_PRESET_HEADERS[header_t]].kind != kind):
        fmt = PRESETS[_PRESET_HEADERS[header_t]]
    else:
        fmt = _format_from_aliases(header_t, columns, kind)
    if columns:
        # the mapping was checked above
        fmt = replace(fmt, name=f"{fmt.name}+columns", **columns)  # type: ignore[arg-type]
    if kind is not None and kind != fmt.kind:
        fmt = replace(fmt, kind=kind)
    if time_unit is not None:
        fmt = replace(fmt, time_unit=check_time_unit(time_unit))
    if fixed_symbol:
        fmt = replace(fmt, symbol=None)
    _check_against_header(fmt, header_t, fixed_symbol)
    return fmt


def _format_from_aliases(header: tuple, columns: dict, kind: str | None) -> CSVFormat:
    found = _detect_columns(header)
    mapping: dict[str, str] = {}
    for field, cols in found.items():
        if field in columns:
            continue
        if len(cols) > 1:
            raise FormatMismatch(
                f"the header has several columns that could be the {field} ({', '.join(cols)}): "
                f"say which with columns={{'{field}': ...}}")
        mapping[field] = cols[0]
    mapping.update({f: c for f, c in columns.items() if c is not None})
    if kind is None:
        has_trades = "price" in mapping
        has_quotes = "bid" in mapping and "ask" in mapping
        if has_trades and has_quotes:
            raise FormatMismatch("the header has both trade (price) and quote (bid, ask) columns: "
                             "pass kind='trades' or kind='quotes'")
        if not has_trades and not has_quotes:
            raise FormatMismatch(
                "cannot tell what the columns hold: expected a price column (trades) or bid and "
                "ask columns (quotes); pass preset=... (one of " + ", ".join(PRESETS)
                + ") or columns={...}")
        kind = TRADES if has_trades else QUOTES
    names = {f.name for f in fields(CSVFormat)}
    return CSVFormat(kind, name="auto", **{f: c for f, c in mapping.items() if f in names})


def _check_against_header(fmt: CSVFormat, header: tuple, fixed_symbol: bool) -> None:
    used = fmt.columns()
    for field in _REQUIRED[fmt.kind]:
        if field not in used:
            raise FormatMismatch(f"no column for the {field} of {fmt.kind}: name it with "
                             f"columns={{'{field}': ...}}")
    if fmt.symbol is None and not fixed_symbol:
        raise FormatMismatch("no symbol column: give the symbol of the file with symbol='...' "
                         "(--symbol on the command line), or name the column with "
                         "columns={'symbol': ...}")
    missing = [(f, c) for f, c in used.items() if c not in header]
    if missing:
        what = ", ".join(f"'{c}' (the {f})" for f, c in missing)
        raise FormatMismatch(f"missing column{'s' if len(missing) > 1 else ''} {what}"
                         f"{' for preset ' + fmt.name if fmt.name not in ('auto', 'custom') else ''}; "
                         f"the header has: {', '.join(header)}")
    seen: dict[str, str] = {}
    for f, c in used.items():
        if c in seen:
            raise FormatMismatch(f"column '{c}' is mapped to both {seen[c]} and {f}")
        seen[c] = f
