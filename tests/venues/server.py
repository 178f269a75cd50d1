"""VenueServer: a local WebSocket server speaking one venue's protocol, on a free loopback port.

It runs the ``websockets`` server (asyncio) in its own thread. Each
connection does the venue's subscription handshake, then plays the next
*script* the test queued (one per connection, in order; once they are used
up, a connection is held open and silent):

- ``Send(*messages)``: send text messages; ``Pause(seconds)``;
- ``Close(code, reason)``: a clean close handshake (a planned disconnect);
- ``Abort()``: drop the TCP connection without a close (an abrupt one);
- ``Hold()``: keep the connection open and send nothing (a silent one;
  protocol pings are still answered by the library);
- ``Stream(make, count, rate)``: messages made when sent (``make(i,
  time.time_ns())``), paced at ``rate`` a second (benchmarks).

Handshakes: ``binance`` takes its streams from the URL
(``/stream?streams=a@trade/b@bookTicker``); ``coinbase`` waits for a
``subscribe`` message and answers ``subscriptions``; ``kraken`` waits for one
``subscribe`` request per channel, acknowledges each, answers application
``ping`` requests with ``pong``. ``subscriptions`` records what each
connection subscribed to; ``pings`` counts application pings.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve


@dataclass
class Send:
    messages: tuple

    def __init__(self, *messages: str):
        self.messages = messages


@dataclass
class Pause:
    seconds: float


@dataclass
class Close:
    code: int = 1000
    reason: str = ""


@dataclass
class Abort:
    pass


@dataclass
class Hold:
    pass


@dataclass
class Stream:
    """``count`` messages made at send time by ``make(i, now_ns)``, ``rate`` a
    second (0: as fast as possible)."""

    make: object
    count: int
    rate: float = 0.0


class VenueServer:
    """``VenueServer("binance")`` -> ``.url`` (ws://127.0.0.1:PORT), ``.queue(script)``."""

    def __init__(self, venue: str):
        self.venue = venue
        self.scripts: list[list] = []
        self.subscriptions: list = []
        self.received: list[str] = []
        self.pings = 0
        self.connections = 0
        self.send_times: list[int] = []      # time.time_ns() of each message sent, when recorded
        self.record_send_times = False
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self._thread = threading.Thread(target=self._main, name=f"venue-{venue}", daemon=True)
        self.port = 0

    # -- test side ---------------------------------------------------------------------

    def start(self) -> "VenueServer":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the venue server did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def queue(self, *steps) -> None:
        """Queue the script of the next connection not yet scripted."""
        with self._lock:
            self.scripts.append(list(steps))

    # -- server side -------------------------------------------------------------------

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._handler, "127.0.0.1", 0, ping_interval=5) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    async def _handler(self, ws) -> None:
        with self._lock:
            index = self.connections
            self.connections += 1
            script = self.scripts[index] if index < len(self.scripts) else [Hold()]
        try:
            await getattr(self, f"_handshake_{self.venue.replace('-', '_')}")(ws)
        except Exception:           # the client went away during the handshake
            return
        reader = asyncio.create_task(self._read(ws))
        try:
            for step in script:
                if isinstance(step, Send):
                    for m in step.messages:
                        if self.record_send_times:
                            self.send_times.append(time.time_ns())
                        await ws.send(m)
                elif isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Close):
                    await ws.close(step.code, step.reason)
                    return
                elif isinstance(step, Abort):
                    ws.transport.abort()
                    return
                elif isinstance(step, Stream):
                    await self._stream(ws, step)
                elif isinstance(step, Hold):
                    await ws.wait_closed()
                    return
            await ws.wait_closed()
        except Exception:           # the client closed first: the script ends
            pass
        finally:
            reader.cancel()

    async def _stream(self, ws, step: Stream) -> None:
        start = time.perf_counter()
        for i in range(step.count):
            if step.rate > 0:
                delay = start + i / step.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(step.make(i, time.time_ns()))

    async def _read(self, ws) -> None:
        """After the handshake: record what the client sends, answer Kraken pings."""
        try:
            async for raw in ws:
                self.received.append(raw)
                msg = json.loads(raw)
                if self.venue == "kraken" and msg.get("method") == "ping":
                    self.pings += 1
                    await ws.send(json.dumps({"method": "pong", "req_id": msg.get("req_id"),
                                              "time_in": "2024-01-01T00:00:00.000000Z",
                                              "time_out": "2024-01-01T00:00:00.000001Z"}))
        except Exception:
            pass

    async def _handshake_binance(self, ws) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        streams = query.get("streams", [""])[0].split("/")
        if not urlsplit(ws.request.path).path == "/stream" or not streams[0]:
            await ws.close(1008, "expected /stream?streams=...")
            raise ValueError(ws.request.path)
        self.subscriptions.append(streams)

    _handshake_binance_futures = _handshake_binance

    async def _handshake_coinbase(self, ws) -> None:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("type") != "subscribe":
            await ws.send(json.dumps({"type": "error", "message": "Failed to subscribe",
                                      "reason": "expected a subscribe message"}))
            raise ValueError(msg)
        self.subscriptions.append(msg)
        await ws.send(json.dumps({"type": "subscriptions", "channels": [
            {"name": c, "product_ids": msg["product_ids"]} for c in msg["channels"]]}))

    async def _handshake_kraken(self, ws) -> None:
        got = []
        while len(got) < 2:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg.get("method") != "subscribe":
                continue
            got.append(msg["params"])
            p = msg["params"]
            await ws.send(json.dumps({"method": "subscribe", "success": True,
                                      "result": {"channel": p["channel"],
                                                 "symbol": p["symbol"][0],
                                                 "snapshot": p.get("snapshot", True)},
                                      "time_in": "2024-01-01T00:00:00.000000Z",
                                      "time_out": "2024-01-01T00:00:00.000001Z"}))
        self.subscriptions.append(got)
        await ws.send(json.dumps({"channel": "status", "type": "update", "data": [
            {"api_version": "v2", "connection_id": 1, "system": "online", "version": "2.0.0"}]}))
