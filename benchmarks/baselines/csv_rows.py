"""Reading recorded trades with the csv module: the plain-Python baseline of
the CSV parsing benchmark."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple


class TradeRow(NamedTuple):
    symbol: str
    ts_us: int
    price: float
    size: float


def read_trades(path: Path) -> list[TradeRow]:
    """Every row of a tardis-trades file, converted and checked."""
    out = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for line, row in enumerate(reader, start=2):
            try:
                price = float(row["price"])
                size = float(row["amount"])
                ts = int(row["timestamp"])
            except (KeyError, ValueError) as e:
                raise ValueError(f"{path}:{line}: {e}") from None
            if price <= 0:
                raise ValueError(f"{path}:{line}: price must be > 0")
            out.append(TradeRow(row["symbol"], ts, price, size))
    return out
