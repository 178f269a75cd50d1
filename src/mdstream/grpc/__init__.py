"""The gRPC layer: the wire contract, the servicer and server, and the clients."""
