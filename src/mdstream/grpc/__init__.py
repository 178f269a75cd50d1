"""The gRPC layer: the wire contract, the servicer and server, and the clients.

    from mdstream.grpc import Client, Server, Reconnect

Modules: ``contract`` (service names, policies, frame limits, the request
conversion, the error table), ``errors`` (RemoteError, translate_error,
rich statuses), ``servicer`` and ``server`` (serving an Engine, or any
``source.ResultSource``), ``client``
(sync Client), ``aio`` (AsyncClient), ``streams`` and ``frames`` (a call's
streams and their frame decoding), ``resume`` (resuming streams), ``stats``
(GetStats); paper trading: ``trading`` (Trade, GetOrders, GetPositions),
``trade_session`` (the clients' order sessions), ``trade_wire`` (their
messages). Names below load their module (and grpc) on first use.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# grpc's core prints a line to stderr for every failed TLS handshake
# ("I... ssl_transport_security.cc ... Handshake failed"), so a reconnecting
# client would say its failure once per attempt. Its documented default
# verbosity is ERROR: ask for it unless the user chose (read when grpc is
# first imported, which no module of mdstream does before this one). See
# https://github.com/grpc/grpc/blob/master/doc/environment_variables.md
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

_EXPORTS = {
    "Client": "client",
    "AsyncClient": "aio",
    "BatchStream": "streams",
    "ResultStream": "streams",
    "AsyncBatchStream": "aio",
    "AsyncResultStream": "aio",
    "Heartbeat": "frames",
    "RemoteError": "errors",
    "ConnectError": "connect",
    "translate_error": "errors",
    "Reconnect": "resume",
    "ReconnectError": "resume",
    "ResumingBatchStream": "resume",
    "ResumingResultStream": "resume",
    "AsyncResumingBatchStream": "aio",
    "Server": "server",
    "serve": "server",
    "PortInUseError": "server",
    "MDStreamServicer": "servicer",
    "ResultSource": "source",
    "SERVICE_NAME": "contract",
    "LEGACY_SERVICE_NAME": "contract",
    "RemoteStats": "stats",
    "RemoteOrderSession": "trade_session",
    "AsyncRemoteOrderSession": "trade_session",
    "RequestError": "trade_wire",
    "NoPaperVenueError": "contract",
    "UnknownAccountError": "contract",
    "TradingServicer": "trading",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:       # what type checkers see of the names loaded on first use
    from mdstream.grpc.aio import AsyncBatchStream, AsyncClient, AsyncResultStream
    from mdstream.grpc.aio import AsyncResumingBatchStream
    from mdstream.grpc.client import Client
    from mdstream.grpc.connect import ConnectError
    from mdstream.grpc.contract import LEGACY_SERVICE_NAME, SERVICE_NAME
    from mdstream.grpc.errors import RemoteError, translate_error
    from mdstream.grpc.frames import Heartbeat
    from mdstream.grpc.resume import Reconnect, ReconnectError, ResumingBatchStream
    from mdstream.grpc.resume import ResumingResultStream
    from mdstream.grpc.server import PortInUseError, Server, serve
    from mdstream.grpc.servicer import MDStreamServicer
    from mdstream.grpc.source import ResultSource
    from mdstream.grpc.stats import RemoteStats
    from mdstream.grpc.streams import BatchStream, ResultStream
    from mdstream.grpc.contract import NoPaperVenueError, UnknownAccountError
    from mdstream.grpc.trade_session import AsyncRemoteOrderSession, RemoteOrderSession
    from mdstream.grpc.trade_wire import RequestError
    from mdstream.grpc.trading import TradingServicer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mdstream.grpc' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mdstream.grpc.{module}"), name)


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
