"""Paper trading: orders sequenced with the ticks and filled by a simulated
venue inside the engine (``Engine(venue=PaperVenue())``).

The rules the venue fills by are docs/guides/paper-venue.md; codes follow
FIX 4.4 (mdstream.venue.codes).
"""

from mdstream.venue.codes import (ExecType, OrdStatus, OrdType, RejectReason, Side,
                                  TimeInForce)
from mdstream.venue.config import Account, PaperVenue
from mdstream.venue.reports import (EXEC_DTYPE, ExecutionReport, ExecutionReports, OrderState,
                                    Position)
from mdstream.venue.requests import ORDER_DTYPE
from mdstream.venue.subscription import ExecutionReportSubscription

__all__ = ["Account", "PaperVenue", "Side", "OrdType", "TimeInForce", "ExecType", "OrdStatus",
           "RejectReason", "ExecutionReport", "ExecutionReports", "ExecutionReportSubscription",
           "OrderState", "Position", "ORDER_DTYPE", "EXEC_DTYPE"]
