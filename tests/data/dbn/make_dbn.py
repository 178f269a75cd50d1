"""Writes the DBN test files of this directory from the recorded real data in ../real/.

    .venv/bin/python tests/data/dbn/make_dbn.py

Encoded by databento-dbn itself (Metadata.encode(), the records' bytes, and
its Transcoder for Zstandard), so the files are what its decoder reads. See
../SOURCES.md for what they hold.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS  # the shape Metadata reads a symbol mapping from

import databento_dbn as db
import pandas as pd

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "real"
INSTRUMENT_ID = 1001               # the id the mappings give BTCUSDT (DBN ids are numbers)
SIZE_UNIT = Decimal("0.001")       # DBN sizes are integers: amounts in units of 0.001 BTC
DATASET = "TARDIS.BINFUT"          # not a Databento dataset: these are Tardis.dev records


def fixed(text) -> int:
    """A decimal price as DBN's fixed-point integer (units of 1e-9), exactly."""
    v = Decimal(str(text)) * 10**9
    assert v == v.to_integral_value(), text
    return int(v)


def lots(text) -> int:
    v = Decimal(str(text)) / SIZE_UNIT
    assert v == v.to_integral_value(), text
    return int(v)


def metadata(schema, start_ns: int, end_ns: int):
    day = dt.date(2020, 2, 22)
    return db.Metadata(dataset=DATASET, start=start_ns, end=end_ns, stype_in=db.SType.RAW_SYMBOL,
                       stype_out=db.SType.INSTRUMENT_ID, schema=schema, symbols=["BTCUSDT"],
                       mappings=[NS(raw_symbol="BTCUSDT", intervals=[NS(
                           start_date=day, end_date=day + dt.timedelta(days=1),
                           symbol=str(INSTRUMENT_ID))])])


def side(aggressor: str):
    # Databento's side of a trade is the aggressor's: B (buyer) or A (seller).
    return db.Side.BID if aggressor == "buy" else db.Side.ASK


def trades_dbn() -> bytes:
    df = pd.read_csv(REAL / "tardis_trades.csv", dtype={"price": str, "amount": str})
    recs = []
    for k, r in enumerate(df.itertuples()):
        ts = int(r.timestamp) * 1000
        recs.append(db.TradeMsg(1, INSTRUMENT_ID, ts, fixed(r.price), lots(r.amount),
                                db.Action.TRADE, side(r.side), 0, int(r.local_timestamp) * 1000,
                                sequence=k))
    start, end = recs[0].ts_event, recs[-1].ts_event + 1
    return metadata(db.Schema.TRADES, start, end).encode() + b"".join(bytes(x) for x in recs)


def tbbo_dbn() -> bytes:
    """TBBO records: each trade of the quotes' time span, with the last quote before it."""
    t = pd.read_csv(REAL / "tardis_trades.csv", dtype={"price": str, "amount": str})
    q = pd.read_csv(REAL / "tardis_quotes.csv", dtype={c: str for c in (
        "ask_amount", "ask_price", "bid_price", "bid_amount")})
    t = t[(t.timestamp > q.timestamp.iloc[0]) & (t.timestamp <= q.timestamp.iloc[-1])]
    pos = q.timestamp.searchsorted(t.timestamp, side="left") - 1      # the quote strictly before
    recs = []
    for k, (r, j) in enumerate(zip(t.itertuples(), pos)):
        b = q.iloc[j]
        level = db.BidAskPair(bid_px=fixed(b.bid_price), ask_px=fixed(b.ask_price),
                              bid_sz=lots(b.bid_amount), ask_sz=lots(b.ask_amount), bid_ct=1,
                              ask_ct=1)
        ts = int(r.timestamp) * 1000
        recs.append(db.MBP1Msg(1, INSTRUMENT_ID, ts, fixed(r.price), lots(r.amount),
                               db.Action.TRADE, side(r.side), 0, int(r.local_timestamp) * 1000,
                               sequence=k, levels=level))
    start, end = recs[0].ts_event, recs[-1].ts_event + 1
    return metadata(db.Schema.TBBO, start, end).encode() + b"".join(bytes(x) for x in recs)


def ohlcv_1s_dbn() -> bytes:
    """OHLCV-1s records: the trades' 1 s bars, as Databento's ohlcv-1s holds
    bars of trades (none for a second without a trade)."""
    df = pd.read_csv(REAL / "tardis_trades.csv", dtype={"price": str, "amount": str})
    df = df.assign(time=pd.to_datetime(df.timestamp, unit="us"), px=df.price.map(fixed),
                   qty=df.amount.map(lots)).set_index("time")
    g = df.resample("1s")
    bars = pd.DataFrame({"open": g.px.first(), "high": g.px.max(), "low": g.px.min(),
                         "close": g.px.last(), "volume": g.qty.sum(), "n": g.px.count()})
    bars = bars[bars.n > 0]
    recs = [db.OHLCVMsg(db.RType.OHLCV_1S.value, 1, INSTRUMENT_ID, int(t.value), int(b.open),
                        int(b.high), int(b.low), int(b.close), int(b.volume))
            for t, b in bars.iterrows()]
    start, end = recs[0].ts_event, recs[-1].ts_event + 1_000_000_000
    return metadata(db.Schema.OHLCV_1S, start, end).encode() + b"".join(bytes(x) for x in recs)


def zstd(raw: bytes) -> bytes:
    out = io.BytesIO()
    tr = db.Transcoder(out, db.Encoding.DBN, db.Compression.ZSTD)
    tr.write(raw)
    tr.finish()
    return out.getvalue()


if __name__ == "__main__":
    (HERE / "tardis_trades.trades.dbn.zst").write_bytes(zstd(trades_dbn()))
    (HERE / "tardis_btcusdt.tbbo.dbn").write_bytes(tbbo_dbn())
    (HERE / "tardis_btcusdt.ohlcv-1s.dbn.zst").write_bytes(zstd(ohlcv_1s_dbn()))
    for p in sorted(HERE.glob("*.dbn*")):
        print(p.name, p.stat().st_size)
