"""Edge servers: the gRPC API served from a JetStream stream instead of an engine.

EdgeSource (source.py) is what the gRPC servicer serves from in place of an
Engine; EdgeSubscription (subscription.py) one client's stream read from
JetStream; position.py finds where an engine seq is stored and takes
snapshots; symbols.py keeps the engine's symbol ids as the messages name them.
"""

from mdstream.nats.edge.source import EdgeSource
from mdstream.nats.edge.subscription import EdgeSubscription

__all__ = ["EdgeSource", "EdgeSubscription"]
