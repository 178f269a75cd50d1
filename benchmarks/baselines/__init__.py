"""What a competent Python developer would write without mdstream.

These are the baselines every benchmark measures in the same run as mdstream:

- ``analytics``: the per-symbol analytics (volume, VWAP, high/low, EMA,
  volatility of log returns, current quote) in plain Python.
- ``queue_pipeline``: a feed thread, worker threads and subscriber queues
  joined by ``queue.Queue``, one tick per ``put``, with those analytics.
- ``grpc_server`` / ``grpc_client``: a plain grpcio server sending one
  protobuf ``Result`` per tick from a ``queue.Queue`` (fed by the pipeline),
  and its plain client. Their ``.proto`` is compiled at run time.

- ``preencoded_server``: the cheapest grpcio stream of Result messages
  (pre-encoded, one per tick).
- ``preencoded_frames_server``: the cheapest grpcio stream of StreamBatches
  frames to many subscribers (pre-encoded, sent again and again).

Nothing here imports mdstream while it measures: preencoded_frames_server
uses mdstream's engine and codec once, before serving, to make frames of
real results that the mdstream client reads.
"""

import signal
import threading


def stop_event() -> threading.Event:
    """An event that SIGTERM and Ctrl-C set (the handlers are installed now,
    from the main thread): how the benchmark servers run until the benchmark
    stops them."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    return done
