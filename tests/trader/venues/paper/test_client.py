"""PaperKrakenSimulator: fills, fees, slippage, balances, limits, idempotency and seeded determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.config import PaperSettings
from krakenops.trader.execution.orders import (
    Fill,
    OrderIntent,
    OrderResult,
    OrderStatus,
    OrderType,
    Side,
)
from krakenops.trader.venues.paper.client import PaperKrakenSimulator
from tests.trader.simcalls import every_fill, holdings, limit_order, market_order


def test_the_seeds_market_order_fills_with_fee_and_slippage(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=1, clock=clock)
    result = market_order(sim, symbol="XXBTZUSD", quantity=0.1, side="buy", mid_price=45000.0)
    assert result.status is OrderStatus.FILLED
    fill = result.fills[0]
    assert fill.symbol == "BTC" and fill.timestamp == clock.now()
    assert 45000.0 < fill.price <= 45000.0 * (1 + 2 * 5 / 10_000)
    assert fill.fee_usd == pytest.approx(0.1 * fill.price * 0.0026)
    assert sim.balances()["BTC"] == pytest.approx(0.1)
    assert sim.balances()["USD"] == pytest.approx(10_000 - 0.1 * fill.price - fill.fee_usd)


def test_a_sell_receives_less_than_mid_and_pays_the_fee(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=2, clock=clock)
    market_order(sim, "BTC", 0.1, "buy", 45000.0)
    usd = sim.balances()["USD"]
    fill = market_order(sim, "BTC", 0.1, "sell", 45000.0).fills[0]
    assert fill.price < 45000.0
    assert sim.balances()["USD"] == pytest.approx(usd + 0.1 * fill.price * (1 - 0.0026))
    assert "BTC" not in holdings(sim)


def test_same_seed_gives_the_same_fills_and_another_seed_does_not(clock: ManualClock):
    def prices(seed: int) -> list[float]:
        sim = PaperKrakenSimulator(seed=seed, clock=clock)
        return [market_order(sim, "ETH", 0.5, "buy", 2000.0).fills[0].price for _ in range(5)]

    assert prices(7) == prices(7)
    assert prices(7) != prices(8)


def test_a_repeated_client_order_id_does_not_fill_twice(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=3, clock=clock)
    intent = OrderIntent("ko-1", "BTC", Side.BUY, 0.01, OrderType.MARKET, 30000.0)
    first = sim.submit(intent)
    again = sim.submit(intent)
    assert again == first
    assert len(every_fill(sim)) == 1
    assert sim.query("ko-1") == first
    assert sim.query("unknown") is None


def test_spot_refuses_buying_beyond_cash_and_selling_what_is_not_held(clock: ManualClock):
    sim = PaperKrakenSimulator(starting_balance_usd=1000.0, seed=4, clock=clock)
    too_big = market_order(sim, "BTC", 1.0, "buy", 30000.0)
    assert too_big.status is OrderStatus.REJECTED and "insufficient USD" in (too_big.reason or "")
    short = market_order(sim, "ETH", 1.0, "sell", 2000.0)
    assert short.status is OrderStatus.REJECTED and "insufficient ETH" in (short.reason or "")
    assert sim.balances() == {"USD": 1000.0}


def test_malformed_orders_are_rejected_not_filled(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=5, clock=clock)
    assert market_order(sim, "BTC", 0.0, "buy", 30000.0).status is OrderStatus.REJECTED
    assert market_order(sim, "BTC", 0.1, "buy", -1.0).status is OrderStatus.REJECTED
    assert every_fill(sim) == []


def test_a_resting_limit_fills_as_maker_when_a_bar_trades_through_it(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=6, clock=clock)
    resting = limit_order(sim, "ETH", 1.0, "buy", limit_price=1900.0, mid_price=2000.0)
    assert resting.status is OrderStatus.OPEN and len(sim.open_orders()) == 1
    when = clock.now() + timedelta(hours=1)
    assert sim.on_bar("ETH", when, high=2010.0, low=1950.0, close=2000.0) == []
    fills = sim.on_bar("ETH", when, high=1990.0, low=1880.0, close=1895.0)
    assert [f.price for f in fills] == [1900.0]
    assert fills[0].liquidity == "maker" and fills[0].fee_usd == pytest.approx(1900.0 * 0.0016)
    filled = sim.query(resting.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert sim.open_orders() == []


def test_a_crossing_limit_fills_at_once_no_worse_than_its_limit(clock: ManualClock):
    sim = PaperKrakenSimulator(slippage_bps=500.0, seed=7, clock=clock)
    result = limit_order(sim, "ETH", 1.0, "buy", limit_price=2001.0, mid_price=2000.0)
    assert result.status is OrderStatus.FILLED and result.fills[0].price <= 2001.0


def test_cancel_releases_the_reserved_cash(clock: ManualClock):
    sim = PaperKrakenSimulator(starting_balance_usd=2000.0, seed=8, clock=clock)
    order = limit_order(sim, "ETH", 1.0, "buy", limit_price=1900.0, mid_price=2000.0)
    blocked = market_order(sim, "ETH", 0.5, "buy", 2000.0)
    assert blocked.status is OrderStatus.REJECTED
    assert sim.cancel(order.client_order_id).status is OrderStatus.CANCELED
    assert market_order(sim, "ETH", 0.5, "buy", 2000.0).status is OrderStatus.FILLED


def test_fills_since_returns_the_trade_history_from_an_instant():
    clock = ManualClock(datetime(2026, 2, 5, 10, tzinfo=UTC))
    sim = PaperKrakenSimulator(seed=9, clock=clock)
    market_order(sim, "BTC", 0.01, "buy", 30000.0)
    clock.advance(timedelta(hours=1))
    later = clock.now()
    market_order(sim, "BTC", 0.01, "sell", 30000.0)
    assert [f.side for f in sim.fills_since(later)] == [Side.SELL]
    assert len(sim.fills_since(later - timedelta(hours=2))) == 2


def test_from_settings_uses_the_configured_fees_balance_and_seed(clock: ManualClock):
    settings = PaperSettings(starting_balance_usd=5000, taker_fee=0.001, slippage_bps=0, seed=11)
    sim = PaperKrakenSimulator.from_settings(settings, clock)
    fill = market_order(sim, "ETH", 1.0, "buy", 2000.0).fills[0]
    assert fill.price == 2000.0 and fill.fee_usd == pytest.approx(2.0)
    assert sim.balances()["USD"] == pytest.approx(5000 - 2002.0)


def test_funding_costs_are_refused_on_a_spot_venue():
    with pytest.raises(ValueError, match="spot"):
        PaperKrakenSimulator(enable_funding_costs=True)


def test_an_account_snapshot_restores_balances(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=12, clock=clock)
    market_order(sim, "ETH", 1.0, "buy", 2000.0)
    again = PaperKrakenSimulator(seed=12, clock=clock)
    again.restore(sim.snapshot())
    assert again.balances() == sim.balances()


def test_fast_path_records_equal_ordinary_ones(clock: ManualClock):
    sim = PaperKrakenSimulator(seed=13, clock=clock)
    result = market_order(sim, "ETH", 1.0, "buy", 2000.0)
    fill = result.fills[0]
    ordinary = Fill(
        fill.client_order_id,
        fill.exchange_order_id,
        fill.trade_id,
        "ETH",
        Side.BUY,
        1.0,
        fill.price,
        fill.fee_usd,
        clock.now(),
        "taker",
    )
    assert fill == ordinary and hash(fill) == hash(ordinary) and repr(fill) == repr(ordinary)
    assert result == OrderResult(
        fill.client_order_id,
        OrderStatus.FILLED,
        fill.exchange_order_id,
        1.0,
        fill.price,
        fill.fee_usd,
        (ordinary,),
        symbol="ETH",
        side=Side.BUY,
        quantity=1.0,
    )
    with pytest.raises(AttributeError):
        fill.price = 1.0  # type: ignore[misc]  # the very write a frozen fill refuses
