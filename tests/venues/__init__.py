"""A local WebSocket server that speaks the venues' market-data protocols, for tests."""
