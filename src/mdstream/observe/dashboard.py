"""The live dashboard: a web page served by the engine's process.

Everything the page needs ships inside the package (no CDN): one HTML file
with its own small canvas charts. A sampler thread records, once a second,
throughput and latency percentiles, and four times a second the last price
of every symbol (from engine.snapshot()), so the page costs the engine one
snapshot per sample, not per tick.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

if TYPE_CHECKING:
    from mdstream.engine import Engine

__all__ = ["Dashboard"]

HISTORY_S = 300           # seconds of history the charts show
PRICE_EVERY_S = 0.25


class Dashboard:
    """Serves the dashboard page and its JSON API on host:port (0: any free port)."""

    def __init__(self, engine: "Engine", port: int = 0, host: str = "127.0.0.1"):
        self.engine = engine
        self._page = resources.files("mdstream.observe.web").joinpath("dashboard.html").read_bytes()
        self._lock = threading.Lock()
        self._series: deque = deque(maxlen=HISTORY_S)
        self._prices: dict[str, deque] = {}
        self._last = None
        self._stop = threading.Event()
        self._http = ThreadingHTTPServer((host, port), self._handler())
        self._http.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._http.serve_forever, name="mdstream-dashboard", daemon=True),
            threading.Thread(target=self._sample, name="mdstream-dashboard-sampler", daemon=True),
        ]

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        host = self._http.server_address[0]
        return f"http://{host}:{self.port}/"

    def start(self) -> "Dashboard":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        for t in self._threads:
            t.join(timeout=5)

    # -- sampling ----------------------------------------------------------------

    def _sample(self) -> None:
        next_stats = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                self._sample_prices()
                if now >= next_stats:
                    self._sample_stats()
                    next_stats = now + 1.0
            except Exception:       # a stopped engine: keep serving what we have
                pass
            self._stop.wait(PRICE_EVERY_S)

    def _sample_prices(self) -> None:
        snap = self.engine.snapshot()
        t = time.time()
        rows = snap.results.rows
        names = snap.results.symbols
        with self._lock:
            for sid, price in zip(rows["symbol_id"], rows["price"]):
                series = self._prices.setdefault(names[sid], deque(maxlen=int(HISTORY_S / PRICE_EVERY_S)))
                series.append((t, float(price)))

    def _sample_stats(self) -> None:
        st = self.engine.stats()
        t = time.time()
        rate = 0.0
        if self._last is not None and t > self._last[0]:
            rate = (st.processed - self._last[1]) / (t - self._last[0])
        self._last = (t, st.processed)
        age = st.latency.get("age_at_send")
        point = {"t": t, "rate": rate,
                 "p50": age.window.p50 / 1e3 if age else 0, "p99": age.window.p99 / 1e3 if age else 0,
                 "p999": age.window.p999 / 1e3 if age else 0}
        with self._lock:
            self._series.append(point)
            self._current = {
                "time": t,
                "running": st.running,
                "ticks_per_s": rate,
                "ticks_in": st.ticks_in,
                "processed": st.processed,
                "dropped": st.dropped,
                "latency_us": {stage: {"p50": lat.window.p50 / 1e3, "p90": lat.window.p90 / 1e3,
                                       "p99": lat.window.p99 / 1e3, "p999": lat.window.p999 / 1e3,
                                       "max": lat.window.max / 1e3}
                               for stage, lat in st.latency.items()},
                "subscriptions": [{"id": s.id, "symbols": s.symbols, "policy": s.policy,
                                   "lag": s.lag, "delivered": s.delivered, "missed": s.missed}
                                  for s in st.subscriptions],
                "symbols": list(self.engine.symbols),
            }

    # -- HTTP --------------------------------------------------------------------

    def _api_stats(self) -> dict:
        with self._lock:
            current = dict(getattr(self, "_current", {}))
            current["series"] = list(self._series)
        return current

    def _api_prices(self, symbol: str) -> dict:
        with self._lock:
            points = list(self._prices.get(symbol, ()))
        return {"symbol": symbol, "points": points}

    def _handler(self):
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):      # quiet: the server's own log is enough
                pass

            def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path in ("/", "/index.html"):
                    self._send(dashboard._page, "text/html; charset=utf-8")
                elif url.path == "/api/stats":
                    self._send(json.dumps(dashboard._api_stats()).encode(), "application/json")
                elif url.path == "/api/prices":
                    symbol = parse_qs(url.query).get("symbol", [""])[0]
                    self._send(json.dumps(dashboard._api_prices(symbol)).encode(), "application/json")
                else:
                    self._send(b"not found\n", "text/plain", 404)

        return Handler
