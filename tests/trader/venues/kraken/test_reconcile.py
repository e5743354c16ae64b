"""Unclear outcomes are looked up before any retry; a restarted trader reconciles before trading."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.window import DowntimeWindow
from krakenops.trader.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from krakenops.trader.venues.kraken.errors import TradingHaltedError
from krakenops.trader.venues.kraken.gateway import GatewayKilledError, kraken_client_id
from tests.fakekraken import FakeKraken, Fault, FaultSchedule
from tests.trader.venues.kraken.conftest import ClientFactory

BUY = OrderIntent("buy", "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0)


@pytest.mark.parametrize(
    "fault", [Fault.TIMEOUT_AFTER_ACCEPT, Fault.SERVER_ERROR_AFTER_ACCEPT, Fault.LATE_ARRIVAL]
)
def test_an_unclear_add_order_is_looked_up_and_never_doubled(
    connect: ClientFactory, fake: FakeKraken, fault: Fault
):
    client = connect()
    client.start()
    fake.faults = FaultSchedule(next_orders=[fault])
    result = client.submit(BUY)
    assert result.status is OrderStatus.FILLED and result.filled_quantity == 0.01
    assert fake.engine.accepted_per_cl_ord_id == {kraken_client_id("buy"): 1}
    assert (
        client.metrics.order_lookups.labels("yes")._value.get()
        + client.metrics.order_lookups.labels("no")._value.get()
        >= 1
    )


def test_a_late_arrival_is_rejected_by_its_deadline_before_the_retry(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = connect()
    client.start()
    fake.faults = FaultSchedule(next_orders=[Fault.LATE_ARRIVAL])
    client.submit(BUY)
    # The first request reaches the engine only after the client has waited out its deadline
    # (on the test clock), perhaps after the retry was placed; either way the engine refuses it.
    # Up to 10 s of wall time: the late request's thread may wait for a busy machine's cores.
    for _ in range(500):
        if fake.rejections["EService:Deadline elapsed"]:
            break
        time.sleep(0.02)
    assert fake.rejections["EService:Deadline elapsed"] == 1
    assert fake.engine.accepted_per_cl_ord_id == {kraken_client_id("buy"): 1}
    order = client.ledger.get("buy")
    assert order is not None
    assert clock.now().timestamp() > order.created + client.settings.order_deadline


def test_a_restarted_trader_finds_its_ledger_equal_to_kraken(
    connect: ClientFactory, fake: FakeKraken
):
    first = connect()
    first.start()
    first.submit(BUY)
    price = float(fake.engine.price("XETHZUSD"))
    first.submit(OrderIntent("bid", "ETH", Side.BUY, 0.1, OrderType.LIMIT, price, price * 0.5))
    first.ledger.close()
    second = connect()
    second.start()
    assert second.halted is None
    bought = second.ledger.get("buy")
    assert bought is not None and bought.status is OrderStatus.FILLED
    assert [o.client_order_id for o in second.open_orders()] == ["bid"]


def test_an_order_written_ahead_but_never_sent_is_resolved_after_its_deadline(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    first = connect()
    first.start()
    first.gateway.kill()  # the process dies between the ledger write and AddOrder
    with pytest.raises(GatewayKilledError):
        first.submit(BUY)
    first.ledger.close()
    second = connect()
    second.start()
    order = second.ledger.get("buy")
    assert order is not None
    assert order.status is OrderStatus.REJECTED and "never reached Kraken" in (order.reason or "")
    assert clock.now().timestamp() > order.deadline
    assert fake.engine.orders == {}


def test_fills_made_while_the_trader_was_down_are_recovered(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    first = connect()
    first.start()
    price = float(fake.engine.price("XXBTZUSD"))
    first.submit(OrderIntent("bid", "BTC", Side.BUY, 0.01, OrderType.LIMIT, price, price * 0.995))
    first.ledger.close()
    for _ in range(500):
        fake.engine.advance()
        if fake.engine.trades:
            break
    assert fake.engine.trades, "the bid was never reached"
    second = connect()
    second.start()
    order = second.ledger.get("bid")
    assert order is not None
    assert order.status is OrderStatus.FILLED and set(order.fills) == set(fake.engine.trades)


def test_an_open_order_the_ledger_does_not_know_halts_start_up(
    connect: ClientFactory, fake: FakeKraken, caplog: pytest.LogCaptureFixture
):
    connect().start()
    with fake.engine.lock:  # someone places an order by hand on the same account
        stranger = fake.engine.add_order(
            {
                "pair": "XETHZUSD",
                "type": "buy",
                "ordertype": "limit",
                "volume": "0.1",
                "price": "10",
            }
        )["txid"][0]
    client = connect()
    with caplog.at_level(logging.ERROR), pytest.raises(TradingHaltedError, match=stranger):
        client.start()
    assert any(
        stranger in r.getMessage() and "not in the ledger" in r.getMessage() for r in caplog.records
    )


def test_a_balance_that_does_not_match_the_ledger_halts_start_up(
    connect: ClientFactory, fake: FakeKraken
):
    connect().start()
    fake.engine.balances["ZUSD"] -= Decimal(100)  # a withdrawal the trader knows nothing of
    with pytest.raises(
        TradingHaltedError,
        match=re.escape("USD: the ledger expects 10000.0000000000, Kraken holds 9900"),
    ):
        connect().start()


WINDOW = DowntimeWindow.parse("03:00", "05:00")
SELL = OrderIntent("exit", "BTC", Side.SELL, 0.01, OrderType.MARKET, 7000.0, reduce_only=True)


def test_a_retry_after_a_5xx_is_not_sent_once_the_downtime_window_has_begun(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = connect(window=WINDOW)
    client.start()
    clock.set(datetime(2026, 2, 6, 2, 59, 55, tzinfo=UTC))  # allowed by the risk manager
    fake.faults = FaultSchedule(next_orders=[Fault.SERVER_ERROR])
    result = client.submit(SELL)
    # Waiting out the first attempt's deadline carried the order past 03:00: no second attempt.
    assert result.status is OrderStatus.REJECTED
    assert "downtime window 03:00-05:00 UTC" in (result.reason or "")
    assert fake.calls["AddOrder"] == 2  # the preflight and the one attempt
    assert fake.engine.orders == {}
    order = client.ledger.get("exit")
    assert order is not None and order.status is OrderStatus.REJECTED
    # Kraken itself would have refused the first attempt had it arrived after 03:00.
    assert order.deadline == datetime(2026, 2, 6, 3, tzinfo=UTC).timestamp()


def test_an_order_in_the_window_s_transition_never_reaches_kraken_or_the_ledger(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = connect(window=DowntimeWindow.parse("03:00", "05:00", drain_seconds=300))
    client.start()
    clock.set(datetime(2026, 2, 6, 2, 56, tzinfo=UTC))
    result = client.submit(SELL)
    assert result.status is OrderStatus.REJECTED
    assert "downtime window 03:00-05:00 UTC" in (result.reason or "")
    assert fake.calls["AddOrder"] == 1  # the preflight only
    assert client.ledger.get("exit") is None


def test_an_order_is_not_sent_when_the_window_is_nearer_than_kraken_s_shortest_deadline(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = connect(window=WINDOW)
    client.start()
    clock.set(datetime(2026, 2, 6, 2, 59, 59, tzinfo=UTC))
    assert client.submit(SELL).status is OrderStatus.REJECTED
    assert fake.calls["AddOrder"] == 1
