"""mdstream on NATS JetStream: publish an engine's results, serve them from edges.

``pip install 'mdstream[nats]'``. :class:`Publisher` puts every result of
an engine into a JetStream stream (subjects and headers:
mdstream.nats.subjects); :class:`EdgeSource` reads that stream back and is
what ``mdstream edge`` serves the gRPC API from. ``decode_message`` turns a
message's payload into RESULT_DTYPE rows for any plain nats-py consumer.
"""

from mdstream.nats.frames import decode_message
from mdstream.nats.publish import Publisher, PublisherStats
from mdstream.nats.stream import NatsError, StreamSettings
from mdstream.nats.subjects import (
    DEFAULT_STREAM,
    DEFAULT_SUBJECT_PREFIX,
    MessageSeqs,
    subject_of,
    symbol_of,
)

__all__ = ["Publisher", "PublisherStats", "EdgeSource", "NatsError", "StreamSettings",
           "DEFAULT_STREAM", "DEFAULT_SUBJECT_PREFIX", "MessageSeqs", "subject_of", "symbol_of",
           "decode_message"]


def __getattr__(name: str):
    if name == "EdgeSource":
        from mdstream.nats.edge.source import EdgeSource

        return EdgeSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
