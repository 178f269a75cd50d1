"""The live dashboard: a web page served by the engine's process.

Everything the page needs ships inside the package (no CDN): an HTML file,
its stylesheet and its script with small canvas charts. A sampler thread
records, once a second, throughput and latency percentiles, and four times
a second the last price of every symbol (from engine.snapshot()), so the
page costs the engine one snapshot per sample, not per tick. With a paper
venue (``Engine(venue=PaperVenue(...))``) it also takes, once a second, the
positions and open orders (engine.positions(), engine.orders()) for the
panel of positions and P&L per account and symbol.

The page is served by observe/http.py's bounded server (timeouts, a
connection cap) with a Content-Security-Policy that allows only the
dashboard's own files (no inline script, no other origin): the script
inserts every value, symbol names above all, as text.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from importlib import resources
from typing import TYPE_CHECKING, Iterable

from aiohttp import web

from mdstream.observe.http import HTTPService

if TYPE_CHECKING:
    from mdstream.engine import Engine
    from mdstream.venue import OrderState, Position

__all__ = ["Dashboard"]

HISTORY_S = 300           # seconds of history the charts show
PRICE_EVERY_S = 0.25
#: Up to this many open orders the venue panel counts them per account and symbol.
OPEN_ORDERS_LISTED = 10_000

#: Only the dashboard's own files; no inline script or style, no framing.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: The files of the page: path -> (file in mdstream/observe/web, content type).
FILES = {
    "/": ("dashboard.html", "text/html; charset=utf-8"),
    "/index.html": ("dashboard.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}


def venue_panel(positions: "Iterable[Position]", orders: "Iterable[OrderState]") -> dict:
    """The paper venue's panel: one row per (account, symbol) with a position
    ever filled or an open order (position, average price, mark, realized and
    unrealized P&L, fees, net P&L, open orders), with the totals."""
    open_by: dict[tuple[str, str], int] = {}
    n_open = 0
    for o in orders:
        key = (o.account, o.symbol)
        open_by[key] = open_by.get(key, 0) + 1
        n_open += 1
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for p in positions:
        key = (p.account, p.symbol)
        seen.add(key)
        rows.append({"account": p.account, "symbol": p.symbol, "position": p.quantity,
                     "avg_px": p.avg_px, "mark_px": _finite(p.mark_px),
                     "realized_pnl": p.realized_pnl,
                     "unrealized_pnl": _finite(p.unrealized_pnl) or 0.0, "fees": p.fees,
                     "pnl": _finite(p.net_pnl) or 0.0, "fills": p.fills,
                     "open_orders": open_by.get(key, 0)})
    for (account, symbol), n in open_by.items():
        if (account, symbol) not in seen:
            rows.append({"account": account, "symbol": symbol, "position": 0.0, "avg_px": 0.0,
                         "mark_px": None, "realized_pnl": 0.0, "unrealized_pnl": 0.0,
                         "fees": 0.0, "pnl": 0.0, "fills": 0, "open_orders": n})
    rows.sort(key=lambda r: (r["account"], r["symbol"]))
    return {"accounts": sorted({r["account"] for r in rows}), "positions": rows,
            "open_orders": n_open, "pnl": sum(r["pnl"] for r in rows)}


def _finite(x: float) -> float | None:
    """JSON has no NaN: a missing mark or P&L is null."""
    return x if math.isfinite(x) else None


class Dashboard:
    """Serves the dashboard page and its JSON API on host:port (0: any free port)."""

    def __init__(self, engine: "Engine", port: int = 0, host: str = "127.0.0.1",
                 ssl_context=None):
        self.engine = engine
        web_files = resources.files("mdstream.observe.web")
        self._files = {path: (web_files.joinpath(name).read_bytes(), ctype)
                       for path, (name, ctype) in FILES.items()}
        self._lock = threading.Lock()
        self._series: deque = deque(maxlen=HISTORY_S)
        self._prices: dict[str, deque] = {}
        self._last: tuple[float, int] | None = None
        self._stop = threading.Event()
        self._http = HTTPService(self._handle, host, port, name="dashboard",
                                 ssl_context=ssl_context)
        self._sampler = threading.Thread(target=self._sample, name="mdstream-dashboard-sampler",
                                         daemon=True)

    @property
    def server(self) -> HTTPService:
        """The HTTP server (its limits, open_connections)."""
        return self._http

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        host = self._http.server_address[0]
        if ":" in host:                 # IPv6
            host = f"[{host}]"
        return f"{self._http.scheme}://{host}:{self.port}/"

    def start(self) -> "Dashboard":
        self._sampler.start()
        self._http.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        if self._sampler.is_alive():
            self._sampler.join(timeout=5)

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
        venue = self._venue_panel()
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
                "venue": venue,
            }

    def _venue_panel(self) -> dict | None:
        """Positions and P&L per account and symbol, and the open orders: None
        when the engine has no paper venue."""
        config = getattr(self.engine, "venue_config", None)
        if config is None:
            return None
        counters = self.engine.venue_stats() or {}
        n_open = int(counters.get("open_orders", 0))
        # Listing the open orders costs the venue's lock and a Python object per order:
        # past OPEN_ORDERS_LISTED, only their total (the venue's counter) is shown.
        listed = n_open <= OPEN_ORDERS_LISTED
        panel = venue_panel(self.engine.positions(), self.engine.orders() if listed else ())
        panel["accounts"] = config.account_names
        panel["open_orders"] = n_open
        panel["open_orders_listed"] = listed
        if not listed:
            for row in panel["positions"]:
                row["open_orders"] = None
        return panel

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

    def _handle(self, request: web.BaseRequest) -> web.Response:
        path = request.path
        if path in self._files:
            body, ctype = self._files[path]
        elif path == "/api/stats":
            body, ctype = json.dumps(self._api_stats()).encode(), "application/json"
        elif path == "/api/prices":
            body = json.dumps(self._api_prices(request.query.get("symbol", ""))).encode()
            ctype = "application/json"
        else:
            return web.Response(status=404, text="not found\n", headers=SECURITY_HEADERS)
        return web.Response(body=body, headers={**SECURITY_HEADERS, "Content-Type": ctype})
