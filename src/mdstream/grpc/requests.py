"""Request messages read in the handler, so that a malformed one gets
INVALID_ARGUMENT with what is wrong (grpcio's own deserializer would answer
INTERNAL, "Exception deserializing request!", and log a traceback)."""

from __future__ import annotations

from typing import Callable

import grpc
from google.protobuf.message import DecodeError

__all__ = ["unary_stream", "unary_unary"]


def _parse(message_cls, raw: bytes, context):
    try:
        return message_cls.FromString(raw)
    except DecodeError as exc:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      f"the request is not a valid {message_cls.DESCRIPTOR.full_name} "
                      f"message ({exc}); generate it from proto/mdstream/v1/mdstream.proto")


def unary_stream(behavior: Callable, message_cls) -> grpc.RpcMethodHandler:
    """A server-streaming handler whose request bytes are parsed into ``message_cls``."""
    def handler(raw, context):
        request = _parse(message_cls, raw, context)
        yield from behavior(request, context)

    return grpc.unary_stream_rpc_method_handler(handler)


def unary_unary(behavior: Callable, message_cls, response_cls) -> grpc.RpcMethodHandler:
    """A unary handler whose request bytes are parsed into ``message_cls``."""
    def handler(raw, context):
        return behavior(_parse(message_cls, raw, context), context)

    return grpc.unary_unary_rpc_method_handler(
        handler, response_serializer=response_cls.SerializeToString)
