"""Results as tables: pandas DataFrames, Arrow record batches, Polars frames.

``ResultBatch.to_pandas()``, ``to_arrow()`` and ``to_polars()`` (and the same
on a Snapshot) call these. Every column of RESULT_DTYPE becomes a column of
the table, plus ``symbol`` (the name of ``symbol_id``, a categorical /
dictionary column) and ``kind`` as a categorical of "trade", "quote", "bar".
Timestamps (``ts_ns``, ``recv_ns``, ``done_ns``) stay int64 ns since the
epoch, or with ``datetimes=True`` become UTC timestamps with ns resolution
(pandas ``datetime64[ns, UTC]``, Arrow ``timestamp[ns, tz=UTC]``).

A batch's rows are one record per result (a NumPy structured array), so each
column is copied once into a contiguous array; the Arrow and Polars columns
are then views of those copies (no second copy). pyarrow and polars are
optional: ``pip install 'mdstream[arrow]'`` or ``'mdstream[polars]'``; a
missing one raises ImportError naming the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mdstream.batch import ResultBatch

__all__ = ["to_pandas", "to_arrow", "to_polars", "KIND_CATEGORIES", "TIME_COLUMNS"]

#: The kind codes' names, in code order (TRADE = 0, QUOTE = 1, BAR = 2).
KIND_CATEGORIES = ("trade", "quote", "bar")
TIME_COLUMNS = ("ts_ns", "recv_ns", "done_ns")


def _require(module: str, extra: str, method: str):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"ResultBatch.{method}() needs {module}: pip install "
                          f"'mdstream[{extra}]'") from None


def _names(batch: "ResultBatch") -> list[str]:
    """Symbol names by id; an id whose name a stream has not learnt is '#id'."""
    return [name if name is not None else f"#{i}" for i, name in enumerate(batch.symbols)]


def _columns(batch: "ResultBatch") -> dict[str, np.ndarray]:
    rows = batch.rows
    return {name: np.ascontiguousarray(rows[name]) for name in rows.dtype.names or ()}


def to_pandas(batch: "ResultBatch", *, datetimes: bool = False):
    """A pandas DataFrame of ``len(batch)`` rows (see the module docstring)."""
    pd = _require("pandas", "pandas", "to_pandas")
    cols = _columns(batch)
    out = {}
    for name, values in cols.items():
        if datetimes and name in TIME_COLUMNS:
            out[name] = pd.to_datetime(values, unit="ns", utc=True)
        elif name == "kind":
            out[name] = pd.Categorical.from_codes(values, categories=list(KIND_CATEGORIES))
        else:
            out[name] = values
        if name == "symbol_id":
            out["symbol"] = pd.Categorical.from_codes(values, categories=_names(batch))
    return pd.DataFrame(out, copy=False)


def to_arrow(batch: "ResultBatch", *, datetimes: bool = False):
    """A pyarrow.RecordBatch of ``len(batch)`` rows (see the module docstring)."""
    pa = _require("pyarrow", "arrow", "to_arrow")
    cols = _columns(batch)
    arrays, fields = [], []
    for name, values in cols.items():
        if datetimes and name in TIME_COLUMNS:
            array = pa.array(values, type=pa.int64()).view(pa.timestamp("ns", tz="UTC"))
        elif name == "kind":
            array = pa.DictionaryArray.from_arrays(pa.array(values), pa.array(KIND_CATEGORIES))
        else:
            array = pa.array(values)
        arrays.append(array)
        fields.append(name)
        if name == "symbol_id":
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(values),
                                                         pa.array(_names(batch), pa.string())))
            fields.append("symbol")
    return pa.RecordBatch.from_arrays(arrays, names=fields)


def to_polars(batch: "ResultBatch", *, datetimes: bool = False):
    """A polars.DataFrame of ``len(batch)`` rows, by way of Arrow."""
    pl = _require("polars", "polars", "to_polars")
    return pl.from_arrow(to_arrow(batch, datetimes=datetimes))
