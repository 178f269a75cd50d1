"""ResultBatch: a columnar batch of results, as NumPy arrays."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Sequence, TypeVar, overload

import numpy as np
import numpy.typing as npt

from mdstream._core import (
    KIND_BAR_VALUE,
    KIND_OHLCV_VALUE,
    KIND_QUOTE_VALUE,
    KIND_TRADE_VALUE,
    RESULT_DTYPE,
)

__all__ = ["ResultBatch", "Snapshot", "Gap", "Record", "TRADE", "QUOTE", "BAR", "OHLCV",
           "OHLCV_TICK_FIELDS", "KIND_NAMES", "Column"]

TRADE = KIND_TRADE_VALUE
QUOTE = KIND_QUOTE_VALUE
BAR = KIND_BAR_VALUE
#: The kind of an input bar (a tick, never a result: it becomes a BAR result).
OHLCV = KIND_OHLCV_VALUE
#: Where an input bar's fields go in TICK_DTYPE (field: bar field); its start
#: is ts_ns and its length interval_ns (the core's Tick, _types.pxd).
OHLCV_TICK_FIELDS = {"price": "close", "size": "volume", "bid": "open", "ask": "high",
                     "bid_size": "low"}
KIND_NAMES = {TRADE: "trade", QUOTE: "quote", BAR: "bar"}


@dataclass(frozen=True)
class Gap:
    """Results a `skip` subscription did not receive because it fell a ring behind.

    Sequence numbers ``from_seq`` (inclusive) to ``to_seq`` (exclusive) were
    jumped over; ``missed`` of them matched the subscription's symbols.
    """

    from_seq: int
    to_seq: int
    missed: int


class Record(NamedTuple):
    """One result as a plain record (see ResultBatch.records())."""

    seq: int
    ts_ns: int
    recv_ns: int
    symbol: str
    kind: str
    price: float
    size: float
    value: float
    volume: float
    vwap: float
    high: float
    low: float
    ema: float
    volatility: float
    trade_count: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    mid: float
    spread: float
    open: float
    interval_ns: int


_Scalar = TypeVar("_Scalar", bound=np.generic)


def _not_requested(name: str, fields: tuple[str, ...]) -> str:
    return (f"column {name!r} was not requested: this batch has only the fields "
            f"{', '.join(fields)} (subscribe with fields=None for every column)")


class Column(Generic[_Scalar]):
    """A column of ResultBatch: reading ``batch.price`` gives a NumPy view
    (no copy) of that field of the rows, typed for checkers as
    ``NDArray[np.float64]`` (``NDArray[np.int64]``, ``NDArray[np.int32]``),
    the dtype of the field in RESULT_DTYPE (``scalar`` says which)."""

    __slots__ = ("name", "scalar")

    def __init__(self, scalar: type[_Scalar]) -> None:
        self.name = ""
        self.scalar = scalar

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, batch: None, owner: type | None = None) -> "Column[_Scalar]": ...

    @overload
    def __get__(self, batch: "ResultBatch", owner: type | None = None
                ) -> npt.NDArray[_Scalar]: ...

    def __get__(self, batch: "ResultBatch | None", owner: type | None = None
                ) -> "npt.NDArray[_Scalar] | Column[_Scalar]":
        if batch is None:
            return self
        if batch.fields is not None and self.name not in batch.fields:
            # (Python then calls ResultBatch.__getattr__, which says why.)
            raise AttributeError(_not_requested(self.name, batch.fields))
        view: npt.NDArray[_Scalar] = batch.rows[self.name]    # a field view of rows
        return view


class ResultBatch:
    """A batch of results in sequence order, one NumPy column per field.

    Columns (each a NumPy array of len(batch)): ``seq``, ``ts_ns`` (event time),
    ``recv_ns`` (engine receive time), ``done_ns`` (processed), ``symbol_id``,
    ``kind`` (0 trade, 1 quote), ``price`` (quotes: mid), ``size``, ``value``
    (price x size), ``volume``, ``vwap``, ``high``, ``low``, ``ema``,
    ``volatility``, ``trade_count``, ``bid``, ``ask``, ``bid_size``,
    ``ask_size``, ``mid``, ``spread``, and for bars (kind 2) ``open`` and
    ``interval_ns``: a bar's ``ts_ns`` is its start, ``price`` its close,
    ``size``/``volume`` its volume, ``value`` its notional, and ``high``,
    ``low``, ``vwap``, ``trade_count`` are the bar's own. ``symbols`` maps
    symbol ids to names.
    ``gap`` is set when results were skipped just before this batch.
    ``fields`` is None (every column), or the columns a subscription asked
    for (StreamRequest.fields): reading another column as an attribute
    raises AttributeError, and to_pandas/to_arrow/to_polars hold only
    those; ``rows`` keeps the full RESULT_DTYPE layout (columns not sent
    over gRPC are zero there).
    """

    __slots__ = ("rows", "symbols", "gap", "fields")

    # The columns: views of the fields of ``rows`` (RESULT_DTYPE), no copy.
    seq = Column(np.int64)                  #: engine sequence number
    ts_ns = Column(np.int64)                #: event time, ns since the epoch (bars: start)
    recv_ns = Column(np.int64)              #: engine receive time, ns since the epoch
    done_ns = Column(np.int64)              #: processed, ns since the epoch
    symbol_id = Column(np.int32)            #: index into ``symbols``
    kind = Column(np.int32)                 #: TRADE (0), QUOTE (1), BAR (2)
    price = Column(np.float64)              #: trade price (quotes: mid; bars: close)
    size = Column(np.float64)               #: trade size (bars: volume)
    value = Column(np.float64)              #: price x size (bars: notional)
    volume = Column(np.float64)             #: session volume (bars: the bar's)
    vwap = Column(np.float64)               #: volume-weighted average price
    high = Column(np.float64)
    low = Column(np.float64)
    ema = Column(np.float64)                #: EMA of trade prices
    volatility = Column(np.float64)         #: sample std-dev of trade log returns
    trade_count = Column(np.int64)
    bid = Column(np.float64)                #: NaN: no bid
    ask = Column(np.float64)                #: NaN: no ask
    bid_size = Column(np.float64)
    ask_size = Column(np.float64)
    mid = Column(np.float64)
    spread = Column(np.float64)
    open = Column(np.float64)               #: bars: first trade price (NaN otherwise)
    interval_ns = Column(np.int64)          #: bars: the bar's length in ns (0 otherwise)

    rows: np.ndarray
    symbols: Sequence[str | None]
    gap: Gap | None
    fields: tuple[str, ...] | None

    def __init__(self, rows: np.ndarray, symbols: Sequence[str | None],
                 gap: Gap | None = None, fields: tuple[str, ...] | None = None) -> None:
        if rows.dtype != RESULT_DTYPE:
            raise TypeError(f"rows must have dtype RESULT_DTYPE, got {rows.dtype}")
        self.rows = rows
        self.symbols = symbols
        self.gap = gap
        self.fields = fields

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        n = len(self.rows)
        gap = f" gap={self.gap}" if self.gap else ""
        if n == 0:
            return f"<ResultBatch 0 results{gap}>"
        kinds = np.bincount(self.rows["kind"], minlength=3)
        what = ", ".join(f"{int(c)} {KIND_NAMES[k]}{'s' if c != 1 else ''}"
                         for k, c in enumerate(kinds[:3]) if c)
        symbols = len(np.unique(self.rows["symbol_id"]))
        seq = self.rows["seq"]
        return (f"<ResultBatch {n} results ({what}) seq {seq.min()}..{seq.max()} "
                f"{symbols} symbol{'s' if symbols != 1 else ''}{gap}>")

    #: Rows and columns shown by _repr_html_ (notebooks).
    HTML_ROWS = 10
    HTML_COLUMNS = ("seq", "ts_ns", "symbol", "kind", "price", "size", "vwap", "volume",
                    "bid", "ask")

    def _repr_html_(self) -> str:
        """A small HTML table of the first rows (for Jupyter); names escaped."""
        n = len(self.rows)
        head = self.rows[:self.HTML_ROWS]
        names = [self._name(int(i)) for i in head["symbol_id"]]
        cells = []
        for i, row in enumerate(head):
            values = []
            for col in self.HTML_COLUMNS:
                if col == "symbol":
                    values.append(names[i])
                elif col == "kind":
                    values.append(KIND_NAMES.get(int(row["kind"]), str(int(row["kind"]))))
                else:
                    v = row[col]
                    values.append(f"{v:.6g}" if isinstance(v, np.floating) else str(int(v)))
            cells.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>")
        header = "".join(f"<th>{c}</th>" for c in self.HTML_COLUMNS)
        caption = html.escape(repr(self))
        more = f"<p>... {n - len(head)} more rows</p>" if n > len(head) else ""
        return (f"<table><caption>{caption}</caption><thead><tr>{header}</tr></thead>"
                f"<tbody>{''.join(cells)}</tbody></table>{more}")

    def _name(self, symbol_id: int) -> str:
        try:
            name = self.symbols[symbol_id]
        except IndexError:
            name = None
        return str(name) if name is not None else f"#{symbol_id}"

    if not TYPE_CHECKING:
        # Hidden from type checkers, so that they reject a misspelled column.
        def __getattr__(self, name: str) -> np.ndarray:
            if self.fields is not None and name in (RESULT_DTYPE.names or ()):
                raise AttributeError(_not_requested(name, self.fields))
            raise AttributeError(f"ResultBatch has no column {name!r}; columns: "
                                 f"{', '.join(RESULT_DTYPE.names)}")

    def symbol_names(self) -> np.ndarray:
        """The symbol name of each result, as an object array."""
        names = np.asarray(self.symbols, dtype=object)
        return names[self.rows["symbol_id"]]

    def select(self, kind: int) -> "ResultBatch":
        """The results of one kind (TRADE, QUOTE or BAR), as a new batch."""
        return ResultBatch(self.rows[self.rows["kind"] == kind], self.symbols, self.gap,
                           self.fields)

    def records(self) -> list[Record]:
        """The results as a list of Record named tuples (slow: for convenience, not volume)."""
        return [
            Record(int(x["seq"]), int(x["ts_ns"]), int(x["recv_ns"]), self._name(int(x["symbol_id"])),
                   KIND_NAMES[int(x["kind"])], float(x["price"]), float(x["size"]),
                   float(x["value"]), float(x["volume"]), float(x["vwap"]), float(x["high"]),
                   float(x["low"]), float(x["ema"]), float(x["volatility"]),
                   int(x["trade_count"]), float(x["bid"]), float(x["ask"]), float(x["bid_size"]),
                   float(x["ask_size"]), float(x["mid"]), float(x["spread"]), float(x["open"]),
                   int(x["interval_ns"]))
            for x in self.rows
        ]

    # -- as tables (mdstream.tables) -------------------------------------------

    def to_pandas(self, *, datetimes: bool = False) -> Any:
        """A pandas DataFrame: every column, plus ``symbol`` (categorical),
        ``kind`` as a categorical of trade/quote/bar; ``datetimes=True`` makes
        ts_ns, recv_ns, done_ns ``datetime64[ns, UTC]``."""
        from mdstream.tables import to_pandas
        return to_pandas(self, datetimes=datetimes)

    def to_arrow(self, *, datetimes: bool = False) -> Any:
        """A pyarrow.RecordBatch with the columns of to_pandas() (``symbol``
        and ``kind`` as dictionary arrays); needs ``mdstream[arrow]``."""
        from mdstream.tables import to_arrow
        return to_arrow(self, datetimes=datetimes)

    def to_polars(self, *, datetimes: bool = False) -> Any:
        """A polars.DataFrame by way of Arrow; needs ``mdstream[polars]``."""
        from mdstream.tables import to_polars
        return to_polars(self, datetimes=datetimes)

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule interface: Polars, DuckDB and pyarrow take a batch as it is."""
        return self.to_arrow().__arrow_c_array__(requested_schema)

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        import pyarrow as pa
        return pa.Table.from_batches([self.to_arrow()]).__arrow_c_stream__(requested_schema)


@dataclass(frozen=True)
class Snapshot:
    """The newest result of each symbol as of sequence number ``as_of_seq``
    (-1: nothing yet). ``results`` holds one row per symbol that has one."""

    as_of_seq: int
    results: ResultBatch

    def to_pandas(self, *, datetimes: bool = False) -> Any:
        """The results as a DataFrame (ResultBatch.to_pandas), ``as_of_seq`` in its ``attrs``."""
        df = self.results.to_pandas(datetimes=datetimes)
        df.attrs["as_of_seq"] = self.as_of_seq
        return df

    def to_arrow(self, *, datetimes: bool = False) -> Any:
        """The results as a pyarrow.RecordBatch, ``as_of_seq`` in its schema metadata."""
        rb = self.results.to_arrow(datetimes=datetimes)
        return rb.replace_schema_metadata({"as_of_seq": str(self.as_of_seq)})

    def to_polars(self, *, datetimes: bool = False) -> Any:
        """The results as a polars.DataFrame."""
        return self.results.to_polars(datetimes=datetimes)
