"""What a caller may see, for the servicer: the symbols of a token and the
detail of GetStats.

The server interceptor (mdstream.grpc.limits.CallGuard) has already
checked the token and the operation; here the servicer narrows what the
call sees:

- a stream or snapshot that names symbols the token does not allow gets
  PERMISSION_DENIED (NOT_ENTITLED) naming a few of them; one that names
  none (all symbols) gets the engine's symbols the token allows (those
  known when the call starts);
- ListSymbols lists the symbols the token allows;
- GetStats lists every subscriber (peer address, symbols, policy) only to
  a token with the ``stats`` right, or, without tokens, when the operator
  asked for it (``detailed_stats``, ``mdstream serve --detailed-stats``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mdstream.errors import MDStreamError
from mdstream.grpc.contract import PermissionDeniedError
from mdstream.request import StreamRequest

if TYPE_CHECKING:
    from mdstream.grpc.source import ResultSource
    from mdstream.grpc.auth import Principal, TokenTable

__all__ = ["Entitlements"]


class Entitlements:
    """The servicer's view of tokens (None: no tokens, everything allowed)."""

    def __init__(self, engine: "ResultSource", tokens: "TokenTable | None" = None,
                 detailed_stats: bool = False):
        self.engine = engine
        self.tokens = tokens
        self.detailed_stats = bool(detailed_stats)

    def principal(self, context) -> "Principal | None":
        """The caller's Principal (None without tokens, or without a valid one)."""
        if self.tokens is None:
            return None
        try:
            return self.tokens.principal(context.invocation_metadata())
        except MDStreamError:
            return None

    def _restricted(self, context) -> "Principal | None":
        p = self.principal(context)
        return p if p is not None and not p.all_symbols else None

    def _narrow(self, symbols, context, operation: str):
        p = self._restricted(context)
        if p is None:
            return symbols
        if symbols:
            p.check_symbols(symbols, operation)
            return symbols
        allowed = p.visible(self.engine.symbol_table.names)
        if not allowed:
            raise PermissionDeniedError(
                f"the token '{p.name}' allows none of this server's symbols", operation)
        return allowed

    def stream_request(self, request: StreamRequest, context) -> StreamRequest:
        """The request, its symbols narrowed to the token's (PermissionDeniedError)."""
        symbols = self._narrow(request.symbols, context, "stream")
        if symbols is request.symbols:
            return request
        return dataclasses.replace(request, symbols=tuple(symbols))

    def snapshot_symbols(self, symbols, context):
        """The symbols of a snapshot, narrowed to the token's (PermissionDeniedError)."""
        return self._narrow(symbols, context, "snapshot")

    def visible_names(self, names, context) -> set[str]:
        p = self._restricted(context)
        return set(names) if p is None else set(p.visible(names))

    def stats_detail(self, context) -> bool:
        """Whether GetStats may list every subscriber to this caller."""
        if self.tokens is None:
            return self.detailed_stats
        p = self.principal(context)
        return p is not None and p.may("stats")
