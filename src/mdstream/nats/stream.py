"""The JetStream side shared by the publisher and the edges: connecting,
creating or checking the stream, and reading the headers of a stored message.

Server URLs are ``nats://host:port`` (several, comma-separated, for a
cluster: nats-py connects to one and fails over to the others).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.nats.subjects import MessageSeqs, check_prefix, check_stream_name

__all__ = ["NatsError", "StreamSettings", "parse_servers", "connect", "ensure_stream",
           "stored_seqs", "STORAGE"]

#: JetStream storage kinds (``--publish-storage``).
STORAGE = ("file", "memory")


class NatsError(EngineStateError):
    """NATS or JetStream could not be reached or refused a request; the
    message names the servers or the stream and what to do. An edge that
    meets it answers UNAVAILABLE (ENGINE_STATE): resuming clients retry or
    move to another edge."""


def parse_servers(servers) -> list[str]:
    """``"nats://a:4222,nats://b:4222"`` or a list of URLs -> a list of URLs
    (InvalidArgumentError for an empty list or a URL that is not nats://)."""
    if isinstance(servers, str):
        servers = [s.strip() for s in servers.split(",")]
    urls = [s for s in (servers or ()) if s]
    if not urls:
        raise InvalidArgumentError("no NATS server given: nats://HOST:PORT[,nats://HOST:PORT...]")
    for url in urls:
        if not url.startswith(("nats://", "tls://")) or ":" not in url[7:]:
            raise InvalidArgumentError(f"a NATS server is nats://HOST:PORT, got {url!r}")
    return urls


@dataclass(frozen=True)
class StreamSettings:
    """Where the results go in JetStream.

    ``name``: the stream; ``subject_prefix``: subjects are
    ``<prefix>.<SYMBOL>``; ``replicas``: 1-5 copies (a cluster of at least
    that many nodes); ``storage``: "file" or "memory"; ``duplicate_window``:
    seconds JetStream remembers message ids (a restarted publisher is
    idempotent within it); ``max_age``: seconds kept (0: no limit);
    ``max_bytes``: bytes kept (-1: no limit). InvalidArgumentError for a
    bad value, the stream name and the prefix included.
    """

    name: str
    subject_prefix: str
    replicas: int = 1
    storage: str = "file"
    duplicate_window: float = 120.0
    max_age: float = 0.0
    max_bytes: int = -1

    def __post_init__(self):
        check_stream_name(self.name)
        check_prefix(self.subject_prefix)
        if not 1 <= self.replicas <= 5:
            raise InvalidArgumentError(f"replicas must be 1 to 5, got {self.replicas}")
        if self.storage not in STORAGE:
            raise InvalidArgumentError(
                f"storage must be one of {', '.join(STORAGE)}, got {self.storage!r}")
        if not self.duplicate_window > 0:
            raise InvalidArgumentError(
                f"duplicate_window must be > 0 seconds, got {self.duplicate_window}")


async def connect(urls: list[str], name: str, timeout: float, **callbacks):
    """A nats-py connection to one of ``urls`` that reconnects for ever
    (NatsError naming the servers when none answers within ``timeout`` s);
    ``callbacks``: nats-py's ``disconnected_cb``, ``reconnected_cb``."""
    try:
        import nats
    except ImportError:
        raise NatsError("publishing to NATS needs nats-py: pip install 'mdstream[nats]'") from None

    async def quiet(_exc):      # reconnects are logged by the callers' stats
        pass

    try:
        return await asyncio.wait_for(
            nats.connect(servers=urls, name=name, connect_timeout=min(timeout, 2.0),
                         max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                         allow_reconnect=True, error_cb=quiet, **callbacks), timeout)
    except asyncio.TimeoutError:
        raise NatsError(f"cannot connect to NATS at {', '.join(urls)} within {timeout:g} s "
                        "(is nats-server running, with -js, and reachable?)") from None
    except Exception as exc:
        raise NatsError(f"cannot connect to NATS at {', '.join(urls)}: {exc or type(exc).__name__}"
                        " (is nats-server running with -js?)") from None


async def ensure_stream(js, settings: StreamSettings, create: bool, timeout: float):
    """The stream's StreamInfo; created (``create``) when missing. Retries
    while a new cluster elects its leader, up to ``timeout`` s; NatsError
    when the stream is missing (edges) or has other subjects."""
    from nats.js import api
    from nats.js.errors import BadRequestError, NotFoundError

    subject = f"{settings.subject_prefix}.>"
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            try:
                info = await js.stream_info(settings.name)
            except NotFoundError:
                if not create:
                    raise NatsError(
                        f"JetStream has no stream {settings.name!r}: start `mdstream serve "
                        f"--publish ...` first, or name the stream it publishes to") from None
                config = api.StreamConfig(
                    name=settings.name, subjects=[subject], num_replicas=settings.replicas,
                    storage=api.StorageType(settings.storage), retention=api.RetentionPolicy.LIMITS,
                    duplicate_window=settings.duplicate_window, max_age=settings.max_age or None,
                    max_bytes=settings.max_bytes, allow_direct=True,
                    discard=api.DiscardPolicy.OLD,
                    description="mdstream results: one ResultBatch frame per symbol per batch")
                info = await js.add_stream(config)
            if create and subject not in (info.config.subjects or []):
                raise NatsError(
                    f"JetStream stream {settings.name!r} takes subjects {info.config.subjects}, "
                    f"not {subject!r}: choose another stream name or subject prefix")
            return info
        except NatsError:
            raise
        except BadRequestError as exc:
            if "no suitable peers" in (exc.description or ""):
                # A cluster still forming (or short of `replicas` nodes): retry.
                last = exc
                await asyncio.sleep(0.25)
                continue
            # Refused for good (e.g. subjects overlap).
            raise NatsError(f"JetStream refused stream {settings.name!r} ({subject}): "
                            f"{exc.description}") from None
        except Exception as exc:       # no JetStream leader yet, a timeout: retry
            last = exc
            await asyncio.sleep(0.25)
    raise NatsError(f"JetStream did not answer for stream {settings.name!r} within {timeout} s "
                    f"(last error: {last or 'none'}); is the server started with -js, and does "
                    f"the cluster have {settings.replicas} node(s)?")


async def stored_seqs(js, stream: str, seq: int) -> MessageSeqs | None:
    """The mdstream headers of the message stored at JetStream sequence
    ``seq`` (None: no message there)."""
    from nats.errors import NoRespondersError
    from nats.js.errors import NotFoundError

    try:
        try:
            msg = await js.get_msg(stream, seq, direct=True)
        except NoRespondersError:          # a stream made without allow_direct
            msg = await js.get_msg(stream, seq)
    except NotFoundError:
        return None
    return MessageSeqs.of_any(msg.headers)     # None too for a message that is not mdstream's
