"""Instrument ids of a DBN file to symbols, from its symbology mappings.

Databento records carry a numeric ``instrument_id``; the names come from the
file's metadata (``Metadata.mappings``: for each requested symbol, the UTC
date intervals, start inclusive and end exclusive, over which it was a given
instrument id) and, in live data, from SymbolMappingMsg records (an id's
symbol from ``start_ts`` to ``end_ts``). An id may name different symbols on
different days (ids are reassigned), so a record's symbol is the one whose
interval holds its ``ts_event``.
See https://databento.com/docs/standards-and-conventions/symbology.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = ["Symbology", "NS_PER_DAY"]

NS_PER_DAY = 86_400 * 10**9
_EPOCH = dt.date(1970, 1, 1)
_FOREVER = np.iinfo(np.int64).max


def _day_ns(day) -> int:
    if isinstance(day, dt.datetime):
        day = day.date()
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return (day - _EPOCH).days * NS_PER_DAY


class Symbology:
    """Instrument id -> [(start_ns, end_ns, symbol)] intervals."""

    def __init__(self):
        self._intervals: dict[int, list[tuple[int, int, str]]] = {}

    def __len__(self) -> int:
        return len(self._intervals)

    def add(self, instrument_id: int, start_ns: int, end_ns: int, symbol: str) -> None:
        self._intervals.setdefault(int(instrument_id), []).append(
            (int(start_ns), int(end_ns), str(symbol)))

    def add_metadata(self, metadata) -> None:
        """The mappings of a DBN Metadata (``{symbol: [{start_date, end_date,
        symbol}]}``), in either direction: raw symbol -> instrument id (the
        usual request), or instrument id -> raw symbol."""
        for key, intervals in (metadata.mappings or {}).items():
            for iv in intervals:
                get = iv.get if isinstance(iv, dict) else (lambda k, iv=iv: getattr(iv, k))
                value = str(get("symbol"))
                if value.isdigit() and not str(key).isdigit():
                    iid, name = int(value), str(key)
                elif str(key).isdigit() and not value.isdigit():
                    iid, name = int(key), value
                else:
                    continue        # neither side an instrument id: nothing to map
                self.add(iid, _day_ns(get("start_date")), _day_ns(get("end_date")), name)

    def add_record(self, rec) -> None:
        """A SymbolMappingMsg of live data: its id is ``stype_in_symbol`` (the
        requested name) from start_ts to end_ts."""
        name = rec.stype_in_symbol or rec.stype_out_symbol
        end = rec.end_ts if rec.end_ts < _FOREVER else _FOREVER
        self.add(rec.instrument_id, rec.ts_event if rec.start_ts >= _FOREVER else rec.start_ts,
                 end, name)

    def names(self, instrument_ids: np.ndarray, ts_ns: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The distinct symbols of these records, and each record's position
        in that list (-1: no symbol for its id at its time)."""
        codes = np.full(len(instrument_ids), -1, dtype=np.int64)
        out: list[str] = []
        where: dict[str, int] = {}
        for iid in np.unique(instrument_ids):
            mine = np.flatnonzero(instrument_ids == iid)
            for start, end, name in self._intervals.get(int(iid), ()):
                t = ts_ns[mine]
                hit = mine[(t >= start) & (t < end) & (codes[mine] < 0)]
                if len(hit):
                    k = where.setdefault(name, len(out))
                    if k == len(out):
                        out.append(name)
                    codes[hit] = k
        return out, codes

    def known_ids(self) -> list[int]:
        return sorted(self._intervals)
