"""The validate-only order at live start-up, and what happens when it is refused."""

from __future__ import annotations

import logging

import pytest

from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.venues.kraken.errors import TradingHaltedError
from krakenops.trader.venues.kraken.gateway import build_exchange
from tests.fakekraken import FakeKraken, Fault, ScriptedFaults
from tests.trader.venues.kraken.conftest import ClientFactory


def test_start_up_sends_one_validate_only_order_with_the_string_true(
    connect: ClientFactory, fake: FakeKraken
):
    client = connect()
    client.start()
    assert fake.validate_values == ["true"]
    assert fake.engine.orders == {}  # validated, not placed
    assert client.halted is None


def test_ccxt_would_send_python_true_as_True_which_is_not_a_validation(
    fake: FakeKraken, credentials
):
    # Why the client spells the flag itself: the fake, like a strict reading of Kraken's API,
    # takes only 'true' as a validation, so this "preflight" places a real order.
    exchange = build_exchange(credentials, iter(range(1, 10**6)).__next__, 1.0, fake.url)
    exchange.create_order("BTC/USD", "limit", "buy", 0.001, 3000, {"validate": True})
    assert fake.validate_values == ["True"]
    assert len(fake.engine.orders) == 1


def test_a_refused_preflight_halts_trading_with_an_error_that_says_why(
    connect: ClientFactory, fake: FakeKraken, caplog: pytest.LogCaptureFixture
):
    fake.faults = ScriptedFaults(script={"AddOrder(validate)": [Fault.INSUFFICIENT_FUNDS]})
    client = connect()
    with caplog.at_level(logging.ERROR), pytest.raises(TradingHaltedError, match="preflight"):
        client.start()
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "preflight order on XBTUSD" in record.getMessage()
    assert "EOrder:Insufficient funds" in record.getMessage()
    assert client.metrics.halted._value.get() == 1
    with pytest.raises(TradingHaltedError, match="preflight"):
        client.submit(OrderIntent("x", "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0))
    assert fake.engine.orders == {}


def test_a_preflight_that_times_out_is_repeated_not_abandoned(
    connect: ClientFactory, fake: FakeKraken
):
    fake.faults = ScriptedFaults(
        script={"AddOrder(validate)": [Fault.SERVER_ERROR, Fault.LATE_ARRIVAL]}
    )
    client = connect()
    client.start()
    assert client.halted is None and fake.engine.orders == {}
