"""A journaling gRPC server for the resume and crash tests, and the
deterministic tick stream it serves.

Run as a script:

    python grpc_journal_server.py --journal DIR [--port 0] [--total N] ...

It opens an Engine on the journal directory (recovering whatever an earlier,
possibly killed, run left there), serves it on 127.0.0.1 and prints

    ready PORT NEXT_SEQ TORN_BYTES_CUT

once connections are accepted (TORN_BYTES_CUT: what recovery cut off a torn
tail left by a kill). It then publishes ticks[NEXT_SEQ:TOTAL] of
tick_stream(TOTAL) in small batches, so that result seq i is always the
result of tick i: the whole stream, across any number of kills and restarts,
equals reference_results(tick_stream(TOTAL)). After the last tick it declares
the end of data (streams end with OK once every result is delivered), prints
"done", and serves until SIGTERM/SIGINT.

Imported as a module, it gives the tests tick_stream() and reference_results().
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np

import mdstream
from mdstream import _testing

SYMBOLS = ["AAA", "BBB", "CCC", "DDD"]
EMA_ALPHA = 2.0 / 21.0            # the engine's default ema_span=20
ANALYTIC_COLUMNS = [c for c in mdstream.RESULT_DTYPE.names
                    if c not in ("seq", "recv_ns", "done_ns")]


def tick_stream(n: int, seed: int = 5) -> np.ndarray:
    """n ticks (TICK_DTYPE) of SYMBOLS with event times: the same for a seed."""
    ticks = _testing.simulate_ticks(n, seed, len(SYMBOLS))
    ticks["ts_ns"] = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 1_000_000
    return ticks


def reference_results(ticks: np.ndarray) -> np.ndarray:
    """What one uninterrupted engine computes for these ticks (seq = index)."""
    results, _ = _testing.compute_analytics(ticks, EMA_ALPHA, len(SYMBOLS))
    return results


def assert_same_analytics(got: np.ndarray, want: np.ndarray) -> None:
    assert len(got) == len(want), (len(got), len(want))
    for col in ANALYTIC_COLUMNS:
        np.testing.assert_allclose(got[col].astype(float), want[col].astype(float),
                                   rtol=1e-12, atol=0, equal_nan=True, err_msg=col)


def publish(engine: mdstream.Engine, ticks: np.ndarray) -> None:
    """Publish a TICK_DTYPE array in order through the public API."""
    kinds = ticks["kind"]
    names = np.asarray(SYMBOLS, dtype=object)
    start = 0
    while start < len(ticks):
        stop = start + 1
        while stop < len(ticks) and kinds[stop] == kinds[start]:
            stop += 1
        part = ticks[start:stop]
        sym = names[part["symbol_id"]]
        if kinds[start] == mdstream.TRADE:
            engine.publish_trades(sym, part["price"], part["size"], part["ts_ns"])
        else:
            engine.publish_quotes(sym, part["bid"], part["ask"], part["bid_size"],
                                  part["ask_size"], part["ts_ns"])
        start = stop


def _publisher(engine: mdstream.Engine, ticks: np.ndarray, first: int, batch: int,
               pace: float, server=None, wait_streams: int = 0) -> None:
    # Clients that must see the writes live (they hold the writer back with
    # policy 'block') are given the time to connect first.
    while server is not None and server.servicer.active_streams < wait_streams:
        time.sleep(0.005)
    position = first
    started = time.monotonic()
    try:
        while position < len(ticks):
            part = ticks[position:position + batch]
            publish(engine, part)
            position += len(part)
            if pace > 0:
                # Hold the average rate at `pace` ticks/s (the first tick counts from now).
                ahead = (position - first) / pace - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        engine.close_ingest()
        print("done", flush=True)
    except mdstream.EngineStateError:
        pass                         # stopped by a signal while publishing


def main(argv=None) -> None:
    from mdstream.journal import JournalConfig
    from mdstream.grpc.server import serve

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--journal", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--total", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=97)
    p.add_argument("--pace", type=float, default=0.0, help="ticks/s (0: as fast as possible)")
    p.add_argument("--durability", default="write")
    p.add_argument("--segment-bytes", type=int, default=1 << 20)
    p.add_argument("--ring-size", type=int, default=1 << 12)
    p.add_argument("--wait-streams", type=int, default=0,
                   help="publish once this many streams are open")
    args = p.parse_args(argv)

    ticks = tick_stream(args.total)
    engine = mdstream.Engine(symbols=SYMBOLS, ring_size=args.ring_size, journal=JournalConfig(
        args.journal, durability=args.durability, segment_bytes=args.segment_bytes))
    first = engine.recovery.next_seq

    def on_ready(server) -> None:
        print("ready", server.port, first, engine.recovery.torn_bytes_cut, flush=True)
        threading.Thread(target=_publisher, args=(engine, ticks, first, args.batch, args.pace,
                                                  server, args.wait_streams),
                         name="publisher", daemon=True).start()

    # Lossless clients under kill -9: a 'block' reader is never cut off here.
    serve(engine, "127.0.0.1", args.port, grace=0.5, on_ready=on_ready, block_deadline=None)


if __name__ == "__main__":
    sys.exit(main())
