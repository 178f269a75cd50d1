"""TLS for the gRPC port (server and client credentials) and for the HTTP
endpoints (an ssl.SSLContext), from PEM files.

Server: ``server_credentials(cert, key, client_ca=None)``; with a client CA
every client must present a certificate it signed (mutual TLS).
Client: ``channel_credentials(tls, cert=None, key=None)`` where ``tls`` is
True (the system's roots), a CA file's path, or grpc.ChannelCredentials.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass

import grpc

from mdstream.errors import InvalidArgumentError

__all__ = ["TLSFiles", "server_credentials", "channel_credentials", "http_ssl_context",
           "is_loopback"]


def _read(path: str | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read the {what} {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class TLSFiles:
    """A server's certificate chain and key (PEM files), and the CA of its
    clients' certificates for mutual TLS (None: clients need none)."""

    cert: str
    key: str
    client_ca: str | None = None

    def __post_init__(self):
        if not self.cert or not self.key:
            raise InvalidArgumentError("TLS needs both a certificate and its key "
                                       "(--tls-cert and --tls-key)")


def server_credentials(files: TLSFiles) -> grpc.ServerCredentials:
    """grpc server credentials of ``files`` (InvalidArgumentError for a file that cannot be read)."""
    cert, key = _read(files.cert, "certificate"), _read(files.key, "key")
    ca = _read(files.client_ca, "client CA")
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                       require_client_auth=ca is not None)


def channel_credentials(tls, cert: str | None = None, key: str | None = None):
    """The ChannelCredentials of a client's ``tls=`` (None/False: plaintext, None returned).

    ``tls``: True (the system's root CAs), a CA file's path, or
    grpc.ChannelCredentials as they are; ``cert``/``key``: the client's
    certificate and key for mutual TLS.
    """
    if tls is None or tls is False:
        if cert or key:
            raise InvalidArgumentError("a client certificate needs tls= (True or a CA file)")
        return None
    if isinstance(tls, grpc.ChannelCredentials):
        return tls
    if (cert is None) != (key is None):
        raise InvalidArgumentError("a client certificate needs its key, and the key its certificate")
    roots = None if tls is True else _read(str(tls), "CA file")
    return grpc.ssl_channel_credentials(root_certificates=roots,
                                        private_key=_read(key, "client key"),
                                        certificate_chain=_read(cert, "client certificate"))


def http_ssl_context(files: TLSFiles) -> ssl.SSLContext:
    """An SSLContext serving ``files`` over HTTPS (client certificates
    required when ``client_ca`` is set)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(files.cert, files.key)
        if files.client_ca:
            ctx.load_verify_locations(files.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise InvalidArgumentError(f"cannot use the TLS files: {exc}") from None
    return ctx


def is_loopback(host: str) -> bool:
    """Whether ``host`` listens on loopback only (127.0.0.0/8, ::1, localhost)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_security(credentials=None, tls=None, tls_cert: str | None = None,
                    tls_key: str | None = None, token: str | None = None):
    """The channel credentials (None: plaintext) and the call metadata of a
    client's ``credentials=``, ``tls=``, ``tls_cert=``/``tls_key=`` and ``token=``."""
    if credentials is not None and tls not in (None, False):
        raise InvalidArgumentError("give credentials= or tls=, not both")
    creds = credentials if credentials is not None else channel_credentials(tls, tls_cert, tls_key)
    metadata: tuple[tuple[str, str], ...] = ()
    if token is not None:
        token = str(token).strip()
        if not token or any(c in token for c in "\r\n"):
            raise InvalidArgumentError("the token must be a non-empty single line")
        metadata = (("authorization", f"Bearer {token}"),)
    return creds, metadata
