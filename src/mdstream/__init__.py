"""mdstream: a market-data streaming engine with a compiled core.

    import mdstream
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=100_000, seed=7)
    with mdstream.Engine(feed=feed, workers=2) as engine:
        with engine.subscribe(symbols=["AAPL"]) as sub:
            for batch in sub:
                print(batch.price, batch.vwap)
"""

from typing import TYPE_CHECKING, Any

from mdstream._core import RESULT_DTYPE, TICK_DTYPE, LatencyHistogram
from mdstream._version import __version__
from mdstream.batch import BAR, QUOTE, TRADE, Gap, Record, ResultBatch, Snapshot
from mdstream.engine import Engine, Quote, Trade
from mdstream.errors import (
    ChannelClosedError,
    EngineStateError,
    InvalidArgumentError,
    JournalCorruptError,
    JournalError,
    JournalUnavailableError,
    MDStreamError,
    OutOfRangeError,
    SlowConsumerError,
    StreamChangedError,
    SubscriptionClosedError,
    TimeoutError,
    TooManySubscribersError,
    UnknownSymbolError,
)
from mdstream.journal import JournalConfig
from mdstream.feeds import BadFileError, BadRowError, CSVFeed, CSVFeedError, CSVFormat, Feed, SimulatedFeed
from mdstream.engine.stats import EngineStats, Percentiles, StageLatency, SubscriptionStats
from mdstream.engine.subscription import StreamEnded, Subscription
from mdstream.venue import (Account, ExecutionReport, ExecutionReports,
                            ExecutionReportSubscription, OrderState, PaperVenue, Position)



_GRPC_EXPORTS = ("Client", "AsyncClient", "RemoteError", "ConnectError", "Reconnect",
                 "ReconnectError", "Server")

if TYPE_CHECKING:       # what type checkers see of the names loaded on first use
    from mdstream.grpc.aio import AsyncClient
    from mdstream.grpc.client import Client
    from mdstream.grpc.connect import ConnectError
    from mdstream.grpc.errors import RemoteError
    from mdstream.grpc.resume import Reconnect, ReconnectError
    from mdstream.grpc.server import Server


def __getattr__(name: str) -> Any:
    # The gRPC layer loads grpc and the generated protobuf code: only on first use.
    if name in _GRPC_EXPORTS:
        import mdstream.grpc

        return getattr(mdstream.grpc, name)
    raise AttributeError(f"module 'mdstream' has no attribute {name!r}")

__all__ = [
    "Engine",
    "PaperVenue",
    "Account",
    "ExecutionReport",
    "ExecutionReports",
    "ExecutionReportSubscription",
    "OrderState",
    "Position",
    "Client",
    "AsyncClient",
    "RemoteError",
    "ConnectError",
    "Reconnect",
    "ReconnectError",
    "Server",
    "SimulatedFeed",
    "Feed",
    "CSVFeed",
    "CSVFormat",
    "CSVFeedError",
    "BadFileError",
    "BadRowError",
    "Subscription",
    "ResultBatch",
    "Gap",
    "Record",
    "Trade",
    "Quote",
    "Snapshot",
    "TRADE",
    "QUOTE",
    "BAR",
    "RESULT_DTYPE",
    "TICK_DTYPE",
    "EngineStats",
    "SubscriptionStats",
    "Percentiles",
    "StageLatency",
    "LatencyHistogram",
    "MDStreamError",
    "EngineStateError",
    "UnknownSymbolError",
    "InvalidArgumentError",
    "SubscriptionClosedError",
    "SlowConsumerError",
    "ChannelClosedError",
    "TimeoutError",
    "TooManySubscribersError",
    "OutOfRangeError",
    "JournalError",
    "JournalConfig",
    "JournalCorruptError",
    "JournalUnavailableError",
    "StreamChangedError",
    "StreamEnded",
]
