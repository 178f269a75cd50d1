"""CSVFileReader: one recorded trade or quote file, read in chunks into validated tick arrays.

The rows are parsed by pandas' C parser (no Python call per row) a chunk at a
time, checked column by column with NumPy, and turned into TICK_DTYPE arrays.
A chunk is checked whole before any of it is handed on, so with
``on_bad_row="raise"`` nothing of a chunk holding a bad row goes further.

Line numbers are those a text editor shows: the header is line 1, the first
row line 2, and blank lines count (they are otherwise ignored). They assume one
line per row: quoted fields holding line breaks are not supported.

Two read modes: a fast one that asks pandas for exact integer timestamps and
categorical symbols, and a checked one that reads those columns as text and
finds the bad values itself. A file starts fast and switches (from the chunk
where it happened, for the rest of the file) if pandas rejects a value, so the
common case pays nothing for the error reporting.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import os
import re
import zlib
from typing import Callable, Iterator, Mapping

import warnings

import numpy as np

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.checked_ticks import BAD_ROW_POLICIES, OUT_OF_ORDER_RULES, ReadStats, checked_ticks
from mdstream.feeds.csv.errors import BadFileError, BadRowError
from mdstream.feeds.csv.columns import (
    read_numbers,
    sniff_delimiter,
    text_to_numbers,
    tokenizer_problem,
)
from mdstream.feeds.csv.format import TRADES, CSVFormat, FormatMismatch, resolve_format
from mdstream.feeds.csv.prefixed import Prefixed
from mdstream.feeds.symbol_index import SymbolIndex
from mdstream.feeds.timestamps import epoch_to_ns, epoch_unit_band, epoch_unit_of, iso_to_ns

__all__ = ["CSVFileReader", "ReadStats", "BAD_ROW_POLICIES", "OUT_OF_ORDER_RULES"]

# A row with more fields than the header fills this column; when it is the
# first row, pandas also warns (that the extra fields are dropped): the row is
# reported as bad anyway, so the warning says nothing to the user.
warnings.filterwarnings("ignore", message="Length of header or names does not match",
                        module=r"mdstream\.feeds\.csv\.reader")

_EXTRA = "\x00extra"          # a column past the header's: filled only by rows with too many fields
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_FLOAT_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_LINE_RE = re.compile(r"\bline (\d+)")


class _Fallback(Exception):
    """The fast read mode cannot read this chunk: re-read it in checked mode."""


class CSVFileReader:
    """One file of trades or quotes (plain text, or gzip, bz2 or xz compressed).

    The header is read and checked against the column mapping when the reader
    is made (a BadFileError if it does not fit); ``chunks()`` reads the rows,
    once per call. See CSVFeed for the parameters.
    """

    def __init__(self, path: str | os.PathLike, symbols: SymbolIndex, *,
                 preset: str | CSVFormat | None = None,
                 columns: Mapping[str, str | None] | None = None, kind: str | None = None,
                 time_unit: str | None = None, symbol: str | None = None,
                 on_bad_row: str = "raise", out_of_order: str = "keep",
                 chunk_rows: int = 1 << 16, delimiter: str | None = None,
                 encoding: str = "utf-8"):
        if on_bad_row not in BAD_ROW_POLICIES:
            raise InvalidArgumentError(f"on_bad_row must be 'raise' or 'skip', got {on_bad_row!r}")
        if out_of_order not in OUT_OF_ORDER_RULES:
            raise InvalidArgumentError(
                f"out_of_order must be 'keep' or 'reject', got {out_of_order!r}")
        if int(chunk_rows) < 1:
            raise InvalidArgumentError(f"chunk_rows must be >= 1, got {chunk_rows}")
        try:
            import pandas  # noqa: F401  # the C parser every chunk goes through
        except ImportError:
            raise ImportError("reading recorded CSV files needs pandas (its C parser): "
                              "pip install pandas") from None
        self.path = os.fspath(path)
        self.symbols = symbols
        self.on_bad_row = on_bad_row
        self.out_of_order = out_of_order
        self.chunk_rows = int(chunk_rows)
        self.encoding = encoding
        self.compression = self._detect_compression()
        self._no_rows = False          # the file holds a header and nothing else (blank lines)
        header_line, sample = self._read_head()
        self.delimiter = delimiter or sniff_delimiter(header_line)
        self.header = [c.strip() for c in next(csv.reader([header_line], delimiter=self.delimiter))]
        dupes = sorted({c for c in self.header if self.header.count(c) > 1})
        if dupes:
            raise BadFileError(self.path, 1, f"the header names column{'s' if len(dupes) > 1 else ''} "
                                             f"{', '.join(map(repr, dupes))} more than once")
        try:
            self.format = resolve_format(self.header, preset, columns, kind, time_unit,
                                         fixed_symbol=symbol is not None)
        except FormatMismatch as e:
            raise BadFileError(self.path, 1, str(e)) from None
        self.fixed_symbol = symbol
        if symbol is not None and (not isinstance(symbol, str) or not symbol or symbol != symbol.strip()):
            raise InvalidArgumentError(
                f"a symbol must be a non-empty string without surrounding spaces, got {symbol!r}")
        self._cols = self.format.columns()
        self._ts_col = self._cols["timestamp"]
        # Resolved on the first timestamp read (and kept for later passes).
        self._unit: str | None = None if self.format.time_unit == "auto" else self.format.time_unit
        self._unit_line: int | None = None
        self._ts_fast_dtype = self._sniff_ts_dtype(sample)
        self._names = self.header + [_EXTRA]

    def __repr__(self) -> str:
        return f"CSVFileReader({self.path!r}, format={self.format.name}, kind={self.format.kind})"

    # -- opening -----------------------------------------------------------

    def _detect_compression(self) -> str | None:
        try:
            with open(self.path, "rb") as f:
                magic = f.read(6)
        except OSError as e:
            raise BadFileError(self.path, None, f"cannot open the file: {e.strerror or e}") from None
        if magic[:2] == b"\x1f\x8b":
            return "gzip"
        if magic[:3] == b"BZh":
            return "bz2"
        if magic == b"\xfd7zXZ\x00":
            return "xz"
        return None

    def _open_raw(self):
        opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(self.compression, open)
        return opener(self.path, "rb")

    def _io_error(self, e: BaseException, after_line: int) -> BadFileError:
        """A BadFileError for an error of the (decompressing) input stream."""
        read = f"the rows up to line {after_line} were read" if after_line > 1 else "no row was read"
        if isinstance(e, EOFError):
            what = f"the {self.compression or 'file'} data ends early: the file is truncated"
        elif isinstance(e, UnicodeDecodeError):
            what = f"the file is not {self.encoding} text ({e.reason})"
        elif self.compression and isinstance(e, (OSError, zlib.error, lzma.LZMAError)):
            what = f"the {self.compression} data is damaged ({e})"
        else:
            what = f"cannot read the file ({e})"
        return BadFileError(self.path, None, f"{what}; {read}")

    def _read_head(self) -> tuple[str, str | None]:
        """The header line and the first non-blank data line (or None)."""
        try:
            with self._open_raw() as fh:
                first = fh.readline()
                if not first:
                    raise BadFileError(self.path, None,
                                       "the file is empty: expected a header line naming the columns")
                header = first.decode("utf-8-sig" if self.encoding.lower().replace("-", "") == "utf8"
                                      else self.encoding).rstrip("\r\n")
                if not header.strip():
                    raise BadFileError(self.path, 1,
                                       "the first line is blank: expected a header line naming the columns")
                sample = None
                for _ in range(1000):
                    line = fh.readline()
                    if not line:
                        self._no_rows = True    # a header only (a holiday): nothing to read
                        break
                    if line.strip():
                        sample = line.decode(self.encoding, errors="replace").rstrip("\r\n")
                        break
        except BadFileError:
            raise
        except (OSError, EOFError, zlib.error, lzma.LZMAError, UnicodeDecodeError) as e:
            raise self._io_error(e, 1) from None
        return header, sample

    def _sniff_ts_dtype(self, sample: str | None):
        """The dtype the fast mode asks pandas for, from the first row's timestamp."""
        if self._unit == "iso":
            return object
        try:
            row = next(csv.reader([sample or ""], delimiter=self.delimiter))
            value = row[self.header.index(self._ts_col)]
        except (StopIteration, IndexError, ValueError):
            return object
        if _INT_RE.match(value):
            return "Int64"        # exact int64 with missing values allowed
        if _FLOAT_RE.match(value):
            return "float64"
        return object             # ISO 8601 text (or junk that the checked mode reports)

    def _open_at(self, line: int):
        """A binary stream of the (decompressed) file from the start of ``line`` (1-based)."""
        fh = self._open_raw()
        to_skip = line - 1
        consumed_to = 1
        try:
            while to_skip > 0:
                block = fh.read(1 << 20)
                if not block:
                    return io.BufferedReader(Prefixed(b"", fh))
                n = block.count(b"\n")
                if n < to_skip:
                    to_skip -= n
                    consumed_to += n
                    continue
                pos = -1
                for _ in range(to_skip):
                    pos = block.index(b"\n", pos + 1)
                return io.BufferedReader(Prefixed(block[pos + 1:], fh), buffer_size=1 << 20)
            return fh
        except BaseException as e:
            fh.close()
            if isinstance(e, (OSError, EOFError, zlib.error, lzma.LZMAError)):
                raise self._io_error(e, consumed_to) from None
            raise

    def _read_kwargs(self, checked: bool) -> dict:
        dtype: dict = {_EXTRA: object}
        if checked:
            dtype[self._ts_col] = object
        else:
            dtype[self._ts_col] = self._ts_fast_dtype
        for f in ("symbol", "side"):
            col = self._cols.get(f)
            if col is not None:
                dtype[col] = object if checked else "category"
        return dict(header=None, names=self._names, index_col=False, sep=self.delimiter,
                    skip_blank_lines=False, keep_default_na=False, na_values=[""],
                    encoding=self.encoding, engine="c", dtype=dtype)

    # -- reading -----------------------------------------------------------

    def chunks(self, stats: ReadStats | None = None) -> Iterator[np.ndarray]:
        """Read the file once: TICK_DTYPE arrays of its good rows, in file order.

        ``symbol_id`` holds ids of the SymbolIndex; ``recv_ns`` holds the
        pacing time (the latest timestamp so far in the file: see CSVFeed's
        out-of-order rule). Raises BadRowError for a bad row (unless skipping)
        and BadFileError for a damaged file. Counts go to ``stats``.
        """
        import pandas as pd

        stats = stats if stats is not None else ReadStats()
        if self._no_rows:
            return                     # an empty day: it contributes nothing
        state: dict = {"carry": None}
        line = 2                       # the next line to read (the header is line 1)
        checked = False
        stop_at: int | None = None     # a line the tokenizer rejected (read up to it, skip it)
        tried: set[tuple[int, int | None, bool]] = set()
        while True:
            if stop_at is not None and line >= stop_at:
                line, stop_at = stop_at + 1, None
            if (line, stop_at, checked) in tried:   # a restart that would not get further
                raise BadFileError(self.path, line, "cannot read the rows from this line on")
            tried.add((line, stop_at, checked))
            start = line
            fh = self._open_at(start)
            ended = False
            try:
                kwargs = self._read_kwargs(checked)
                if stop_at is None:
                    frames = pd.read_csv(fh, chunksize=self.chunk_rows, **kwargs)
                else:
                    frames = pd.read_csv(fh, chunksize=self.chunk_rows, nrows=stop_at - line, **kwargs)
                while True:
                    try:
                        frame = next(frames, None)
                    except pd.errors.ParserError as e:
                        bad = self._parser_error_line(e, start)
                        if bad is None or bad < line:
                            raise BadFileError(self.path, line, f"cannot parse the CSV: {e}") from None
                        err = BadRowError(self.path, bad, tokenizer_problem(e, len(self.header)))
                        if self.on_bad_row == "raise":
                            raise err from None
                        stats.note_bad(err)
                        stop_at = bad
                        break
                    except UnicodeDecodeError as e:
                        found = self._undecodable_line(line)
                        if found is None:
                            raise self._io_error(e, line - 1) from None
                        bad, problem = found
                        err = BadRowError(self.path, bad, problem)
                        if self.on_bad_row == "raise":
                            raise err from None
                        stats.note_bad(err)
                        stop_at = bad
                        break
                    except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
                        raise self._io_error(e, line - 1) from None
                    except (ValueError, TypeError, OverflowError) as e:
                        if checked:
                            raise BadFileError(self.path, line,
                                               f"cannot read the rows from here: {e}") from None
                        raise _Fallback() from None
                    if frame is None:
                        ended = True
                        break
                    if len(frame) == 0:
                        continue
                    if not checked and not self._fast_frame_ok(frame):
                        raise _Fallback()
                    ticks = self._convert(frame, line, stats, state)
                    line += len(frame)
                    if len(ticks):
                        yield ticks
            except _Fallback:
                checked = True        # re-read from the start of this chunk, as text
                continue
            finally:
                fh.close()
            if ended and (stop_at is None or line < stop_at):
                return                 # the end of the file

    def _undecodable_line(self, start: int) -> tuple[int, str] | None:
        """The first line from ``start`` on that is not text in the file's
        encoding (pandas decodes whole blocks, so it cannot say), and why."""
        with self._open_at(start) as fh:
            for k, raw in enumerate(fh, start):
                try:
                    raw.decode(self.encoding)
                except UnicodeDecodeError as e:
                    return k, (f"not {self.encoding} text: byte {raw[e.start]:#04x} at "
                               f"character {e.start + 1} ({e.reason})")
        return None

    def _parser_error_line(self, e: Exception, start: int) -> int | None:
        m = _LINE_RE.search(str(e))
        return None if m is None else start - 1 + int(m.group(1))

    def _fast_frame_ok(self, frame) -> bool:
        """The fast mode's categorical symbol column holds text (pandas turns
        numeric-looking categories into numbers, losing e.g. leading zeros)."""
        col = self._cols.get("symbol")
        if col is None:
            return True
        cats = frame[col].cat.categories
        return cats.dtype == object or str(cats.dtype) in ("str", "string")

    # -- one chunk: check every value, then build the ticks ------------------

    def _convert(self, frame, first_line: int, stats: ReadStats, state: dict) -> np.ndarray:
        n = len(frame)
        fmt = self.format
        # (mask of bad rows, problem(i)) per check, in the order a row's problem is reported
        checks: list[tuple[np.ndarray, Callable[[int], str]]] = []

        # A blank line has every field empty; look only where the timestamp is.
        blank = frame[self._ts_col].isna().to_numpy().copy()
        if blank.any():
            cand = np.flatnonzero(blank)
            blank[cand] = frame.iloc[cand].isna().to_numpy().all(axis=1)
        extra = frame[_EXTRA].notna().to_numpy()
        if extra.any():
            checks.append((extra, lambda i: f"too many fields: the header has {len(self.header)}"))

        ts_ns, ts_bad, ts_problem = self._timestamps(frame[self._ts_col], first_line)
        checks.append((ts_bad, ts_problem))

        if self.fixed_symbol is not None:
            sym = np.full(n, self.symbols.lookup([self.fixed_symbol])[0], dtype=np.int32)
        else:
            sym_col = frame[self._cols["symbol"]]
            sym = self._symbol_ids(sym_col)
            if (sym < 0).any():
                checks.append((sym < 0, lambda i: self._symbol_problem(sym[i], sym_col.iloc[i])))
        if self.fixed_symbol is not None and n and sym[0] < 0:
            checks.append((sym < 0, lambda i: self._symbol_problem(sym[i], self.fixed_symbol)))

        # Numbers: readable here, allowed by mdstream.tick_rules (the rules of
        # every ingestion path, applied by checked_ticks). A side column is
        # not checked: the engine does not use it, and no trade is dropped
        # for its side.
        values, missing = read_numbers(frame, self._cols, fmt.kind == TRADES, checks)
        return checked_ticks(
            trades=fmt.kind == TRADES, ts_ns=ts_ns, symbol_ids=sym, values=values, missing=missing,
            columns=self._cols, checks=checks, ignore=blank, state=state, stats=stats,
            on_bad_row=self.on_bad_row, out_of_order=self.out_of_order,
            bad_row=lambda i, problem: BadRowError(self.path, first_line + i, problem))

    def _symbol_ids(self, col) -> np.ndarray:
        import pandas as pd

        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy()
            names = [str(c) for c in col.cat.categories]
        else:
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            names = [str(c) for c in uniques]
        return self.symbols.lookup_codes(codes, names)

    def _symbol_problem(self, code: int, value) -> str:
        col = self._cols.get("symbol")
        if col is None:
            return f"symbol {str(value)!r} (given for the file) is not among the feed's symbols"
        return self.symbols.problem(code, value, col)

    def _timestamps(self, col, first_line: int):
        """ns, bad mask, problem(i) for a chunk's timestamp column."""
        import pandas as pd

        name = self._ts_col
        n = len(col)
        missing = col.isna().to_numpy()
        kind = col.dtype.kind if not isinstance(col.dtype, pd.api.extensions.ExtensionDtype) else None
        if isinstance(col.dtype, pd.Int64Dtype):
            raw = col.to_numpy(dtype=np.int64, na_value=0)
            numeric, numeric_ok = raw, ~missing
        elif kind in ("i", "u", "f"):
            raw = col.to_numpy()
            numeric, numeric_ok = raw, ~missing
        elif kind == "b":
            numeric, numeric_ok = np.zeros(n), np.zeros(n, dtype=bool)
        else:
            numeric, numeric_ok = None, None

        if self._unit is None:
            # auto: the first value decides, for the whole file
            first = int(np.argmax(~missing)) if (~missing).any() else None
            if first is not None:
                if numeric is not None:
                    self._unit = epoch_unit_of(numeric[first])
                else:
                    text = str(col.iloc[first])
                    self._unit = epoch_unit_of(float(text)) if _FLOAT_RE.match(text) else "iso"
                self._unit_line = first_line + first

        unit = self._unit
        if unit is None:       # every value missing
            ns = np.zeros(n, dtype=np.int64)
            ok = np.zeros(n, dtype=bool)
        elif unit == "iso":
            if numeric is not None:
                ns, ok = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
            else:
                ns, ok = iso_to_ns(col)
        else:
            if numeric is None:
                numeric, numeric_ok = text_to_numbers(col, missing)
            ns, ok = epoch_to_ns(numeric, unit)
            ok &= numeric_ok
            if self.format.time_unit == "auto":
                ok &= epoch_unit_band(numeric, unit)
        bad = ~ok

        def problem(i: int) -> str:
            if missing[i]:
                return f"missing timestamp (column '{name}')"
            assert unit is not None     # None only when every value is missing
            value = col.iloc[i]
            if unit == "iso":
                return (f"bad timestamp {str(value)!r} in column '{name}': expected ISO 8601 "
                        "(e.g. 2020-02-22T00:00:01.5Z or 2013-01-01 22:00:00.295+00:00)")
            if numeric_ok is not None and not numeric_ok[i]:
                return (f"bad timestamp {str(value)!r} in column '{name}': expected a number of "
                        f"{unit} since the Unix epoch")
            if self.format.time_unit == "auto" and not epoch_unit_band(np.asarray([numeric[i]]), unit)[0]:
                return (f"bad timestamp {str(value)!r} in column '{name}': its magnitude is that of "
                        f"{epoch_unit_of(float(numeric[i]))}, but this file's timestamps are in {unit} "
                        f"(from line {self._unit_line}); pass time_unit=... to fix the unit")
            return (f"bad timestamp {str(value)!r} in column '{name}': outside 1970 to 2262 "
                    f"when read as {unit} since the Unix epoch")

        return ns, bad, problem
