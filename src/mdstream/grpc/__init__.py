"""The gRPC layer: the wire contract, the servicer and server, and the clients.

    from mdstream.grpc import Client, Server, Reconnect

Modules: ``contract`` (service names, policies, frame limits, the request
conversion, the error table), ``errors`` (RemoteError, translate_error,
rich statuses), ``servicer`` and ``server`` (serving an Engine), ``client``
(sync Client), ``aio`` (AsyncClient), ``streams`` and ``frames`` (a call's
streams and their frame decoding), ``resume`` (resuming streams), ``stats``
(GetStats). Names below load their module (and grpc) on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Client": "client",
    "AsyncClient": "aio",
    "BatchStream": "streams",
    "ResultStream": "streams",
    "AsyncBatchStream": "aio",
    "AsyncResultStream": "aio",
    "Heartbeat": "frames",
    "RemoteError": "errors",
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
    "SERVICE_NAME": "contract",
    "LEGACY_SERVICE_NAME": "contract",
    "RemoteStats": "stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mdstream.grpc' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mdstream.grpc.{module}"), name)


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
