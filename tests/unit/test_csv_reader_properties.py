"""The chunked C-parser reader against a plain-Python reading of the same rows (hypothesis)."""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mdstream.feeds.csv.errors import BadRowError
from mdstream.feeds.csv.reader import CSVFileReader, ReadStats
from mdstream.feeds.symbol_index import SymbolIndex

HEADER = "ts,sym,px,qty\n"
_INT = re.compile(r"^[+-]?\d+$")

good_ts = st.integers(min_value=1_500_000_000_000_000, max_value=1_700_000_000_000_000).map(str)
good_sym = st.sampled_from(["A", "BB", "0700"])
good_px = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(repr)   # any sign
good_qty = st.one_of(st.just("0"), st.floats(min_value=0, max_value=1e4, allow_nan=False).map(repr))
bad_number = st.sampled_from(["", "abc", "-1", "1.2.3", "inf", "1e400", "--2"])


@st.composite
def rows(draw):
    kind = draw(st.sampled_from(["good"] * 6 + ["ts", "sym", "px", "qty", "extra", "blank", "short"]))
    ts, sym, px, qty = draw(good_ts), draw(good_sym), draw(good_px), draw(good_qty)
    if kind == "ts":
        ts = draw(st.sampled_from(["", "x", "12:00", "-5", "2020-01-01"]))
    elif kind == "sym":
        sym = draw(st.sampled_from(["", " A", "B "]))
    elif kind == "px":
        px = draw(st.one_of(bad_number, st.just("0")))
    elif kind == "qty":
        qty = draw(bad_number)
    if kind == "blank":
        return ""
    fields = [ts, sym, px, qty]
    if kind == "extra":
        fields.append("z")
    if kind == "short":
        fields = fields[:3]
    return ",".join(fields)


def reference(lines: list[str]):
    """Good rows as (line, ts_ns, pace_ns, sym, px, qty) and the bad line numbers, by plain Python."""
    good, bad = [], []
    latest = None
    for k, text in enumerate(lines, start=2):
        if text == "":
            continue
        f = text.split(",")
        ok = len(f) == 4
        if ok:
            ts, sym, px, qty = f
            ok = bool(_INT.match(ts)) and int(ts) >= 0
            ok = ok and sym != "" and sym == sym.strip()
            try:
                p, q = float(px), float(qty)
                ok = ok and math.isfinite(p) and math.isfinite(q) and q >= 0   # tick_rules
            except ValueError:
                ok = False
        if not ok:
            bad.append(k)
            continue
        t = int(ts) * 1000
        latest = t if latest is None else max(latest, t)
        good.append((k, t, latest, sym, p, q))
    return good, bad


def read_all(text: str, **kw):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "rows.csv"
        p.write_text(text)
        index = SymbolIndex()
        stats = ReadStats()
        chunks = list(CSVFileReader(p, index, time_unit="us", **kw).chunks(stats))
    ticks = np.concatenate(chunks) if chunks else None
    return ticks, stats, index


@pytest.mark.filterwarnings("ignore:Length of header or names")  # pandas, on a first row too long
@given(st.lists(rows(), min_size=1, max_size=60), st.integers(min_value=1, max_value=25))
@example(["1600000000000000,A,1.0,1.0", "", "1500000000000000,A,2.0,1.0,z", "x,A,1,1"], 2)
@example(["1600000000000000,A,1.0,1.0,z,z", "1600000000000001,BB,1.0,1.0"], 1)
def test_reader_agrees_with_plain_python(lines, chunk_rows):
    text = HEADER + "".join(line + "\n" for line in lines)
    if not any(lines):
        return          # only blank lines: a file without rows (its error is tested elsewhere)
    good, bad = reference(lines)
    ticks, stats, index = read_all(text, on_bad_row="skip", chunk_rows=chunk_rows)
    assert stats.bad_rows == len(bad)
    assert [e.line for e in stats.examples] == bad[:10]
    if not good:
        assert ticks is None
        return
    assert len(ticks) == len(good)
    assert ticks["ts_ns"].tolist() == [g[1] for g in good]
    assert ticks["recv_ns"].tolist() == [g[2] for g in good]
    assert [index.names[i] for i in ticks["symbol_id"]] == [g[3] for g in good]
    np.testing.assert_allclose(ticks["price"], [g[4] for g in good], rtol=1e-15)
    np.testing.assert_allclose(ticks["size"], [g[5] for g in good], rtol=1e-15)
    assert stats.late_rows == sum(1 for i in range(1, len(good)) if good[i][1] < good[i - 1][2])
    # raise mode stops at the first bad line
    if bad:
        with pytest.raises(BadRowError) as info:
            read_all(text, chunk_rows=chunk_rows)
        assert info.value.line == bad[0]
