"""Orders shaped to the pair's lot and tick from AssetPairs, and refused below its minimums."""

from __future__ import annotations

from decimal import Decimal

from krakenops.trader.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from krakenops.trader.venues.kraken.rules import PairRules
from tests.fakekraken import FakeKraken
from tests.fakekraken.tables import asset_pairs
from tests.trader.venues.kraken.conftest import ClientFactory

PAIRS = asset_pairs()


def rules(pair: str, **overrides: object) -> PairRules:
    return PairRules.from_asset_pair(pair, {**PAIRS[pair], **overrides})


def test_volume_rounds_down_to_the_lot():
    assert rules("XXBTZUSD").round_volume(Decimal("0.123456789")) == Decimal("0.12345678")


def test_a_bid_rounds_down_and_an_ask_up_to_the_tick():
    eth = rules("XETHZUSD")
    assert eth.round_price(Decimal("2000.005"), Side.BUY) == Decimal("2000.00")
    assert eth.round_price(Decimal("2000.005"), Side.SELL) == Decimal("2000.01")
    coarse = rules("XXBTZUSD", tick_size="0.5")
    assert coarse.round_price(Decimal("100.7"), Side.BUY) == Decimal("100.5")
    assert coarse.round_price(Decimal("100.7"), Side.SELL) == Decimal("101.0")


def test_an_order_arrives_at_kraken_already_on_the_grid(connect: ClientFactory, fake: FakeKraken):
    client = connect()
    client.start()
    result = client.submit(
        OrderIntent("grid", "BTC", Side.BUY, 0.0123456789, OrderType.LIMIT, 7000.0, 3000.06)
    )
    assert result.exchange_order_id is not None
    sent = fake.engine.orders[result.exchange_order_id]
    assert Decimal(sent["vol"]) == Decimal("0.01234567")
    assert Decimal(sent["descr"]["price"]) == Decimal("3000.0")


def test_orders_below_ordermin_or_costmin_are_refused_before_sending(
    connect: ClientFactory, fake: FakeKraken
):
    client = connect()
    client.start()
    sent = fake.calls["AddOrder"]
    tiny = client.submit(OrderIntent("tiny", "BTC", Side.BUY, 0.00004, OrderType.MARKET, 7000.0))
    cheap = client.submit(OrderIntent("cheap", "BTC", Side.BUY, 0.00005, OrderType.MARKET, 7000.0))
    assert tiny.status is OrderStatus.REJECTED and "below ordermin 0.00005" in (tiny.reason or "")
    assert cheap.status is OrderStatus.REJECTED and "below costmin 0.5" in (cheap.reason or "")
    assert fake.calls["AddOrder"] == sent
    assert client.ledger.get("tiny") is None and client.ledger.get("cheap") is None


def test_a_pair_that_is_not_online_takes_no_orders(connect: ClientFactory, fake: FakeKraken):
    fake.engine.pairs["XETHZUSD"]["status"] = "cancel_only"
    client = connect()
    client.start()
    result = client.submit(OrderIntent("eth", "ETH", Side.BUY, 0.1, OrderType.MARKET, 200.0))
    assert result.status is OrderStatus.REJECTED and "cancel_only" in (result.reason or "")
    assert fake.calls["AddOrder"] == 1  # the preflight only


def test_a_volume_within_float_noise_of_the_lot_is_the_lot_so_positions_sell_whole():
    btc = rules("XXBTZUSD")
    held = 0.3 - 0.1  # a position after a partial sale, in floats: 0.19999999999999998
    assert btc.shape(Side.SELL, held, 30000.0, None).volume == Decimal("0.2")
    assert btc.round_volume(Decimal("0.061728385")) == Decimal("0.06172838")  # real intent: down


def test_numpy_scalars_from_the_pipeline_are_shaped_like_floats():
    import numpy as np

    shaped = rules("XETHZUSD").shape(Side.BUY, np.float64(0.4707972663947083), 3927.0, None)
    assert shaped.volume == Decimal("0.47079726")
