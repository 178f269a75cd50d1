"""Compact frames: bytes per tick and CPU per tick of compressing StreamBatches frames.

Does a general compressor, or delta-encoding of the sequence numbers and
timestamps, make the frames enough smaller to be worth its CPU?

The frames: 4096-tick frames of real engine results (an in-process Engine,
SimulatedFeed rate 0, 8 symbols, 2 workers), encoded by the core's
BatchEncoder with every column (24) and with the five-column projection
``seq,ts_ns,symbol_id,price,size``. SimulatedFeed stamps a whole generated
batch with one ``ts_ns``, which no real feed does and which flatters every
compressor, so ``ts_ns`` is replaced by per-tick event times with
exponential gaps of 1 us on average (a market of 1 M events/s, 1 ns
resolution; seed 7). The rest is as the engine made it.

Offline cases (one process, no network), each against the plain frame in
the same run (runs alternate):

- ``<method>_<fields>_bytes``: bytes per tick on the wire (lower is better;
  deterministic, one value), baseline the plain frame;
- ``<method>_<fields>_ns``: ns per tick of encode + compress (the server)
  + decompress + decode into NumPy (the client), baseline encode + decode;
  ``extra`` splits it into ``server_ns`` and ``client_ns``.

Methods: ``gzip6`` (zlib level 6 with a gzip header: what grpcio's gzip
channel compression runs), ``zstd1``, ``zstd3`` (the zstandard package),
``lz4`` (lz4.frame, only if importable here: not a dependency of
mdstream), ``delta_varint`` (an estimate: seq and ts_ns sent as zigzag
varints of their differences instead of 8 bytes each; CPU: NumPy
differences of those two columns written into a copy of the rows made
beforehand on the server, cumsum on the client: an upper estimate of what
the core's encoder would spend) and ``delta_zstd1`` (zstd level 1 on
frames whose seq and ts_ns columns hold their differences).

End to end (``gzip_e2e_<fields>``): ticks/s into one client process
(benchmarks/_grpc_client.py, mdstream.Client.stream_batches, policy
'block', frames of up to 4096 ticks, max_wait 2 ms) from an mdstream server
whose responses grpcio compresses with gzip, against the same engine served
plain in the same process (benchmarks/_gzip_server.py), alternating; with
the CPU each side used (with --quick: five columns only).

docs/PERFORMANCE.md turns these into delivered ticks/s on loopback, 10 and
1 Gbit/s links (min of the CPU-limited rate and link / bytes per tick).
"""

from __future__ import annotations

import statistics
import sys
import time
import zlib

import numpy as np

from mdstream.benchmarking import result_line

from benchmarks import _grpc
from benchmarks.projection import FIVE

NAME = "compact_frames"
FRAME = 4096
FIELD_SETS = {"five": FIVE.split(","), "every": None}


# -- the frames -------------------------------------------------------------------

def engine_rows(n_frames: int, seed: int = 7) -> list[np.ndarray]:
    """n_frames x 4096 results from a real engine, ts_ns as per-tick event times."""
    import mdstream

    feed = mdstream.SimulatedFeed(symbols=[f"SYM{i}" for i in range(8)], rate=0, seed=seed)
    engine = mdstream.Engine(feed=feed, workers=2, ring_size=1 << 16)
    sub = engine.subscribe(policy="block", max_ticks_per_frame=FRAME)
    parts, n = [], 0
    with engine:
        while n < n_frames * FRAME:
            b = sub.next_batch(timeout=10)
            if b is None:
                raise RuntimeError("the engine produced nothing for 10 s")
            parts.append(b.rows.copy())
            n += len(b.rows)
        sub.close()
    rows = np.concatenate(parts)[: n_frames * FRAME]
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1000.0, len(rows)).astype(np.int64)
    rows["ts_ns"] = int(rows["ts_ns"][0]) + np.cumsum(gaps)
    return [rows[i * FRAME:(i + 1) * FRAME] for i in range(n_frames)]


def _delta(rows: np.ndarray) -> np.ndarray:
    """The rows with seq and ts_ns as differences (the first value kept)."""
    out = rows.copy()
    for col in ("seq", "ts_ns"):
        c = out[col]
        c[1:] = np.diff(rows[col])
    return out


def _undelta(rows: np.ndarray) -> None:
    for col in ("seq", "ts_ns"):
        np.cumsum(rows[col], out=rows[col])


def _varint_bytes(values: np.ndarray) -> int:
    """Bytes of values as zigzag varints (protobuf sint64)."""
    v = values.astype(np.int64)
    z = ((v << 1) ^ (v >> 63)).view(np.uint64)
    n = np.ones(len(z), dtype=np.int64)
    for k in range(1, 10):
        n += z >= (np.uint64(1) << np.uint64(7 * k))
    return int(n.sum())


# -- the methods --------------------------------------------------------------------

def _gzip(data: bytes) -> bytes:
    """gzip at zlib's default level 6, as grpc core compresses (zlib.compress has
    no wbits before Python 3.11)."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def methods() -> dict:
    """name -> (compress, decompress, delta), for what is importable here."""
    out = {
        "plain": (None, None, False),
        "gzip6": (_gzip, lambda c: zlib.decompress(c, 47), False),
    }
    try:
        import zstandard
    except ImportError:  # pragma: no cover - the test extra installs it
        zstandard = None  # type: ignore[assignment]
    if zstandard is not None:
        dz = zstandard.ZstdDecompressor()
        for level in (1, 3):
            cz = zstandard.ZstdCompressor(level=level)
            out[f"zstd{level}"] = (cz.compress, dz.decompress, False)
    try:
        import lz4.frame as lz4f
    except ImportError:
        lz4f = None
    if lz4f is not None:
        out["lz4"] = (lz4f.compress, lz4f.decompress, False)
    out["delta_varint"] = (None, None, True)
    if zstandard is not None:
        out["delta_zstd1"] = (out["zstd1"][0], out["zstd1"][1], True)
    return out


def _measure(encoder, frames, compress, decompress, delta: bool, loops: int
             ) -> tuple[float, float]:
    """(server ns/tick, client ns/tick) of encode [+ compress] and [decompress +] decode.

    With ``delta`` the server writes the differences of seq and ts_ns into a
    copy of the frame's rows made beforehand (only those two columns are
    written in the timed loop) and the client sums them back up in place."""
    from mdstream import _codec

    ticks = loops * len(frames) * FRAME
    scratch = [_delta(rows) for rows in frames] if delta else frames
    t0 = time.perf_counter_ns()
    payloads: list[bytes] = []
    for _ in range(loops):
        payloads.clear()
        for rows, out in zip(frames, scratch):
            if delta:
                for col in ("seq", "ts_ns"):
                    c = rows[col]
                    np.subtract(c[1:], c[:-1], out=out[col][1:])
            data = encoder.encode(out)
            payloads.append(compress(data) if compress is not None else data)
    t1 = time.perf_counter_ns()
    for _ in range(loops):
        for p in payloads:
            rows, _, _, _ = _codec.decode_batch(decompress(p) if decompress is not None else p)
            if delta:
                _undelta(rows)
    t2 = time.perf_counter_ns()
    return (t1 - t0) / ticks, (t2 - t1) / ticks


def _bytes_per_tick(encoder, frames, compress, delta: bool) -> float:
    total = 0
    for rows in frames:
        d = _delta(rows) if delta else rows
        data = encoder.encode(d)
        if compress is not None:
            total += len(compress(data))
        elif delta:
            # seq and ts_ns as zigzag varints of their differences instead of 8 bytes each
            # (the packed field's length prefix grows by a byte or two: ignored).
            total += len(data) - 16 * len(rows) + _varint_bytes(d["seq"]) + \
                _varint_bytes(d["ts_ns"])
        else:
            total += len(data)
    return total / (len(frames) * FRAME)


def run_offline(opts, machine):
    from mdstream import _codec

    n_frames = 2 if opts.quick else 8
    loops = 1 if opts.quick else 5
    frames = engine_rows(n_frames + 1)
    names = [f"SYM{i}" for i in range(8)]
    meths = methods()
    for label, fields in FIELD_SETS.items():
        def encoder():
            enc = _codec.BatchEncoder(names, fields)
            enc.encode(frames[0])      # the symbol names go out once, with the first frame
            return enc
        body = frames[1:]
        base_bytes = _bytes_per_tick(encoder(), body, None, False)
        params = {"frame": FRAME, "frames": len(body), "fields": FIVE if fields else "every (24)",
                  "symbols": 8, "ts_ns": "per-tick event times, exponential gaps of 1 us",
                  "source": "Engine(SimulatedFeed(rate=0), workers=2) results"}
        for name, (comp, decomp, delta) in meths.items():
            if name == "plain":
                continue
            nbytes = _bytes_per_tick(encoder(), body, comp, delta)
            mp = {**params, "method": name}
            yield result_line(NAME, f"{name}_{label}_bytes", "bytes/tick", mp, [nbytes],
                              [base_bytes], "the plain frame (no compression)",
                              higher_is_better=False, machine=machine)
            enc_m, enc_p = encoder(), encoder()
            runs_m: list[tuple[float, float]] = []
            runs_p: list[tuple[float, float]] = []
            for _ in range(opts.repeat):
                runs_m.append(_measure(enc_m, body, comp, decomp, delta, loops))
                runs_p.append(_measure(enc_p, body, None, None, False, loops))
            med = lambda runs, i: statistics.median(r[i] for r in runs)
            yield result_line(
                NAME, f"{name}_{label}_ns", "ns/tick", mp, [s + c for s, c in runs_m],
                [s + c for s, c in runs_p],
                "encode + decode of the plain frame (no compression), same run",
                higher_is_better=False, machine=machine,
                extra={"server_ns": med(runs_m, 0), "client_ns": med(runs_m, 1),
                       "baseline_server_ns": med(runs_p, 0),
                       "baseline_client_ns": med(runs_p, 1),
                       "bytes_per_tick": nbytes, "baseline_bytes_per_tick": base_bytes})


# -- end to end: grpcio's gzip ------------------------------------------------------

class _Port:
    """One port of the two-port server, as run_clients wants a server."""

    def __init__(self, server: _grpc.ServerProcess, address: str):
        self.server = server
        self.address = address

    def cpu_seconds(self) -> float:
        return self.server.cpu_seconds()


def run_e2e(opts, machine):
    warmup = 0.2 if opts.quick else 1.0
    d = opts.duration
    repeat = 1 if opts.quick else opts.repeat
    frame = _grpc.frame_args(opts)
    argv = [sys.executable, "-m", "benchmarks._gzip_server", "--rate", "0"]
    with _grpc.ServerProcess(argv, "mdstream (plain and gzip)") as server:
        plain_addr, gzip_addr = server.address.split(",")
        plain, gzip = _Port(server, plain_addr), _Port(server, gzip_addr)
        # --quick: the five columns only (each client run is a process start).
        sets = {"five": FIELD_SETS["five"]} if opts.quick else FIELD_SETS
        for label, fields in sets.items():
            extra = [*frame, "--fields", ",".join(fields)] if fields else frame
            g, p = [], []
            for _ in range(repeat):
                g.append(_grpc.run_clients(gzip, "batches", 1, d, warmup, extra=extra))
                p.append(_grpc.run_clients(plain, "batches", 1, d, warmup, extra=extra))
            rate = _grpc.client_rates

            def cpu(runs):
                cs = [_grpc.cpu_summary(r) for r in runs]
                rates = rate(runs)
                return {**_grpc.median_cores(runs),
                        "server_ns_per_tick": statistics.median(
                            c["server_cores"] / r * 1e9 for c, r in zip(cs, rates) if r),
                        "client_ns_per_tick": statistics.median(
                            c["client_cores"] / r * 1e9 for c, r in zip(cs, rates) if r)}
            yield result_line(
                NAME, f"gzip_e2e_{label}", "ticks/s",
                {"clients": 1, "server_workers": 2, "symbols": 8,
                 "feed": "SimulatedFeed(rate=0)", "policy": "block",
                 "transport": "loopback TCP", "duration_s": d, "max_ticks_per_frame": opts.frame,
                 "max_wait_s": opts.max_wait, "fields": FIVE if fields else "every (24)",
                 "compression": "grpc.Compression.Gzip on the server's responses"},
                rate(g), rate(p), "the same engine served without compression, same process, "
                "alternating", machine=machine,
                extra={"cpu": cpu(g), "baseline_cpu": cpu(p),
                       "bytes_per_tick_uncompressed": statistics.median(
                           r["clients"][0]["bytes_per_tick"] for r in g)})


def run(opts, machine):
    yield from run_offline(opts, machine)
    yield from run_e2e(opts, machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
