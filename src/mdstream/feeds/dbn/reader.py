"""DBNReader: the trades and quotes of one Databento DBN file (``.dbn`` or ``.dbn.zst``).

Decoding is databento-dbn's (``DBNDecoder``: every DBN version, Zstandard
compression, the metadata header); this module turns its records into tick
arrays, a block of records at a time, with the rules of every file feed
(mdstream.feeds.checked_ticks).

Schemas (https://databento.com/docs/schemas-and-data-formats):

- ``trades`` (TradeMsg): one trade per record: ``price`` and ``size``.
- ``tbbo`` and ``mbp-1`` (MBP1Msg): one quote per record, the top of the
  book (``bid_px_00``, ``ask_px_00``, ``bid_sz_00``, ``ask_sz_00``), and
  for a record whose ``action`` is T (a trade: every TBBO record) a trade of
  its ``price`` and ``size`` right after that quote, at the same time.
  (TBBO's book is the one just before the trade.)
- ``ohlcv-1s``, ``ohlcv-1m``, ``ohlcv-1h``, ``ohlcv-1d`` (OHLCVMsg): one
  input bar per record (Engine.publish_bars): a bar result with the record's
  open, high, low, close and volume, ``ts_event`` (the bar's start) as its
  ``ts_ns`` and the schema's interval as ``interval_ns``, paced at its end
  (when the bar is known). Bars change no session analytics (VWAP, volume,
  high and low come from trades: Databento's OHLCV records carry neither
  notional nor trade count, so a bar's ``vwap`` and ``value`` are NaN and
  its ``trade_count`` 0); a bar with an undefined price or not low <= open,
  close <= high is a bad record. ``ohlcv-eod`` is refused: its bars span a
  venue's trading session, not a fixed interval.

Prices are fixed-point integers in units of 1e-9 (FIXED_PRICE_SCALE);
each becomes the float64 nearest to its exact decimal value (the same value
``float("9681.92")`` gives), and UNDEF_PRICE becomes a missing price (NaN: an
absent book side for a quote, a bad record for a trade). ``ts_event`` is the
tick's ``ts_ns``. A record's symbol is its instrument id's in the file's
symbology (mdstream.feeds.dbn.symbology).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Callable, Iterator

import numpy as np

from mdstream._core import TICK_DTYPE
from mdstream.errors import InvalidArgumentError
from mdstream.feeds.checked_ticks import MAX_EXAMPLES, Check, ReadStats, checked_ticks
from mdstream.feeds.csv.errors import BadFileError
from mdstream.feeds.dbn.errors import DBNRecordError
from mdstream.feeds.dbn.records import MBP1_RECORD, TRADE_RECORD, metadata_length, raw_blocks
from mdstream.feeds.dbn.symbology import Symbology
from mdstream.feeds.symbol_index import SymbolIndex
from mdstream.feeds.timestamps import fmt_ns

__all__ = ["DBNReader", "SCHEMAS", "BAR_INTERVALS_NS", "prices_to_float"]

#: The schemas replayed, and what each record gives (see the module docstring).
SCHEMAS = {"trades": "trades", "tbbo": "quote+trade", "mbp-1": "quote+trade",
           "ohlcv-1s": "bar", "ohlcv-1m": "bar", "ohlcv-1h": "bar", "ohlcv-1d": "bar"}
#: The length (ns) of the bars of each OHLCV schema replayed.
BAR_INTERVALS_NS = {"ohlcv-1s": 10**9, "ohlcv-1m": 60 * 10**9, "ohlcv-1h": 3600 * 10**9,
                    "ohlcv-1d": 86_400 * 10**9}

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BLOCK = 1 << 20
_EXACT = 1 << 53                # |p| up to here: p / 1e9 in float64 is correctly rounded
_RECORDS_PER_BLOCK = 1 << 16
_LAYOUTS = {"trades": TRADE_RECORD, "tbbo": MBP1_RECORD, "mbp-1": MBP1_RECORD}
_TRADE_COLUMNS = {"price": "price", "size": "size"}
_BAR_COLUMNS = np.dtype([("ts_event", "<u8"), ("instrument_id", "<u4"), ("open", "<i8"),
                         ("high", "<i8"), ("low", "<i8"), ("close", "<i8"), ("volume", "<u8")])
_QUOTE_COLUMNS = {"bid": "bid_px_00", "ask": "ask_px_00", "bid_size": "bid_sz_00",
                  "ask_size": "ask_sz_00"}


def _dbn():
    try:
        import databento_dbn
    except ImportError:
        raise ImportError("replaying DBN files needs databento-dbn: pip install 'mdstream[dbn]'") \
            from None
    return databento_dbn


def prices_to_float(px: np.ndarray, undef: int) -> np.ndarray:
    """Fixed-point prices (int64, units of 1e-9) as float64: the double
    nearest each exact decimal value; ``undef`` (UNDEF_PRICE) as NaN."""
    px = np.asarray(px, dtype=np.int64)
    out = px.astype(np.float64) / 1e9     # exact int -> double, one correctly rounded division
    big = np.flatnonzero(np.abs(px) > _EXACT)
    for i in big:                          # beyond 2**53 units the int -> double step rounds
        out[i] = float(Decimal(int(px[i])).scaleb(-9))
    out[px == undef] = np.nan
    return out


class DBNReader:
    """One DBN file: its metadata is read when the reader is made (a
    BadFileError for a file that is not DBN, or of a schema that is not
    replayed); ``chunks()`` reads its records once per call. ``symbol``:
    one symbol for every record (instead of the symbology). See DBNFeed."""

    def __init__(self, path: str | os.PathLike, symbols: SymbolIndex, *, symbol: str | None = None,
                 on_bad_row: str = "raise", out_of_order: str = "keep"):
        self._db = _dbn()
        self.path = os.fspath(path)
        self.symbols = symbols
        self.on_bad_row = on_bad_row
        self.out_of_order = out_of_order
        if symbol is not None and (not isinstance(symbol, str) or not symbol
                                   or symbol != symbol.strip()):
            raise InvalidArgumentError(
                f"a symbol must be a non-empty string without surrounding spaces, got {symbol!r}")
        self.fixed_symbol = symbol
        self.compressed = self._magic() == _ZSTD_MAGIC
        self.metadata = self._read_metadata()
        schema = self.metadata.schema
        self.schema = None if schema is None else str(schema)
        if self.schema == "ohlcv-eod":
            raise BadFileError(self.path, None, (
                "schema ohlcv-eod is not replayed: its bars span a venue's trading session, not "
                "a fixed interval; replay ohlcv-1d (UTC days) or a finer schema"))
        if self.schema is not None and self.schema not in SCHEMAS:
            raise BadFileError(self.path, None, (
                f"schema {self.schema} is not replayed: the DBN feed reads "
                f"{', '.join(SCHEMAS)}"))
        db = self._db
        self.bar_interval_ns = BAR_INTERVALS_NS.get(self.schema or "", 0)
        self._record_type = (db.OHLCVMsg if self.bar_interval_ns
                             else db.TradeMsg if self.schema == "trades" else db.MBP1Msg)
        if self.schema is None:       # live data of mixed schemas: trades and MBP-1 both read
            self._record_type = (db.TradeMsg, db.MBP1Msg)
        self.format = self.schema or "mixed"

    def __repr__(self) -> str:
        return f"DBNReader({self.path!r}, schema={self.format})"

    # -- opening -----------------------------------------------------------

    def _magic(self) -> bytes:
        try:
            with open(self.path, "rb") as f:
                return f.read(4)
        except OSError as e:
            raise BadFileError(self.path, None, f"cannot open the file: {e.strerror or e}") from None

    def _decoder(self):
        db = self._db
        return db.DBNDecoder(compression=db.Compression.ZSTD if self.compressed
                             else db.Compression.NONE)

    def _read_metadata(self):
        db = self._db
        dec = self._decoder()
        with open(self.path, "rb") as f:
            while True:
                block = f.read(1 << 16)
                try:
                    items = dec.write_and_decode(block) if block else dec.decode()
                except (db.DBNError, ValueError) as e:
                    raise BadFileError(self.path, None, f"not a DBN file: {e}") from None
                for item in items:
                    if isinstance(item, db.Metadata):
                        return item
                if not block:
                    raise BadFileError(self.path, None,
                                       "not a DBN file: it ends before its metadata header")

    # -- reading -----------------------------------------------------------

    def _blocks(self) -> Iterator[tuple[list, int]]:
        """Lists of records (metadata left out), with the 1-based number of
        each list's first record."""
        db = self._db
        dec = self._decoder()
        count = 0
        with open(self.path, "rb") as f:
            while True:
                block = f.read(_BLOCK)
                if not block:
                    break
                try:
                    items = dec.write_and_decode(block)
                except (db.DBNError, ValueError) as e:
                    raise BadFileError(self.path, None, f"the DBN data is damaged after record "
                                                        f"{count}: {e}") from None
                if items and isinstance(items[0], db.Metadata):
                    items = items[1:]
                if items:
                    yield items, count + 1
                    count += len(items)
        if dec.buffer():
            raise BadFileError(self.path, None, f"the file ends inside a record: it is truncated "
                                                f"after record {count}")

    def chunks(self, stats: ReadStats | None = None) -> Iterator[np.ndarray]:
        """Read the file once: TICK_DTYPE arrays of its good records, in file
        order. Raises DBNRecordError for a bad record (unless skipping) and
        BadFileError for a damaged file. Counts go to ``stats``."""
        stats = stats if stats is not None else ReadStats()
        symbology = Symbology()
        symbology.add_metadata(self.metadata)
        state: dict = {"carry": None}
        done = 0                      # records read by the fast path
        layout = _LAYOUTS.get(self.schema) if self.schema is not None else None
        stream = self._raw_stream() if layout is not None else None
        if layout is not None and stream is not None:
            with stream:
                finished = True
                blocks = raw_blocks(stream, layout, _RECORDS_PER_BLOCK)
                while True:
                    try:
                        block = next(blocks, None)
                    except Exception:  # noqa: BLE001 - damaged data: the decoder names the damage
                        block = (None, b"")
                    if block is None:
                        break
                    recs = block[0]
                    if recs is None:
                        finished = False      # not one layout throughout: decode the rest
                        break
                    cols = _columns_of_array(recs)
                    numbers = np.arange(done + 1, done + 1 + len(recs))
                    done += len(recs)
                    ticks = self._convert(cols, numbers, symbology, stats, state)
                    if len(ticks):
                        yield ticks
                if finished:
                    return
        yield from self._decoded_chunks(done, symbology, stats, state)

    def _raw_stream(self):
        """The decompressed bytes after the metadata header, or None when the
        fast path cannot read this file (zstd without the zstandard package)."""
        f = open(self.path, "rb")
        try:
            if self.compressed:
                try:
                    import zstandard
                except ImportError:
                    f.close()
                    return None
                stream = zstandard.ZstdDecompressor().stream_reader(
                    f, read_across_frames=True, closefd=True)   # concatenated frames too
            else:
                stream = f
            head = stream.read(8)
            length = metadata_length(head)
            if length is None:
                stream.close()
                return None
            stream.read(length - 8)
            return stream
        except Exception as e:  # noqa: BLE001 - a damaged file is named; the decoder says how
            f.close()
            raise BadFileError(self.path, None, f"cannot read the DBN data: {e}") from None

    def _decoded_chunks(self, skip: int, symbology: Symbology, stats: ReadStats,
                        state: dict) -> Iterator[np.ndarray]:
        """The records after the first ``skip``, through databento-dbn's decoder."""
        db = self._db
        types = self._record_type if isinstance(self._record_type, tuple) else (self._record_type,)
        for items, first in self._blocks():
            numbers, recs = [], []
            for k, rec in enumerate(items):
                if first + k <= skip:
                    continue
                if isinstance(rec, types):
                    recs.append(rec)
                    numbers.append(first + k)
                elif isinstance(rec, db.SymbolMappingMsg):
                    symbology.add_record(rec)
                # other records (system, error, statistics...) carry no ticks
            if not recs:
                continue
            if self.bar_interval_ns:
                ticks = self._convert_bars(recs, np.asarray(numbers), symbology, stats, state)
            else:
                ticks = self._convert(_columns_of_records(recs, db), np.asarray(numbers),
                                      symbology, stats, state)
            if len(ticks):
                yield ticks

    def _times_and_symbols(self, raw_ts: np.ndarray, iid: np.ndarray, symbology: Symbology
                           ) -> tuple[np.ndarray, np.ndarray, list[Check]]:
        """(ts_ns, symbol ids, checks) of records' ts_event and instrument_id:
        the checks name an unset ts_event and an instrument without a symbol."""
        n = len(raw_ts)
        ts_missing = raw_ts >= np.uint64(self._db.UNDEF_TIMESTAMP)
        ts_ns = np.where(ts_missing | (raw_ts >= np.uint64(1 << 63)), 0, raw_ts).astype(np.int64)
        if self.fixed_symbol is not None:
            sym = np.full(n, self.symbols.lookup([self.fixed_symbol])[0], dtype=np.int32)
            names, codes = [self.fixed_symbol], np.zeros(n, dtype=np.int64)
        else:
            names, codes = symbology.names(iid, ts_ns)
            lut = np.append(self.symbols.lookup(names), np.int32(-1)) if names else \
                np.array([-1], dtype=np.int32)
            sym = lut[codes]
        checks: list[Check] = [(ts_missing, lambda i: "ts_event is not set (UNDEF_TIMESTAMP)"),
                  (sym < 0, lambda i: self._symbol_problem(iid[i], ts_ns[i], codes[i], names,
                                                           symbology))]
        return ts_ns, sym, checks

    def _convert_bars(self, recs: list, numbers: np.ndarray, symbology: Symbology,
                      stats: ReadStats, state: dict) -> np.ndarray:
        """Input-bar ticks (kind OHLCV) of a block's OHLCVMsg records."""
        cols = np.array([(r.ts_event, r.instrument_id, r.open, r.high, r.low, r.close, r.volume)
                         for r in recs], dtype=_BAR_COLUMNS)        # one pass over the records
        ts_ns, sym, checks = self._times_and_symbols(
            cols["ts_event"], cols["instrument_id"].astype(np.int64), symbology)
        values = {f: prices_to_float(cols[f], self._db.UNDEF_PRICE)
                  for f in ("open", "high", "low", "close")}
        values["volume"] = cols["volume"].astype(np.float64)
        return checked_ticks(
            trades=False, ts_ns=ts_ns, symbol_ids=sym, values=values,
            missing={f: np.isnan(v) for f, v in values.items()}, columns={},   # record fields
            checks=checks, ignore=None, state=state, stats=stats, on_bad_row=self.on_bad_row,
            out_of_order=self.out_of_order, bar_interval_ns=self.bar_interval_ns,
            bad_row=lambda i, pr: DBNRecordError(self.path, int(numbers[i]), pr))

    def _convert(self, cols: dict, numbers: np.ndarray, symbology: Symbology, stats: ReadStats,
                 state: dict) -> np.ndarray:
        """Tick arrays of a block's record columns (see _columns_of_array)."""
        db = self._db
        iid, is_mbp, trade = cols["instrument_id"], cols["mbp"], cols["trade"]
        n = len(iid)
        ts_ns, sym, checks = self._times_and_symbols(cols["ts_event"], iid, symbology)
        bad_row = (lambda i, problem, nums=numbers: DBNRecordError(self.path, int(nums[i]), problem))

        def part(trades: bool, idx: np.ndarray, part_stats: ReadStats, kept: list) -> np.ndarray:
            def of_record(problem: Callable[[int], str]) -> Callable[[int], str]:
                return lambda i: problem(int(idx[i]))      # position in the part -> in the block

            if trades:
                values = {"price": prices_to_float(cols["price"][idx], db.UNDEF_PRICE),
                          "size": cols["size"][idx].astype(np.float64)}
            else:
                undef_sz = np.uint64(db.UNDEF_ORDER_SIZE)
                values = {"bid": prices_to_float(cols["bid_px"][idx], db.UNDEF_PRICE),
                          "ask": prices_to_float(cols["ask_px"][idx], db.UNDEF_PRICE)}
                for side in ("bid_size", "ask_size"):
                    sz = cols[side][idx]
                    values[side] = np.where(sz == undef_sz, 0, sz).astype(np.float64)
            return checked_ticks(
                trades=trades, ts_ns=ts_ns[idx], symbol_ids=sym[idx], values=values,
                missing={f: np.isnan(v) for f, v in values.items()},
                columns=_TRADE_COLUMNS if trades else _QUOTE_COLUMNS,
                checks=[(c[idx], of_record(p)) for c, p in checks],
                ignore=None, state=dict(state), stats=part_stats, on_bad_row="skip",
                out_of_order=self.out_of_order, kept=kept,
                bad_row=lambda i, pr: bad_row(int(idx[i]), pr))

        # A quote per MBP-1 record, and a trade per trade record right after it.
        # A record is good or bad as a whole: a bad record gives no tick, and
        # counts once.
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        errors: dict[int, DBNRecordError] = {}
        bad_rec = np.zeros(n, dtype=bool)
        for trades, idx in ((False, np.flatnonzero(is_mbp)), (True, np.flatnonzero(trade))):
            if not len(idx):
                continue
            kept: list = []
            part_stats = ReadStats()
            ticks = part(trades, idx, part_stats, kept)
            good = np.zeros(len(idx), dtype=bool)
            good[kept[0]] = True
            bad_rec[idx[~good]] = True
            for err in part_stats.examples:       # the first bad records of the part
                errors.setdefault(err.record, err)
            parts.append((ticks, idx[kept[0]] * 2 + int(trades)))
        if bad_rec.any():
            first = [errors[int(numbers[r])] for r in np.flatnonzero(bad_rec)[:MAX_EXAMPLES]
                     if int(numbers[r]) in errors]
            if self.on_bad_row == "raise":
                raise first[0]
            stats.examples.extend(first[:max(0, MAX_EXAMPLES - len(stats.examples))])
            stats.bad_rows += int(bad_rec.sum())
        if not parts:
            return np.zeros(0, dtype=TICK_DTYPE)
        order = np.concatenate([key for _, key in parts])
        ticks = np.concatenate([tk for tk, _ in parts])
        ticks = ticks[~bad_rec[order // 2]]
        order = order[~bad_rec[order // 2]]
        if len(parts) > 1:
            ticks = ticks[np.argsort(order, kind="stable")]
        if len(ticks):
            # The pacing time: the latest ts_event of the file so far (see CSVFeed's out_of_order).
            ts = ticks["ts_ns"]
            pace = np.maximum.accumulate(ts)
            if state["carry"] is not None:
                pace = np.maximum(pace, state["carry"])
            before = np.concatenate(([state["carry"] if state["carry"] is not None else ts[0]],
                                     pace[:-1]))
            ticks["recv_ns"] = pace
            state["carry"] = int(pace[-1])
            stats.rows += len(ticks)
            stats.late_rows += int((ts < before).sum())
            stats.first_ts = int(pace[0]) if stats.first_ts is None else min(stats.first_ts,
                                                                             int(pace[0]))
            stats.last_ts = int(pace[-1]) if stats.last_ts is None else max(stats.last_ts,
                                                                            int(pace[-1]))
        return ticks

    def _symbol_problem(self, iid: int, ts: int, code: int, names: list, symbology: Symbology) -> str:
        if self.fixed_symbol is not None:
            return f"symbol {self.fixed_symbol!r} (given for the file) is not among the feed's symbols"
        if code < 0:
            return (f"instrument_id {iid} has no symbol at {fmt_ns(ts)} in the file's symbology "
                    f"mappings (the metadata's mappings, or SymbolMappingMsg records; ids mapped: "
                    f"{', '.join(map(str, symbology.known_ids()[:10])) or 'none'}); pass "
                    "symbol=... for a file of one instrument")
        return (f"instrument_id {iid} is {names[code]!r}, which is not among the feed's symbols "
                f"({self.symbols.shown()})")


def _columns_of_array(recs: np.ndarray) -> dict:
    """The columns _convert reads, from records viewed as TRADE_RECORD or MBP1_RECORD."""
    n = len(recs)
    mbp = "bid_px_00" in (recs.dtype.names or ())
    cols = {"ts_event": recs["ts_event"], "instrument_id": recs["instrument_id"].astype(np.int64),
            "price": recs["price"], "size": recs["size"],
            "mbp": np.full(n, mbp), "trade": recs["action"] == b"T" if mbp else np.ones(n, bool)}
    if mbp:
        cols.update(bid_px=recs["bid_px_00"], ask_px=recs["ask_px_00"],
                    bid_size=recs["bid_sz_00"].astype(np.uint64),
                    ask_size=recs["ask_sz_00"].astype(np.uint64))
    return cols


def _columns_of_records(recs: list, db) -> dict:
    """The same columns from databento-dbn record objects (TradeMsg, MBP1Msg)."""
    n = len(recs)
    mbp = np.fromiter((type(r) is db.MBP1Msg for r in recs), dtype=bool, count=n)
    trade = np.fromiter((type(r) is not db.MBP1Msg or r.action == db.Action.TRADE for r in recs),
                        dtype=bool, count=n)
    levels = [r.levels[0] if m else None for r, m in zip(recs, mbp)]
    return {
        "ts_event": np.fromiter((r.ts_event for r in recs), dtype=np.uint64, count=n),
        "instrument_id": np.fromiter((r.instrument_id for r in recs), dtype=np.int64, count=n),
        "price": np.fromiter((r.price for r in recs), dtype=np.int64, count=n),
        "size": np.fromiter((r.size for r in recs), dtype=np.uint64, count=n),
        "mbp": mbp, "trade": trade,
        "bid_px": np.fromiter((lv.bid_px if lv else 0 for lv in levels), np.int64, n),
        "ask_px": np.fromiter((lv.ask_px if lv else 0 for lv in levels), np.int64, n),
        "bid_size": np.fromiter((lv.bid_sz if lv else 0 for lv in levels), np.uint64, n),
        "ask_size": np.fromiter((lv.ask_sz if lv else 0 for lv in levels), np.uint64, n)}
