"""The engine: lifecycle, symbols, publishing, subscriptions and their
catch-up from the journal, and typed statistics."""

from mdstream.engine.engine import Engine, Snapshot
from mdstream.engine.publish import Quote, Trade
from mdstream.engine.stats import EngineStats, Percentiles, StageLatency, SubscriptionStats
from mdstream.engine.subscription import StreamEnded, Subscription
from mdstream.engine.symbols import SymbolTable

__all__ = ["Engine", "Trade", "Quote", "Snapshot", "Subscription", "StreamEnded", "SymbolTable",
           "EngineStats", "SubscriptionStats", "Percentiles", "StageLatency"]
