"""The server's side of two things a client must be able to tell: which
stream it is reading, and whether the journal behind it can be written.

- The stream id (``Engine.stream_id``: its journal's, kept across restarts
  on that journal, else new for every engine) goes out as the initial
  metadata ``mdstream-stream-id`` of every stream, on heartbeats
  (``ResultBatch.stream_id``, ``Result.stream_id``) and in GetSnapshot's
  ``Snapshot.stream_id``. A request with ``expect_stream_id`` set to another
  id fails with FAILED_PRECONDITION / STREAM_CHANGED (StreamChangedError):
  its from_seq would mean other results here.
- While the journal cannot be written, the health service says NOT_SERVING
  (``follow_journal``); SERVING again once it is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grpc_health.v1 import health_pb2

from mdstream.errors import StreamChangedError
from mdstream.v1 import mdstream_pb2 as pb

if TYPE_CHECKING:
    from mdstream.grpc.source import ResultSource

__all__ = ["STREAM_ID_KEY", "announce_stream", "batch_heartbeat", "follow_journal",
           "stream_id_of_call"]

#: The initial metadata key of every stream's id.
STREAM_ID_KEY = "mdstream-stream-id"


def announce_stream(engine: "ResultSource", request: pb.SubscribeRequest, context) -> None:
    """Refuse a resume into another stream (StreamChangedError), else send
    the stream id as initial metadata (before any message)."""
    expected = request.expect_stream_id
    if expected and expected != engine.stream_id:
        raise StreamChangedError(expected, engine.stream_id)
    context.send_initial_metadata(((STREAM_ID_KEY, engine.stream_id),))


def batch_heartbeat(engine: "ResultSource", encode):
    """The codec's heartbeat frame encoder, with the stream id appended to
    each frame (fields of a serialized message that follow it merge into it)."""
    tag = pb.ResultBatch(stream_id=engine.stream_id).SerializeToString()
    return lambda last_seq, now_ns: encode(last_seq, now_ns) + tag


def stream_id_of_call(call) -> str | None:
    """The stream id a call's initial metadata names (None: an older server,
    or none received)."""
    try:
        metadata = call.initial_metadata() or ()
    except Exception:  # noqa: BLE001 - a call that failed may have none
        return None
    for key, value in metadata:
        if key == STREAM_ID_KEY:
            return value
    return None


def follow_journal(engine: "ResultSource", health, services) -> None:
    """Health NOT_SERVING for ``services`` while the engine's journal cannot
    be written, SERVING once it is written again."""
    def on_change(error: str | None) -> None:
        status = (health_pb2.HealthCheckResponse.NOT_SERVING if error is not None
                  else health_pb2.HealthCheckResponse.SERVING)
        for service in services:
            health.set(service, status)

    engine.on_journal_error(on_change)
