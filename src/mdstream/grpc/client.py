"""Client: subscribe to an mdstream server over gRPC.

    import mdstream

    with mdstream.Client("127.0.0.1:50051") as client:
        for batch in client.stream_batches(symbols=["AAPL"], policy="skip"):
            print(batch.seq[-1], batch.price.mean(), batch.vwap[-1])

``stream_batches`` yields :class:`mdstream.ResultBatch` objects with the same
NumPy columns as an in-process subscription; the compiled codec decodes each
frame from the wire bytes straight into a RESULT_DTYPE array (no protobuf
objects, no per-value Python work). ``stream_results`` yields one protobuf
``Result`` message per tick (the original contract; far slower per tick).

Errors come back as mdstream's exceptions (UnknownSymbolError,
InvalidArgumentError, SlowConsumerError, TooManySubscribersError,
OutOfRangeError, JournalCorruptError), with the gRPC status in ``.code``;
anything else is a :class:`RemoteError` (see mdstream.grpc.errors).
The asyncio client is mdstream.grpc.aio.AsyncClient (also importable here).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import grpc
import grpc.experimental

from mdstream.batch import Snapshot
from mdstream.errors import InvalidArgumentError
from mdstream.grpc.contract import (
    CHANNEL_OPTIONS,
    DEFAULT_MAX_WAIT_S,
    bind_methods,
    channel_options,
    request_to_proto,
)
from mdstream.grpc.errors import RemoteError, translate_error
from mdstream.grpc.frames import Heartbeat, snapshot_from_message, symbol_names
from mdstream.grpc.resume import Reconnect, ResumingBatchStream, ResumingResultStream
from mdstream.grpc.streams import BatchStream, ResultStream
from mdstream.grpc.tls import client_security
from mdstream.request import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_TICKS_PER_FRAME, StreamRequest
from mdstream.v1 import mdstream_pb2 as pb

__all__ = ["Client", "BatchStream", "ResultStream", "AsyncClient", "AsyncBatchStream",
           "AsyncResultStream", "RemoteError", "Heartbeat", "translate_error"]

def __getattr__(name: str):
    # The asyncio client lives in mdstream.grpc.aio; importable from here as before.
    if name in ("AsyncClient", "AsyncBatchStream", "AsyncResultStream"):
        from mdstream.grpc import aio

        return getattr(aio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _channel(target: str, credentials, options: list):
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def _resume_policy(resume) -> Reconnect:
    return resume if isinstance(resume, Reconnect) else Reconnect()


class Client:
    """A connection to an mdstream server.

    Parameters
    ----------
    target:
        "host:port" of the server.
    options:
        Extra grpc channel options.
    timeout:
        Seconds unary calls (snapshot, list_symbols, get_stats) may take.
    tls, tls_cert, tls_key:
        Connect over TLS: ``tls=True`` trusts the system's root CAs,
        ``tls="ca.pem"`` a CA file; ``tls_cert``/``tls_key`` (PEM files)
        are the client's certificate for mutual TLS.
    credentials:
        grpc.ChannelCredentials to use as they are (instead of ``tls``).
    token:
        A bearer token, sent as ``authorization: Bearer TOKEN`` with every call.

    Notes
    -----
    The channel is created at once and connects on first use; call
    ``wait_ready()`` to wait for the server. Close the client (or use it as
    a context manager) to release the connection.
    """

    def __init__(self, target: str = "127.0.0.1:50051", *, options: Sequence = (),
                 timeout: float = 10.0, tls=None, tls_cert: str | None = None,
                 tls_key: str | None = None, credentials=None, token: str | None = None):
        self.target = target
        self.timeout = timeout
        creds, metadata = client_security(credentials, tls, tls_cert, tls_key, token)
        self._channel = _channel(target, creds, channel_options([
            # Server streams read on the calling thread, without grpc's
            # polling thread: the fastest grpcio setting for this pattern.
            (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1),
            *CHANNEL_OPTIONS,
        ], options))
        bind_methods(self, self._channel, metadata)

    def __repr__(self) -> str:
        return f"<mdstream.Client {self.target}>"

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the channel is connected; RemoteError(UNAVAILABLE) if not in time."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise RemoteError(grpc.StatusCode.UNAVAILABLE,
                              f"no mdstream server answered at {self.target} within {timeout} s") from None

    def stream_batches(self, symbols: Iterable[str] | str | None = None, policy: str | None = None, *,
                       max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME,
                       max_wait: float = DEFAULT_MAX_WAIT_S,
                       heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL_S, from_seq: int | None = None,
                       snapshot: bool = False, resume=False, heartbeats: bool = False,
                       timeout: float | None = None):
        """Subscribe to columnar frames: an iterator of ResultBatch (a BatchStream).

        ``symbols``: names (None: all; "AAPL,MSFT" is two); ``policy``:
        'block', 'skip' or 'disconnect' (see Engine.subscribe), or None for
        the server's default ('skip' unless its operator chose otherwise;
        a 'block' subscriber that stops reading is cut off after the
        server's block deadline);
        ``max_ticks_per_frame``: frame size (1 to 16384 ticks);
        ``max_wait``: seconds (0 to 1) a result may wait for its frame to fill
        (latency against frame size); ``heartbeat_interval``: seconds (0.01
        to 60) of quiet before the server sends a heartbeat; ``from_seq``:
        start at this sequence number (replayed from the server's ring or
        journal); ``snapshot``: begin with the newest result of each symbol
        (``stream.read_snapshot()``, then ``stream.snapshot``), the batches
        starting at exactly its ``as_of_seq + 1``; ``timeout``: end the call
        after that many seconds (DEADLINE_EXCEEDED).

        Settings out of range raise InvalidArgumentError here (code
        INVALID_ARGUMENT); what the server refuses is raised at the first
        next(): UnknownSymbolError (INVALID_ARGUMENT), TooManySubscribersError
        (RESOURCE_EXHAUSTED), OutOfRangeError (OUT_OF_RANGE, ``.oldest``),
        RemoteError (UNAVAILABLE, ...); later SlowConsumerError
        (RESOURCE_EXHAUSTED, policy 'disconnect'), JournalCorruptError (DATA_LOSS).

        ``resume=True`` (or a Reconnect): the stream reconnects by itself when
        the connection drops or the server restarts, resumes from the last
        sequence number it received, never yields a duplicate and reports
        what it could not get back as a gap (a ResumingBatchStream; see
        mdstream.grpc.resume).
        """
        request = StreamRequest(symbols, policy, max_ticks_per_frame, max_wait,
                                heartbeat_interval, from_seq, snapshot)
        if resume:
            if timeout is not None:
                raise InvalidArgumentError("timeout cannot be combined with resume")
            request_to_proto(request)           # the wire's limits, checked now
            return ResumingBatchStream(self, request, _resume_policy(resume),
                                       heartbeats=heartbeats)
        call = self._stream_batches(request_to_proto(request), timeout=timeout)
        return BatchStream(call, heartbeats, snapshot)

    def stream_results(self, symbols: Iterable[str] | str | None = None, policy: str | None = None, *,
                       from_seq: int | None = None, snapshot: bool = False, resume=False,
                       timeout: float | None = None):
        """Subscribe to one Result message per tick (the original contract).

        ``from_seq``, ``resume`` and the errors as for stream_batches; with
        ``snapshot`` the first messages are the newest result of each symbol,
        flagged ``snapshot`` with their ``as_of_seq``.
        """
        request = StreamRequest(symbols, policy, from_seq=from_seq, snapshot=snapshot)
        if resume:
            if timeout is not None:
                raise InvalidArgumentError("timeout cannot be combined with resume")
            return ResumingResultStream(self, request, _resume_policy(resume))
        return ResultStream(self._stream_results(request_to_proto(request), timeout=timeout))

    def snapshot(self, symbols: Iterable[str] | str | None = None) -> Snapshot:
        """The newest result of each symbol as of one sequence number.

        Returns an mdstream.Snapshot: ``as_of_seq`` and ``results`` (a
        ResultBatch with one row per symbol that has one). Raises
        UnknownSymbolError (INVALID_ARGUMENT), RemoteError.
        """
        if isinstance(symbols, str):
            symbols = [symbols]
        try:
            resp = self._get_snapshot(pb.SnapshotRequest(symbols=list(symbols or ())),
                                      timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return snapshot_from_message(resp)

    def list_symbols(self) -> list[str]:
        """The server's symbol names, by id."""
        try:
            resp = self._list_symbols(pb.ListSymbolsRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        # By id; a token limited to some symbols sees those only (no gaps).
        return [name for name in symbol_names(resp) if name]

    def get_stats(self):
        """The server's statistics (GetStats): a mdstream.grpc.stats.RemoteStats,
        whose ``engine`` is the engine's EngineStats, with recent and average
        rates, the journal, and what each stream of the server has sent."""
        from mdstream.grpc.stats import read_stats

        try:
            resp = self._get_stats(pb.StatsRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise translate_error(exc) from exc
        return read_stats(resp)

    def close(self) -> None:
        """Close the channel (open streams end)."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
