"""What a competent Python developer would write without mdstream.

These are the baselines every benchmark measures in the same run as mdstream:

- ``analytics``: the per-symbol analytics (volume, VWAP, high/low, EMA,
  volatility of log returns, current quote) in plain Python.
- ``queue_pipeline``: a feed thread, worker threads and subscriber queues
  joined by ``queue.Queue``, one tick per ``put``, with those analytics.
- ``grpc_server`` / ``grpc_client``: a plain grpcio server sending one
  protobuf ``Result`` per tick from a ``queue.Queue`` (fed by the pipeline),
  and its plain client. Their ``.proto`` is compiled at run time.

Nothing here imports mdstream.
"""
