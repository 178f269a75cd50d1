"""Paper trading over gRPC: a real server on a free port over an engine with
a paper venue, real clients (sync and asyncio), quotes and trades published
into the engine. No timing assertions: every wait is for an event."""

from __future__ import annotations

import asyncio
import math

import grpc
import pytest

from grpc_trade_helpers import (  # noqa: F401 - fixtures are used by name
    PATIENCE, client_of, engine_reports, errors_of, no_thread_leak, paper_engine, read_items,
    read_until, reports_of, same, venue_server, wait_until)
from mdstream import Engine
from mdstream.errors import EngineStateError, InvalidArgumentError
from mdstream.grpc.aio import AsyncClient
from mdstream.grpc.auth import Principal, TokenTable
from mdstream.grpc.contract import (NO_PAPER_VENUE_MESSAGE, NoPaperVenueError,
                                    PermissionDeniedError, UnknownAccountError)
from mdstream.grpc.trade_wire import RequestError
from mdstream.v1 import mdstream_pb2 as pb
from mdstream.venue import Account, ExecType, OrdStatus, RejectReason

pytestmark = pytest.mark.timeout(120)

FILLED = (ExecType.FILL, OrdStatus.FILLED)


def _is_done(item) -> bool:
    return not isinstance(item, RequestError) and item.ord_status in (
        OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)


def test_an_order_is_acked_and_filled_against_published_quotes(venue_server, client_of):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 300, 200)
    client = client_of(server)
    with client.trade("paper") as session:
        session.submit_order(1, "AAPL", "buy", 50, price=101.0)
        new, fill = read_items(session, 2)
        assert (new.exec_type, new.ord_status, new.cl_ord_id, new.leaves_qty) == \
            (ExecType.NEW, OrdStatus.NEW, 1, 50)
        # An incoming limit order takes the touch (the ask), not its limit.
        assert (fill.exec_type, fill.ord_status) == FILLED
        assert (fill.last_px, fill.last_qty, fill.cum_qty, fill.leaves_qty) == (100.5, 50, 50, 0)
        assert (fill.position, fill.position_avg_px, fill.symbol, fill.account) == \
            (50, 100.5, "AAPL", "paper")
        assert fill.order_id == new.order_id and fill.seq > new.seq

        # A resting sell fills from a trade through its price, at its limit.
        session.submit_order(2, "AAPL", "sell", 20, price=102.0)
        (rest,) = read_items(session, 1)
        assert (rest.exec_type, rest.leaves_qty, rest.price) == (ExecType.NEW, 20, 102.0)
        engine.publish_trades("AAPL", 102.5, 30)
        (sold,) = read_items(session, 1)
        assert (sold.exec_type, sold.last_px, sold.last_qty, sold.position) == \
            (ExecType.FILL, 102.0, 20, 30)
        assert sold.realized_pnl == pytest.approx(20 * (102.0 - 100.5))

    # What the client read is what the engine wrote, field for field.
    local = engine_reports(engine, "paper", count=4)
    assert len(local) == 4
    assert all(same(a, b) for a, b in zip(local, [new, fill, rest, sold]))


def test_bad_requests_get_a_request_error_and_the_stream_goes_on(venue_server, client_of):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 100, 100)
    client = client_of(server)
    with client.trade("paper") as session:
        session.submit_order(1, "AAPL", "buy", -5, price=100.0)         # quantity
        session.submit_order(2, "NOPE", "buy", 5, price=100.0)          # symbol
        session.submit_order(3, "AAPL", "buy", 5)                       # a limit without a price
        session.submit_order(4, "AAPL", "buy", 5, ord_type="market", price=99.0)
        session.replace_order(5, 0, price=1.0)                          # cl_ord_id 0
        session.submit_order(6, "AAPL", "buy", 5, price=99.0)           # fine: rests
        items = read_items(session, 6)
        errors, reports = errors_of(items), reports_of(items)
        assert [e.cl_ord_id for e in errors] == [1, 2, 3, 4, 0]
        assert [e.code for e in errors] == [grpc.StatusCode.INVALID_ARGUMENT,
                                            grpc.StatusCode.NOT_FOUND,
                                            grpc.StatusCode.INVALID_ARGUMENT,
                                            grpc.StatusCode.INVALID_ARGUMENT,
                                            grpc.StatusCode.INVALID_ARGUMENT]
        assert "quantity must be > 0" in errors[0].message
        assert errors[1].reason == "UNKNOWN_SYMBOL" and "'NOPE'" in errors[1].message
        assert "ListSymbols" in errors[1].message             # advice for a remote client
        assert "needs a price" in errors[2].message
        assert errors[4].orig_cl_ord_id == 5 and "cl_ord_id" in errors[4].message
        assert [(r.cl_ord_id, r.exec_type) for r in reports] == [(6, ExecType.NEW)]

        # A request the venue refuses is a report: a duplicate cl_ord_id.
        session.submit_order(6, "AAPL", "buy", 5, price=99.0)
        (dup,) = read_items(session, 1)
        assert (dup.exec_type, dup.reject_reason) == (ExecType.REJECTED,
                                                      RejectReason.DUPLICATE_CL_ORD_ID)
        assert "already used" in dup.text

        # Words the wire has no value for are refused before sending.
        with pytest.raises(Exception, match="side must be one of buy, sell"):
            session.submit_order(7, "AAPL", "hold", 5, price=99.0)
        session.submit_order(7, "AAPL", "sell", 5, price=101.0)
        (ok,) = read_items(session, 1)
        assert (ok.cl_ord_id, ok.exec_type) == (7, ExecType.NEW)
    assert len(engine.orders("paper")) == 2


def test_malformed_and_misplaced_messages_get_request_errors(venue_server):
    """A client of another language: raw bytes and a second TradeSession."""
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 100, 100)
    sent = [pb.TradeRequest(session=pb.TradeSession(account="paper")).SerializeToString(),
            b"\xff\xff\xff",                                      # not a message
            pb.TradeRequest().SerializeToString(),                 # empty
            pb.TradeRequest(session=pb.TradeSession(account="other")).SerializeToString(),
            pb.TradeRequest(new_order=pb.NewOrder(cl_ord_id=9, symbol="AAPL", quantity=1,
                                                  price=99.0)).SerializeToString(),  # no side
            pb.TradeRequest(new_order=pb.NewOrder(
                cl_ord_id=10, symbol="AAPL", side=pb.SIDE_BUY, quantity=1,
                price=99.0)).SerializeToString()]
    with grpc.insecure_channel(server.address) as channel:
        trade = channel.stream_stream("/mdstream.v1.MDStream/Trade",
                                      response_deserializer=pb.TradeResponse.FromString)
        import queue

        requests: queue.Queue = queue.Queue()
        for raw in sent:
            requests.put(raw)
        call = trade(iter(requests.get, None))
        got = [next(call) for _ in range(5)]
        requests.put(None)
        call.cancel()
    kinds = [m.WhichOneof("response") for m in got]
    assert kinds == ["request_error"] * 4 + ["execution_report"]
    errors = [m.request_error for m in got[:4]]
    assert "not a valid mdstream.v1.TradeRequest" in errors[0].message
    assert "empty TradeRequest" in errors[1].message
    assert errors[2].code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert "only be the first message" in errors[2].message
    assert "side is required" in errors[3].message and errors[3].cl_ord_id == 9
    report = got[4].execution_report
    assert (report.cl_ord_id, report.account, report.side, report.ord_type, report.tif) == \
        (10, "paper", pb.SIDE_BUY, pb.ORD_TYPE_LIMIT, pb.TIME_IN_FORCE_GTC)
    assert math.isnan(report.avg_px) and math.isnan(report.stop_price)


def test_resume_by_from_seq_and_one_account_per_stream(venue_server, client_of):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    client = client_of(server)
    with client.trade("paper") as paper, client.trade("other") as other:
        paper.submit_order(1, "AAPL", "buy", 10, price=101.0)
        other.submit_order(1, "AAPL", "buy", 7, price=101.0)
        first = read_items(paper, 2)
        theirs = read_items(other, 2)
        last_seq = paper.last_seq
    assert {r.account for r in first} == {"paper"} and {r.account for r in theirs} == {"other"}
    assert last_seq == first[-1].seq

    # Reports written while no stream was open are not lost: resume after the last one read.
    engine.submit_order("paper", 2, "AAPL", "sell", 4, price=99.0)
    engine.submit_order("other", 2, "AAPL", "sell", 3, price=99.0)
    with client.trade("paper", from_seq=last_seq + 1) as resumed:
        missed = read_items(resumed, 2)
        assert [(r.cl_ord_id, r.exec_type) for r in missed] == [(2, ExecType.NEW),
                                                               (2, ExecType.FILL)]
        assert all(r.account == "paper" and r.seq > last_seq for r in missed)
        resumed.submit_order(3, "AAPL", "buy", 1, price=101.0)
        live = read_items(resumed, 2)
        assert [r.cl_ord_id for r in live] == [3, 3] and live[0].seq > missed[-1].seq

    # From seq 0: every report of the account again, in order, the same.
    with client.trade("paper", from_seq=0) as again:
        everything = read_items(again, 6)
    assert [r.seq for r in everything] == sorted(r.seq for r in everything)
    assert all(same(a, b) for a, b in zip(everything, first + missed + live))


def test_get_orders_and_get_positions(venue_server, client_of):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    engine.publish_quotes("MSFT", 200.0, 201.0, 1000, 1000)
    client = client_of(server)
    with client.trade("paper") as session:
        session.submit_order(1, "AAPL", "buy", 10, ord_type="market")
        session.submit_order(2, "MSFT", "sell", 5, ord_type="market")
        session.submit_order(3, "AAPL", "buy", 3, price=90.0, tif="day")
        session.submit_order(4, "MSFT", "sell", 3, ord_type="stop_limit", price=150.0,
                             stop_price=160.0)
        read_items(session, 6)
    with client.trade("other") as session:
        session.submit_order(1, "AAPL", "sell", 2, price=120.0, post_only=True)
        read_items(session, 1)

    orders = client.orders("paper")
    assert [(o.cl_ord_id, o.symbol, o.ord_type.name) for o in orders] == \
        [(3, "AAPL", "LIMIT"), (4, "MSFT", "STOP_LIMIT")]
    assert all(same(a, b) for a, b in zip(orders, engine.orders("paper")))
    every = client.orders()
    assert [(o.account, o.cl_ord_id, o.post_only) for o in every] == \
        [("paper", 3, False), ("paper", 4, False), ("other", 1, True)]

    positions = client.positions("paper")
    assert all(same(a, b) for a, b in zip(positions, engine.positions("paper")))
    by_symbol = {p.symbol: p for p in positions}
    assert (by_symbol["AAPL"].quantity, by_symbol["AAPL"].avg_px) == (10, 100.5)
    assert by_symbol["AAPL"].mark_px == 100.25                       # the mid
    assert by_symbol["AAPL"].unrealized_pnl == pytest.approx((100.25 - 100.5) * 10)
    assert (by_symbol["MSFT"].quantity, by_symbol["MSFT"].fills) == (-5, 1)
    assert client.positions("other") == []

    with pytest.raises(UnknownAccountError, match="unknown account 'nobody'") as info:
        client.orders("nobody")
    assert info.value.code == grpc.StatusCode.NOT_FOUND and info.value.account == "nobody"


@pytest.mark.parametrize("cancel_on_disconnect", [True, False])
def test_a_client_that_disconnects_with_open_orders(venue_server, client_of, cancel_on_disconnect):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    keeper = client_of(server)
    # Another session of the same account: its order is never this session's to cancel.
    with keeper.trade("paper") as other:
        other.submit_order(100, "AAPL", "buy", 1, price=90.0)
        read_items(other, 1)

    leaving = client_of(server)
    session = leaving.trade("paper", cancel_on_disconnect=cancel_on_disconnect)
    session.submit_order(1, "AAPL", "buy", 5, price=95.0)
    session.submit_order(2, "AAPL", "sell", 5, price=105.0)
    session.submit_order(3, "AAPL", "buy", 5, price=101.0)        # fills: not open
    session.replace_order(2, 22, price=106.0)                      # now open as 22
    read_until(session, lambda r: not isinstance(r, RequestError)
               and r.exec_type == ExecType.REPLACED)
    assert sorted(o.cl_ord_id for o in engine.orders("paper")) == [1, 22, 100]
    leaving.close()              # the connection goes: no goodbye from the session

    if cancel_on_disconnect:
        assert wait_until(lambda: [o.cl_ord_id for o in engine.orders("paper")] == [100]), \
            engine.orders("paper")
        cancels = [r for r in engine_reports(engine, "paper", count=8)
                   if r.exec_type == ExecType.CANCELED]
        assert sorted(r.orig_cl_ord_id or r.cl_ord_id for r in cancels) == [1, 22]
        # Only the open ones were cancelled: no reject for the filled order.
        assert not [r for r in engine_reports(engine, "paper")
                    if r.exec_type == ExecType.REJECTED]
    else:
        # The server noticed (the call ended), and the orders stay.
        assert wait_until(lambda: not server.servicer.trading._sessions)
        assert sorted(o.cl_ord_id for o in engine.orders("paper")) == [1, 22, 100]


def test_over_the_rate_limit_orders_are_rejected_in_sequence(venue_server, client_of):
    # One order per 1000 s: a burst of one, then none (no clock in the test).
    engine = paper_engine({"slow": Account(max_orders_per_s=0.001), "paper": Account()})
    server, engine = venue_server(engine)
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    client = client_of(server)
    with client.trade("slow") as session:
        for cl in (1, 2, 3):
            session.submit_order(cl, "AAPL", "buy", 1, price=90.0)
        session.cancel_order(1)                      # cancels are never limited
        items = read_items(session, 4)
    assert [(r.cl_ord_id, r.exec_type, r.reject_reason) for r in items] == [
        (1, ExecType.NEW, RejectReason.NONE),
        (2, ExecType.REJECTED, RejectReason.RATE_LIMIT),
        (3, ExecType.REJECTED, RejectReason.RATE_LIMIT),
        (1, ExecType.CANCELED, RejectReason.NONE)]
    assert "max_orders_per_s" in items[1].text
    # The limit is the session's: a new session has its own bucket.
    with client.trade("slow") as session:
        session.submit_order(4, "AAPL", "buy", 1, price=90.0)
        (ok,) = read_items(session, 1)
    assert ok.exec_type == ExecType.NEW
    # The rejects are in the engine's report log like any other report.
    assert [r.reject_reason for r in engine_reports(engine, "slow", count=5)].count(
        RejectReason.RATE_LIMIT) == 2


def test_async_client_parity(venue_server, client_of):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    sync = client_of(server)

    async def main():
        async with AsyncClient(server.address, timeout=PATIENCE) as client:
            async with client.trade("paper") as session:
                await session.submit_order(1, "AAPL", "buy", 10, price=101.0)
                await session.submit_order(2, "AAPL", "buy", -1, price=101.0)
                await session.submit_order(3, "AAPL", "sell", 4, price=110.0)
                items = []
                async for item in session:
                    items.append(item)
                    if len(items) == 4:
                        break
                assert await session.read(0.05) is None         # nothing more: a timeout
                await session.cancel_order(3)
                items.append(await session.read(PATIENCE))
                last = session.last_seq
            orders = await client.orders("paper")
            positions = await client.positions()
            with pytest.raises(UnknownAccountError):
                await client.positions("nobody")
            return items, last, orders, positions

    items, last, orders, positions = asyncio.run(main())
    errors, reports = errors_of(items), reports_of(items)
    assert [(e.cl_ord_id, e.code) for e in errors] == [(2, grpc.StatusCode.INVALID_ARGUMENT)]
    assert [(r.cl_ord_id, r.exec_type) for r in reports] == [
        (1, ExecType.NEW), (1, ExecType.FILL), (3, ExecType.NEW), (3, ExecType.CANCELED)]
    assert last == reports[-1].seq
    assert orders == [] and all(same(a, b) for a, b in zip(positions, sync.positions()))
    # The sync client resuming from 0 reads the same reports.
    with sync.trade("paper", from_seq=0) as session:
        again = read_items(session, 4)
    assert all(same(a, b) for a, b in zip(again, reports))


def test_a_server_without_a_paper_venue_says_how_to_get_one(venue_server, client_of):
    server, _ = venue_server(Engine(symbols=["AAPL"], workers=1))
    client = client_of(server)
    with client.trade("paper") as session:
        with pytest.raises(NoPaperVenueError) as info:
            session.read(PATIENCE)
    assert str(info.value) == NO_PAPER_VENUE_MESSAGE
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    for call in (client.orders, client.positions):
        with pytest.raises(NoPaperVenueError, match="mdstream serve --paper-venue"):
            call("paper")


def test_an_unknown_account_ends_the_call_with_not_found(venue_server, client_of):
    server, _ = venue_server()
    client = client_of(server)
    with client.trade("nobody") as session:
        with pytest.raises(UnknownAccountError) as info:
            session.read(PATIENCE)
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert "'nobody'" in str(info.value) and "paper" in str(info.value)
    assert session.ended


def test_tokens_trade_only_their_accounts(venue_server, client_of):
    desk = "desk-token-0123456789abcdef"
    viewer = "viewer-token-0123456789abcdef"
    tokens = TokenTable({
        # A token of the file: trade listed, the accounts default to its own name.
        desk: Principal("paper", ("AAPL",), ("stream", "trade"), ("paper",)),
        viewer: Principal("viewer", operations=("stream", "snapshot", "stats", "list"),
                          accounts=("viewer",)),
    })
    server, engine = venue_server(tokens=tokens)
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    engine.publish_quotes("MSFT", 200.0, 200.5, 1000, 1000)

    trader = client_of(server, token=desk)
    with trader.trade("paper") as session:
        session.submit_order(1, "AAPL", "buy", 1, price=90.0)
        session.submit_order(2, "MSFT", "buy", 1, price=190.0)       # not its symbol
        items = read_items(session, 2)
    assert reports_of(items)[0].cl_ord_id == 1
    (refused,) = errors_of(items)
    assert (refused.cl_ord_id, refused.code, refused.reason) == (
        2, grpc.StatusCode.PERMISSION_DENIED, "NOT_ENTITLED")
    with trader.trade("other") as session:
        with pytest.raises(PermissionDeniedError, match="may not trade the account 'other'"):
            session.read(PATIENCE)
    assert [o.account for o in trader.orders()] == ["paper"]        # only what it may trade

    looker = client_of(server, token=viewer)
    with looker.trade("viewer") as session:
        with pytest.raises(PermissionDeniedError, match="does not allow 'trade'"):
            session.read(PATIENCE)
    with pytest.raises(PermissionDeniedError):
        looker.positions()


def test_in_process_order_session_cancels_on_close():
    from mdstream.venue.session import OrderSession, RateLimiter

    engine = paper_engine()
    engine.start()
    try:
        engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
        with OrderSession(engine, "paper", cancel_on_disconnect=True) as session:
            reports = session.execution_reports()
            session.submit_order(1, "AAPL", "buy", 1, price=90.0)
            session.submit_order(2, "AAPL", "buy", 1, price=101.0)     # fills
            assert wait_until(lambda: (reports.read(0.05), session.open_orders)[1] == [1])
        assert session.closed
        assert wait_until(lambda: engine.orders("paper") == [])    # the cancel, sequenced
        with pytest.raises(EngineStateError, match="closed"):
            session.submit_order(3, "AAPL", "buy", 1, price=90.0)
        with pytest.raises(Exception, match="unknown account 'x'"):
            OrderSession(engine, "x")
    finally:
        engine.stop()

    now = [0.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0])
    assert [limiter.take() for _ in range(3)] == [True, True, False]
    now[0] += 0.5                                    # one more token
    assert [limiter.take(), limiter.take()] == [True, False]
    now[0] += 100.0                                  # never more than a second's worth
    assert [limiter.take() for _ in range(3)] == [True, True, False]


def test_from_seq_is_checked_by_the_client(venue_server, client_of):
    server, _ = venue_server()
    client = client_of(server)
    with client.trade("paper", from_seq=0) as session:       # no report yet: it waits
        assert session.read(0.05) is None and not session.ended
    with pytest.raises(InvalidArgumentError, match="from_seq must be >= 0"):
        client.trade("paper", from_seq=-5)


def test_a_server_that_stops_ends_the_session_with_unavailable(venue_server, client_of):
    from mdstream.grpc.errors import RemoteError

    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
    client = client_of(server)
    with client.trade("paper", cancel_on_disconnect=True) as session:
        session.submit_order(1, "AAPL", "buy", 1, price=90.0)
        read_items(session, 1)
        server.stop(grace=1.0)
        with pytest.raises(RemoteError) as info:
            while True:
                assert session.read(PATIENCE) is not None or not session.ended
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in info.value.details
    # The session ended with the call: its order was cancelled.
    assert wait_until(lambda: engine.orders("paper") == [])


def test_a_malformed_order_does_not_count_against_the_rate_limit():
    from mdstream.venue.session import OrderSession

    engine = paper_engine({"slow": Account(max_orders_per_s=0.001)})
    engine.start()
    try:
        engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)
        with OrderSession(engine, "slow") as session:
            reports = session.execution_reports()
            with pytest.raises(InvalidArgumentError):
                session.submit_order(1, "AAPL", "buy", 0, price=90.0)
            session.submit_order(2, "AAPL", "buy", 1, price=90.0)    # the one token
            session.submit_order(3, "AAPL", "buy", 1, price=90.0)
            got = []
            assert wait_until(lambda: got.extend((reports.read(0.05) or [])) or len(got) >= 2)
        assert [(r.cl_ord_id, r.reject_reason) for r in got] == [
            (2, RejectReason.NONE), (3, RejectReason.RATE_LIMIT)]
        assert session.rate_limited == 1
    finally:
        engine.stop()


def test_async_session_errors_and_a_call_without_a_trade_session(venue_server):
    server, engine = venue_server()
    engine.publish_quotes("AAPL", 100.0, 100.5, 1000, 1000)

    async def main():
        async with AsyncClient(server.address, timeout=PATIENCE) as client:
            async with client.trade("nobody") as session:
                with pytest.raises(UnknownAccountError):
                    await session.read(PATIENCE)
                assert session.ended and await session.read(0.01) is None
            with pytest.raises(InvalidArgumentError, match="side must be one of buy, sell"):
                await client.trade("paper").submit_order(1, "AAPL", "up", 1)

    asyncio.run(main())

    # A client that sends no TradeSession trades the account "paper", from the next report.
    with grpc.insecure_channel(server.address) as channel:
        trade = channel.stream_stream("/mdstream.v1.MDStream/Trade",
                                      request_serializer=pb.TradeRequest.SerializeToString,
                                      response_deserializer=pb.TradeResponse.FromString)
        call = trade(iter([pb.TradeRequest(new_order=pb.NewOrder(
            cl_ord_id=5, symbol="AAPL", side=pb.SIDE_SELL, quantity=2,
            ord_type=pb.ORD_TYPE_MARKET))]))
        new, fill = next(call).execution_report, next(call).execution_report
        call.cancel()
    assert (new.account, new.exec_type, fill.exec_type, fill.last_px, fill.position) == \
        ("paper", pb.EXEC_TYPE_NEW, pb.EXEC_TYPE_FILL, 100.0, -2.0)


def test_the_sessions_take_the_arguments_of_the_engine_api():
    import inspect

    from mdstream.grpc.trade_session import AsyncRemoteOrderSession, RemoteOrderSession
    from mdstream.venue.session import OrderSession

    for name in ("submit_order", "cancel_order", "replace_order", "cancel_all"):
        engine = inspect.signature(getattr(Engine, name)).parameters
        expected = [(p.name, p.kind, p.default) for p in engine.values()
                    if p.name not in ("self", "account")]
        for cls in (OrderSession, RemoteOrderSession, AsyncRemoteOrderSession):
            got = inspect.signature(getattr(cls, name)).parameters
            assert [(p.name, p.kind, p.default) for p in got.values() if p.name != "self"] == \
                expected, (cls.__name__, name)
        assert inspect.iscoroutinefunction(getattr(AsyncRemoteOrderSession, name))
