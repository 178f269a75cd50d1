"""Bearer tokens and what each may do (entitlements), for the gRPC server.

A token file (``mdstream serve --tokens FILE``) is TOML (``.toml``) or JSON
(anything else): a table per token, keyed by the token itself::

    [tokens."3f9c...e1"]
    name = "research"                 # shown in logs and used as the client's identity
    symbols = ["AAPL", "MS*"]         # glob patterns (fnmatch); default ["*"]
    operations = ["stream", "snapshot", "list"]   # of OPERATIONS; default all but trade
    accounts = ["research"]           # paper accounts it may trade (glob); default [name]

    {"tokens": {"3f9c...e1": {"name": "research", "symbols": ["AAPL"],
                              "operations": ["stream"]}}}

The environment variable ``MDSTREAM_TOKEN`` adds one token allowed
everything (name ``env``). Clients send ``authorization: Bearer TOKEN``
(``Client(token=...)``). Tokens are compared with hmac.compare_digest.

Operations: ``stream`` (StreamBatches, StreamResults, the legacy service),
``snapshot`` (GetSnapshot), ``stats`` (GetStats, with every subscriber's
detail), ``list`` (ListSymbols), ``trade`` (Trade, GetOrders, GetPositions:
paper trading). Health checks need no token; server reflection needs a
valid token (any operation).

Trading is never a default: a token of the file trades only if its
``operations`` name ``trade``, and then only the paper accounts its
``accounts`` patterns match, by default the account of its own ``name``
(the token's identity is the account). MDSTREAM_TOKEN's token may do
everything, every account included. The symbols of a token limit what it may
trade as they limit what it may see.
"""

from __future__ import annotations

import fnmatch
import hmac
import json
import os
from dataclasses import dataclass

from mdstream.errors import InvalidArgumentError
from mdstream.grpc.contract import PermissionDeniedError, UnauthenticatedError, shown_names

__all__ = ["OPERATIONS", "DEFAULT_OPERATIONS", "Principal", "TokenTable", "TOKEN_ENV", "load_tokens", "bearer_token"]

#: The operations a token may be allowed.
OPERATIONS = ("stream", "snapshot", "stats", "list", "trade")
#: The operations of a token whose entry does not list them: all but trading.
DEFAULT_OPERATIONS = ("stream", "snapshot", "stats", "list")
#: The environment variable of one token allowed everything.
TOKEN_ENV = "MDSTREAM_TOKEN"


@dataclass(frozen=True)
class Principal:
    """Who a token stands for: ``name``, its symbol patterns, operations and
    the paper accounts (patterns) it may trade."""

    name: str
    symbols: tuple[str, ...] = ("*",)
    operations: tuple[str, ...] = OPERATIONS
    accounts: tuple[str, ...] = ("*",)

    @property
    def all_symbols(self) -> bool:
        return "*" in self.symbols

    def may(self, operation: str) -> bool:
        return operation in self.operations

    def require(self, operation: str) -> None:
        """PermissionDeniedError unless the token allows ``operation``."""
        if operation not in self.operations:
            raise PermissionDeniedError(
                f"the token '{self.name}' does not allow '{operation}' (it allows: "
                f"{', '.join(self.operations) or 'nothing'})", operation)

    def allows_symbol(self, name: str) -> bool:
        return self.all_symbols or any(fnmatch.fnmatchcase(name, p) for p in self.symbols)

    def check_symbols(self, names, operation: str) -> None:
        """PermissionDeniedError naming (a few of) the symbols the token may not see."""
        if self.all_symbols:
            return
        refused = [n for n in names if not self.allows_symbol(n)]
        if refused:
            shown, more = shown_names(refused)
            raise PermissionDeniedError(
                f"the token '{self.name}' does not allow the symbol"
                f"{'s' if len(refused) > 1 else ''} {', '.join(shown)}"
                + (f" and {more:,} more" if more else ""), operation)

    def allows_account(self, account: str) -> bool:
        return "*" in self.accounts or any(fnmatch.fnmatchcase(account, p)
                                           for p in self.accounts)

    def check_account(self, account: str) -> None:
        """PermissionDeniedError unless the token may trade ``account``."""
        self.require("trade")
        if not self.allows_account(account):
            shown, _ = shown_names([account])
            raise PermissionDeniedError(
                f"the token '{self.name}' may not trade the account {shown[0]!r} (it may trade: "
                f"{', '.join(self.accounts) or 'none'}; a token's 'accounts' in the token file)",
                "trade")

    def visible(self, names) -> list[str]:
        """The names among ``names`` the token may see."""
        return list(names) if self.all_symbols else [n for n in names if self.allows_symbol(n)]


def bearer_token(metadata) -> str | None:
    """The token of an ``authorization: Bearer TOKEN`` header, or None."""
    for key, value in metadata or ():
        if key == "authorization":
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class TokenTable:
    """The tokens a server accepts, each with its Principal."""

    def __init__(self, tokens: dict[str, Principal]):
        self._tokens = [(t.encode(), p) for t, p in tokens.items()]
        if not self._tokens:
            raise InvalidArgumentError("a token table needs at least one token")

    def __len__(self) -> int:
        return len(self._tokens)

    def lookup(self, token: str | None) -> Principal:
        """The Principal of ``token``; UnauthenticatedError for none or an unknown one.

        Every known token is compared (hmac.compare_digest), so the time
        taken does not tell which one came close.
        """
        if token is None:
            raise UnauthenticatedError(
                "this server needs a token: send 'authorization: Bearer TOKEN' "
                "(mdstream.Client(token=...), or --token / MDSTREAM_TOKEN on the command line)")
        given = token.encode("utf-8", "replace")
        found = None
        for known, principal in self._tokens:
            if hmac.compare_digest(known, given) and found is None:
                found = principal
        if found is None:
            raise UnauthenticatedError("the token is not known to this server")
        return found

    def principal(self, metadata) -> Principal:
        """The Principal of a call's invocation metadata (see lookup)."""
        return self.lookup(bearer_token(metadata))


def _principal(token: str, entry) -> Principal:
    if not isinstance(entry, dict):
        raise InvalidArgumentError(f"token entry {entry!r} must be a table")
    name = str(entry.get("name") or token[:4] + "...")
    symbols = entry.get("symbols", ["*"])
    operations = entry.get("operations", list(DEFAULT_OPERATIONS))
    accounts = entry.get("accounts", [name])
    if isinstance(accounts, str) or not all(isinstance(a, str) for a in accounts):
        raise InvalidArgumentError(f"token '{name}': accounts must be a list of glob patterns "
                                   "(paper accounts it may trade)")
    if isinstance(symbols, str) or not all(isinstance(s, str) for s in symbols):
        raise InvalidArgumentError(f"token '{name}': symbols must be a list of glob patterns")
    if isinstance(operations, str) or any(o not in OPERATIONS for o in operations):
        raise InvalidArgumentError(
            f"token '{name}': operations must be a list of {', '.join(OPERATIONS)}, "
            f"got {operations!r}")
    return Principal(name, tuple(symbols), tuple(dict.fromkeys(operations)), tuple(accounts))


def load_tokens(path: str | None = None, env: dict | None = None) -> TokenTable | None:
    """The TokenTable of a token file and/or of MDSTREAM_TOKEN; None when neither is given.

    Raises InvalidArgumentError for a malformed file, OSError for one that
    cannot be read.
    """
    env = os.environ if env is None else env  # type: ignore[assignment]  # a Mapping either way
    tokens: dict[str, Principal] = {}
    if path is not None:
        with open(path, "rb") as f:
            raw = f.read()
        try:
            if str(path).endswith(".toml"):
                import tomllib

                data = tomllib.loads(raw.decode())
            else:
                data = json.loads(raw)
        except ValueError as exc:
            raise InvalidArgumentError(f"{path}: not a valid token file: {exc}") from None
        table = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(table, dict) or not table:
            raise InvalidArgumentError(f"{path}: expected a 'tokens' table of token -> entry")
        for token, entry in table.items():
            if len(token) < 16:
                raise InvalidArgumentError(f"{path}: tokens must be at least 16 characters")
            tokens[token] = _principal(token, entry)
    # env is os.environ or the mapping given
    env_token = (env.get(TOKEN_ENV) or "").strip()  # type: ignore[union-attr]
    if env_token:
        tokens[env_token] = Principal("env")
    return TokenTable(tokens) if tokens else None
