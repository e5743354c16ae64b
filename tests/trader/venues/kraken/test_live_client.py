"""The live client against the fake Kraken, through real ccxt: orders, fills, fees, signatures."""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest
from prometheus_client import CollectorRegistry

from krakenops.core.clock import ManualClock
from krakenops.trader.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.errors import TradingHaltedError
from krakenops.trader.venues.kraken.factory import connect_live
from krakenops.trader.venues.kraken.gateway import build_exchange, kraken_client_id
from krakenops.trader.venues.kraken.nonce import NonceSource
from tests.fakekraken import FakeKraken
from tests.trader.venues.kraken.conftest import SETTINGS, ClientFactory


def started(connect: ClientFactory) -> KrakenExecutionClient:
    client = connect()
    client.start()
    return client


def test_a_market_buy_fills_at_the_fee_rate_trade_volume_reports(
    connect: ClientFactory, fake: FakeKraken
):
    client = started(connect)
    assert client.fees["BTC"].taker == Decimal(
        "0.004"
    )  # the account's tier, not ccxt's default 0.26 %
    result = client.submit(OrderIntent("buy-1", "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0))
    assert result.status is OrderStatus.FILLED
    assert result.filled_quantity == 0.01 and result.exchange_order_id in fake.engine.orders
    (fill,) = result.fills
    assert fill.liquidity == "taker"
    assert fill.fee_usd == pytest.approx(fill.quantity * fill.price * 0.004, abs=1e-5)
    assert client.balances()["BTC"] == pytest.approx(0.06)


def test_a_resting_limit_order_fills_on_a_later_bar_and_on_bar_reports_it(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = started(connect)
    price = float(fake.engine.price("XXBTZUSD"))
    result = client.submit(
        OrderIntent("bid-1", "BTC", Side.BUY, 0.01, OrderType.LIMIT, price, price * 0.995)
    )
    assert result.status is OrderStatus.OPEN and result.fills == ()
    assert result.exchange_order_id is not None
    fills = []
    for _ in range(500):
        fake.engine.advance()
        fills = client.on_bar("BTC", clock.now(), 0.0, 0.0, 0.0)
        if fills:
            break
    assert fills, "the bid was never reached in 500 bars"
    limit = float(fake.engine.orders[result.exchange_order_id]["descr"]["price"])
    assert [(f.liquidity, f.price) for f in fills] == [("maker", limit)]
    filled = client.query("bid-1")
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert client.on_bar("BTC", clock.now(), 0.0, 0.0, 0.0) == []


def test_a_repeated_client_order_id_returns_the_first_order_and_sends_nothing(
    connect: ClientFactory, fake: FakeKraken
):
    client = started(connect)
    intent = OrderIntent("once", "ETH", Side.BUY, 0.1, OrderType.MARKET, 200.0)
    first = client.submit(intent)
    again = client.submit(intent)
    assert again.exchange_order_id == first.exchange_order_id and again.status is OrderStatus.FILLED
    assert fake.calls["AddOrder"] == 2  # the preflight and this order, once


def test_cancelling_a_resting_order_and_cancelling_it_again(
    connect: ClientFactory, fake: FakeKraken
):
    client = started(connect)
    price = float(fake.engine.price("XETHZUSD"))
    placed = client.submit(
        OrderIntent("far", "ETH", Side.BUY, 0.1, OrderType.LIMIT, price, price * 0.5)
    )
    assert placed.exchange_order_id is not None
    assert [o.client_order_id for o in client.open_orders()] == ["far"]
    assert client.cancel("far").status is OrderStatus.CANCELED
    assert fake.engine.orders[placed.exchange_order_id]["status"] == "canceled"
    assert client.cancel("far").status is OrderStatus.CANCELED
    assert client.open_orders() == []


def test_a_wrong_secret_is_refused_by_signature_and_trading_never_starts(
    tmp_path: Path, clock: ManualClock, fake: FakeKraken, credentials: Credentials
):
    wrong = Credentials(credentials.api_key, base64.b64encode(b"not the secret" * 4).decode())
    client = connect_live(
        tmp_path, clock, ("BTC",), credentials=wrong, settings=SETTINGS, api_url=fake.url,
        registry=CollectorRegistry(),
    )  # fmt: skip
    with pytest.raises(TradingHaltedError, match="EAPI:Invalid signature"):
        client.start()
    with pytest.raises(TradingHaltedError):
        client.submit(OrderIntent("x", "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0))


def test_a_second_process_on_the_same_key_with_older_nonces_is_refused(
    tmp_path: Path, fake: FakeKraken, credentials: Credentials
):
    first = build_exchange(credentials, lambda: 1_000, 1.0, fake.url)
    second = build_exchange(credentials, lambda: 1_000, 1.0, fake.url)
    first.fetch_balance()
    with pytest.raises(ccxt.InvalidNonce):
        second.fetch_balance()


def test_nonces_keep_increasing_across_a_restart_even_when_the_wall_clock_steps_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    before = NonceSource(tmp_path / "nonce")
    used = [before() for _ in range(3)]
    monkeypatch.setattr("krakenops.trader.venues.kraken.nonce._wall_milliseconds", lambda: 5)
    after = NonceSource(tmp_path / "nonce")
    later = [after() for _ in range(3)]
    assert used == sorted(set(used)) and later == sorted(set(later))
    assert later[0] > used[-1]


def test_client_order_ids_reach_kraken_as_the_uuids_it_accepts(
    connect: ClientFactory, fake: FakeKraken, credentials: Credentials
):
    # Kraken takes free-text ids of at most 18 characters; the pipeline's are longer.
    long_id = "ko-1620766800-BTC-enter-0"
    exchange = build_exchange(credentials, iter(range(1, 10**6)).__next__, 1.0, fake.url)
    with pytest.raises(ccxt.BaseError, match="Invalid arguments:cl_ord_id"):
        exchange.create_order("BTC/USD", "market", "buy", 0.01, None, {"clientOrderId": long_id})
    client = started(connect)
    result = client.submit(OrderIntent(long_id, "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0))
    assert result.status is OrderStatus.FILLED and result.exchange_order_id is not None
    sent = fake.engine.orders[result.exchange_order_id]["cl_ord_id"]
    assert sent == kraken_client_id(long_id) and len(sent) == 36
    queried = client.query(long_id)
    assert queried is not None and queried.exchange_order_id == result.exchange_order_id
