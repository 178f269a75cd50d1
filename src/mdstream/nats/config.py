"""PublishConfig: where a node publishes its results (NodeConfig.publish).

Plain settings, importable without nats-py; ``build(engine)`` makes the
mdstream.nats.Publisher (which needs ``pip install 'mdstream[nats]'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mdstream.nats.stream import StreamSettings, parse_servers
from mdstream.nats.subjects import DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX

if TYPE_CHECKING:
    from mdstream.engine import Engine
    from mdstream.nats.publish import Publisher

__all__ = ["PublishConfig"]


@dataclass(frozen=True)
class PublishConfig:
    """Publish every result to a NATS JetStream stream (see mdstream.nats.Publisher).

    ``servers``: ``"nats://host:port[,nats://host:port...]"`` or a tuple;
    ``stream``, ``subject_prefix``, ``replicas`` (1-5), ``storage``
    ("file"/"memory"): the stream (created when missing);
    ``policy``: the publisher's subscription policy (None: ``disconnect``
    with a journal, ``skip`` without). InvalidArgumentError for bad values.
    """

    servers: tuple[str, ...] | str
    stream: str = DEFAULT_STREAM
    subject_prefix: str = DEFAULT_SUBJECT_PREFIX
    replicas: int = 1
    storage: str = "file"
    policy: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "servers", tuple(parse_servers(self.servers)))
        StreamSettings(self.stream, self.subject_prefix, self.replicas, self.storage)

    def build(self, engine: "Engine") -> "Publisher":
        """The Publisher of these settings for ``engine`` (not started)."""
        from mdstream.nats.publish import Publisher

        return Publisher(engine, list(self.servers), stream=self.stream,
                         subject_prefix=self.subject_prefix, replicas=self.replicas,
                         storage=self.storage, policy=self.policy)
