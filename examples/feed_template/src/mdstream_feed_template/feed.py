"""JSONLFeed: the Feed contract in a few lines (see docs/feeds.md in mdstream)."""

from __future__ import annotations

import json
import threading

import numpy as np

from mdstream import TICK_DTYPE, TRADE
from mdstream.errors import InvalidArgumentError
from mdstream.feeds import Feed


class JSONLFeed(Feed):
    """Trades from a JSON Lines file, published as fast as the engine takes them.

    The file is read and checked in the constructor (a bad line raises
    InvalidArgumentError naming the file and the line), so ``symbols`` is
    known before the engine binds the feed.
    """

    def __init__(self, path: str, *, symbol: str | None = None, batch: int = 4096):
        self.path = path
        ts, names, price, size = [], [], [], []
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    ts.append(int(obj["ts_ns"]))
                    names.append(symbol or str(obj["symbol"]))
                    price.append(float(obj["price"]))
                    size.append(float(obj["size"]))
                except (ValueError, KeyError, TypeError) as e:
                    raise InvalidArgumentError(f"{path}:{line_no}: {type(e).__name__}: {e}") from None
        self.symbols = list(dict.fromkeys(names))           # in order of first appearance
        local = {name: k for k, name in enumerate(self.symbols)}
        self._ticks = np.zeros(len(ts), dtype=TICK_DTYPE)
        self._ticks["ts_ns"] = ts
        self._ticks["kind"] = TRADE
        self._ticks["symbol_id"] = [local[n] for n in names]
        self._ticks["price"] = price
        self._ticks["size"] = size
        self.rows = len(ts)
        self._batch = batch
        self._sink = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- the Feed contract -------------------------------------------------

    def bind(self, sink) -> None:
        """Once, before start: the sink is the feed's only way into the engine."""
        self._sink = sink
        ids = np.asarray(sink.symbol_ids(self.symbols), dtype=np.int32)
        self._ticks["symbol_id"] = ids[self._ticks["symbol_id"]]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jsonl-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Promptly, without raising."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)

    @property
    def error(self) -> BaseException | None:
        return self._error

    def _run(self) -> None:
        try:
            for i in range(0, len(self._ticks), self._batch):
                if self._stop.is_set():
                    return
                # The tick rules (mdstream.tick_rules) are applied by ingest.
                self._sink.ingest(self._ticks[i:i + self._batch].copy())
            self._sink.close()                 # finite data: subscriptions end after the last result
        except BaseException as e:             # noqa: BLE001 - reported by the engine's wait()/stop()
            if self._stop.is_set():
                return
            self._error = e
            self._sink.close()
