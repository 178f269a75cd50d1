"""ParquetReader: trades or quotes of one Parquet file or dataset, read a record batch at a time.

A dataset is a directory of Parquet files (Hive-style ``key=value``
directories are partition columns; names starting with "." or "_" are
skipped, as every Parquet reader does). Its files are read one after the
other in path order, each one record batch at a time (``batch_rows`` rows,
never a whole file), only the columns the mapping uses. Each batch becomes
columns (event times in ns, symbol ids, prices and sizes) that
mdstream.feeds.checked_ticks turns into tick arrays with the same rules as the
CSV feed: mdstream.tick_rules, the out-of-order rule, the bad-row policy.

Column types: the timestamp may be an Arrow timestamp (any unit, any time
zone: its instant is taken), an integer or float number since the Unix epoch
(``time_unit``, or recognised from the first value's magnitude), or ISO 8601
text. Prices and sizes may be any integer, float or decimal type (or text
holding numbers). The symbol may be text, a dictionary, or a number (read as
its decimal text), or a partition key of the dataset.
"""

from __future__ import annotations

import os
from typing import Iterator, Mapping

import numpy as np

from mdstream.errors import InvalidArgumentError
from mdstream.feeds.checked_ticks import Check, ReadStats, checked_ticks
from mdstream.feeds.csv.columns import read_numbers
from mdstream.feeds.csv.errors import BadFileError
from mdstream.feeds.csv.format import TRADES, CSVFormat, FormatMismatch, resolve_format
from mdstream.feeds.parquet.errors import ParquetRowError
from mdstream.feeds.symbol_index import SymbolIndex
from mdstream.feeds.timestamps import epoch_to_ns, epoch_unit_band, epoch_unit_of, iso_to_ns

__all__ = ["ParquetReader", "open_dataset", "RECORDING_FORMATS", "recording_kinds"]

#: The column mappings of a recording made by ``mdstream record --parquet``
#: (mdstream.record.ParquetRecorder): results whose ``kind`` is trade or quote.
RECORDING_FORMATS = {
    "trade": CSVFormat(TRADES, timestamp="ts_ns", time_unit="ns", symbol="symbol", price="price",
                       size="size", name="mdstream-recording"),
    "quote": CSVFormat("quotes", timestamp="ts_ns", time_unit="ns", symbol="symbol", bid="bid",
                       ask="ask", bid_size="bid_size", ask_size="ask_size",
                       name="mdstream-recording"),
}

# Columns every recording has (the stream's own, not in other files).
_RECORDING_COLUMNS = {"seq", "ts_ns", "recv_ns", "done_ns", "trade_count", "interval_ns"}


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.dataset
        import pyarrow.parquet
    except ImportError:
        raise ImportError("replaying Parquet files needs pyarrow: pip install 'mdstream[arrow]'") \
            from None
    return pyarrow


def open_dataset(path: str):
    """A pyarrow Dataset of a Parquet file or of a directory (Hive partitions);
    BadFileError if there is none, naming the path and the reason."""
    pa = _pyarrow()
    ds = pa.dataset
    if not os.path.exists(path):
        raise BadFileError(path, None, "no such file or directory")
    try:
        if os.path.isdir(path):
            dataset = ds.dataset(path, format="parquet",
                                 partitioning=ds.HivePartitioning.discover(infer_dictionary=False))
        else:
            dataset = ds.dataset(path, format="parquet")
        files = list(dataset.files)
    except (pa.ArrowInvalid, OSError) as e:
        raise BadFileError(path, None, f"cannot read it as Parquet: {e}") from None
    if not files:
        raise BadFileError(path, None, "the directory holds no Parquet files")
    return dataset


def recording_kinds(dataset) -> list[str] | None:
    """("trade", "quote") if the dataset is a recording of mdstream results
    (it has a kind column or partition next to the stream's columns), else None."""
    names = set(dataset.schema.names)
    if "kind" in names and _RECORDING_COLUMNS <= names:
        return ["trade", "quote"]
    return None


class ParquetReader:
    """The trades or the quotes of one Parquet file or dataset.

    ``record_kind``: for a recording of mdstream results, the ``kind`` of the
    rows to read ("trade" or "quote"; bars are results, not input, and are
    never read). Other parameters: see ParquetFeed. The mapping is checked
    against the dataset's columns when the reader is made (BadFileError);
    ``chunks()`` reads the data once per call.
    """

    def __init__(self, path: str | os.PathLike, symbols: SymbolIndex, *, dataset=None,
                 preset: str | CSVFormat | None = None,
                 columns: Mapping[str, str | None] | None = None, kind: str | None = None,
                 time_unit: str | None = None, symbol: str | None = None,
                 record_kind: str | None = None, on_bad_row: str = "raise",
                 out_of_order: str = "keep", batch_rows: int = 1 << 16):
        if int(batch_rows) < 1:
            raise InvalidArgumentError(f"batch_rows must be >= 1, got {batch_rows}")
        self._pa = _pyarrow()
        self.path = os.fspath(path)
        self.symbols = symbols
        self.on_bad_row = on_bad_row
        self.out_of_order = out_of_order
        self.batch_rows = int(batch_rows)
        self.record_kind = record_kind
        self.dataset = dataset if dataset is not None else open_dataset(self.path)
        schema = self.dataset.schema
        header = schema.names
        if record_kind is not None and preset is None and not columns:
            preset = RECORDING_FORMATS[record_kind]
        try:
            self.format = resolve_format(header, preset, columns, kind, time_unit,
                                         fixed_symbol=symbol is not None)
        except FormatMismatch as e:
            raise BadFileError(self.path, None, str(e)) from None
        if symbol is not None and (not isinstance(symbol, str) or not symbol
                                   or symbol != symbol.strip()):
            raise InvalidArgumentError(
                f"a symbol must be a non-empty string without surrounding spaces, got {symbol!r}")
        self.fixed_symbol = symbol
        self._cols = self.format.columns()
        self._cols.pop("side", None)        # not carried further (see CSVFormat)
        self._unit: str | None = None if self.format.time_unit == "auto" else self.format.time_unit
        for fld, col in self._cols.items():
            self._check_type(fld, col, schema.field(col).type)

    def __repr__(self) -> str:
        return f"ParquetReader({self.path!r}, format={self.format.name}, kind={self.format.kind})"

    def _check_type(self, fld: str, col: str, typ) -> None:
        t = self._pa.types
        if t.is_dictionary(typ):
            typ = typ.value_type
        ok_number = t.is_integer(typ) or t.is_floating(typ) or t.is_decimal(typ)
        text = t.is_string(typ) or t.is_large_string(typ)
        if fld == "timestamp":
            ok = t.is_timestamp(typ) or ok_number or text
            want = "a timestamp, a number since the Unix epoch, or ISO 8601 text"
        elif fld == "symbol":
            ok = text or t.is_integer(typ)
            want = "text (or an integer id)"
        else:
            ok = ok_number or text
            want = "a number"
        if not ok:
            raise BadFileError(self.path, None, f"column '{col}' (the {fld}) has type {typ}: "
                                                f"expected {want}")

    # -- reading -----------------------------------------------------------

    def _fragments(self):
        """(path, partition keys) of each file, in path order, those of
        another recorded kind left out."""
        ds = self._pa.dataset
        out = []
        for frag in self.dataset.get_fragments():
            keys = ds.get_partition_keys(frag.partition_expression) or {}
            if self.record_kind is not None and "kind" in keys and keys["kind"] != self.record_kind:
                continue
            out.append((frag.path, keys))
        return sorted(out, key=lambda x: x[0])

    def chunks(self, stats: ReadStats | None = None) -> Iterator[np.ndarray]:
        """Read the data once: TICK_DTYPE arrays of its good rows, in order
        (files in path order, rows in file order).

        ``symbol_id`` holds ids of the SymbolIndex; ``recv_ns`` the pacing
        time. Raises ParquetRowError for a bad row (unless skipping) and
        BadFileError for a file that cannot be read. Counts go to ``stats``.
        """
        pa = self._pa
        stats = stats if stats is not None else ReadStats()
        state: dict = {"carry": None}
        for path, keys in self._fragments():
            try:
                pf = pa.parquet.ParquetFile(path)
            except (pa.ArrowInvalid, OSError) as e:
                raise BadFileError(path, None, f"cannot read it as Parquet: {e}") from None
            wanted = [c for c in self._cols.values() if c not in keys]
            kind_col = self.record_kind is not None and "kind" not in keys
            if kind_col:
                wanted.append("kind")
            have = set(pf.schema_arrow.names)
            missing = [c for c in wanted if c not in have]
            if missing:
                raise BadFileError(path, None, f"missing column{'s' if len(missing) > 1 else ''} "
                                               f"{', '.join(map(repr, missing))}; the file has: "
                                               f"{', '.join(pf.schema_arrow.names)}")
            row = 0                 # rows of this file before the batch
            try:
                batches = pf.iter_batches(batch_size=self.batch_rows, columns=wanted,
                                          use_threads=False)
                for batch in batches:
                    n = batch.num_rows
                    if n == 0:
                        continue
                    ticks = self._convert(batch, keys, path, row, stats, state, kind_col)
                    row += n
                    if len(ticks):
                        yield ticks
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as e:
                raise BadFileError(path, None, f"cannot read the rows after row {row}: {e}") \
                    from None
            finally:
                pf.close()

    def _convert(self, batch, keys: dict, path: str, first: int, stats: ReadStats, state: dict,
                 kind_col: bool) -> np.ndarray:
        pa = self._pa
        index = np.arange(batch.num_rows)
        if kind_col:      # a recording partitioned by symbol: this kind's rows only
            kinds = batch.column("kind")
            if pa.types.is_dictionary(kinds.type):
                kinds = kinds.cast(kinds.type.value_type)
            mine = pa.compute.equal(kinds, self.record_kind).fill_null(False)
            index = np.flatnonzero(mine.to_numpy(zero_copy_only=False))
            batch = batch.filter(mine)
        n = batch.num_rows
        checks: list[Check] = []
        ts_col = self._cols["timestamp"]
        ts_ns, ts_bad, ts_problem = self._timestamps(batch.column(ts_col), ts_col)
        checks.append((ts_bad, ts_problem))
        sym = self._symbol_ids(batch, keys, n)
        if (sym < 0).any():
            checks.append((sym < 0, lambda i: self._symbol_problem(sym[i], batch, keys, i)))
        trades = self.format.kind == TRADES
        frame = batch.select([c for f, c in self._cols.items()
                              if f not in ("timestamp", "symbol")]).to_pandas()
        values, missing = read_numbers(frame, self._cols, trades, checks)
        return checked_ticks(
            trades=trades, ts_ns=ts_ns, symbol_ids=sym, values=values, missing=missing,
            columns=self._cols, checks=checks, ignore=None, state=state, stats=stats,
            on_bad_row=self.on_bad_row, out_of_order=self.out_of_order,
            bad_row=lambda i, problem: ParquetRowError(path, first + int(index[i]) + 1, problem))

    # -- columns -----------------------------------------------------------

    def _timestamps(self, col, name: str):
        """ns, bad mask, problem(i) for a batch's timestamp column."""
        pa = self._pa
        t = pa.types
        n = len(col)
        if t.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        missing = col.is_null().to_numpy(zero_copy_only=False)
        typ = col.type
        if t.is_timestamp(typ):
            raw = col.cast(pa.int64()).fill_null(0).to_numpy()
            ns, ok = epoch_to_ns(raw, typ.unit)
            ok &= ~missing
            unit = typ.unit
        elif t.is_string(typ) or t.is_large_string(typ):
            text = col.to_pandas()
            unit = "iso"
            if self._unit not in (None, "iso"):
                import pandas as pd
                numeric = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
                ns, ok = epoch_to_ns(numeric, self._unit)
                unit = self._unit
            else:
                ns, ok = iso_to_ns(text)
            ok &= ~missing
        else:
            raw = col.fill_null(0).to_numpy() if not t.is_decimal(typ) else \
                col.cast(pa.float64()).fill_null(0).to_numpy()
            if self._unit is None:
                present = np.flatnonzero(~missing)
                if len(present):
                    self._unit = epoch_unit_of(raw[present[0]])
            unit = self._unit or "ns"
            if unit == "iso":
                ns, ok = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
            else:
                ns, ok = epoch_to_ns(raw, unit)
                if self.format.time_unit == "auto":
                    ok &= epoch_unit_band(raw, unit)
            ok &= ~missing

        def problem(i: int) -> str:
            if missing[i]:
                return f"missing timestamp (column '{name}')"
            value = col[i].as_py()
            if unit == "iso":
                return (f"bad timestamp {str(value)!r} in column '{name}': expected ISO 8601 "
                        "(e.g. 2020-02-22T00:00:01.5Z)")
            return (f"bad timestamp {value!r} in column '{name}': outside 1970 to 2262 "
                    f"when read as {unit} since the Unix epoch, or not of the magnitude of the "
                    f"file's first timestamp (pass time_unit=... to fix the unit)")

        return ns, ~ok, problem

    def _symbol_ids(self, batch, keys: dict, n: int) -> np.ndarray:
        if self.fixed_symbol is not None:
            return np.full(n, self.symbols.lookup([self.fixed_symbol])[0], dtype=np.int32)
        col_name = self._cols["symbol"]
        if col_name in keys:          # a partition of the dataset: one symbol per file
            return np.full(n, self.symbols.lookup([str(keys[col_name])])[0], dtype=np.int32)
        pa = self._pa
        col = batch.column(col_name)
        if not pa.types.is_dictionary(col.type):
            if pa.types.is_integer(col.type):
                col = col.cast(pa.string())
            col = col.dictionary_encode()
        codes = col.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        names = [str(v) for v in col.dictionary.to_pylist()]
        return self.symbols.lookup_codes(codes, names)

    def _symbol_problem(self, code: int, batch, keys: dict, i: int) -> str:
        col = self._cols.get("symbol")
        if self.fixed_symbol is not None:
            value = self.fixed_symbol
        elif col in keys:
            value = keys[col]
        else:
            value = batch.column(col)[i].as_py()
        return self.symbols.problem(code, value, col)
