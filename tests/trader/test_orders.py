"""Order records: the quick market-order constructor builds exactly what the dataclass would."""

from __future__ import annotations

import dataclasses

import pytest

from krakenops.trader.orders import OrderIntent, OrderType, Side


@pytest.mark.parametrize("reduce_only", [False, True])
def test_a_market_intent_is_the_same_record_as_the_dataclass_builds(reduce_only: bool) -> None:
    side = Side.SELL if reduce_only else Side.BUY
    quick = OrderIntent.market(
        client_order_id="ko-1700000000-BTC-enter-0",
        symbol="BTC",
        side=side,
        quantity=0.25,
        reference_price=43_000.5,
        strategy="trend_follower",
        confidence=0.5,
        reduce_only=reduce_only,
    )
    built = OrderIntent(
        client_order_id="ko-1700000000-BTC-enter-0",
        symbol="BTC",
        side=side,
        quantity=0.25,
        order_type=OrderType.MARKET,
        reference_price=43_000.5,
        strategy="trend_follower",
        confidence=0.5,
        reduce_only=reduce_only,
    )
    assert quick == built
    assert hash(quick) == hash(built)
    assert repr(quick) == repr(built)
    assert dataclasses.asdict(quick) == dataclasses.asdict(built)


def test_a_market_intent_stays_frozen() -> None:
    intent = OrderIntent.market(
        client_order_id="id",
        symbol="BTC",
        side=Side.BUY,
        quantity=1.0,
        reference_price=10.0,
        strategy="",
        confidence=1.0,
        reduce_only=False,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        intent.quantity = 2.0  # type: ignore[misc]
