"""mypy must reject this file (tests/typing/test_mypy.py names each line)."""

from __future__ import annotations

import mdstream
from mdstream.request import StreamRequest


def misspelled(batch: mdstream.ResultBatch, engine: mdstream.Engine,
               client: mdstream.Client) -> None:
    print(batch.prise.mean())                          # a column that does not exist
    engine.subscribe(["AAPL"], policy="skipp")         # a policy that does not exist
    client.stream_batches(["AAPL"], policy="blocking")
    StreamRequest(None, "drop")
    print(batch.price.mean(), batch.trade_count.sum())  # correct: no error
