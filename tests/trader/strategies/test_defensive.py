"""Defensive Hedge and Stable Allocator: on spot they sell exposure and hold USD, never buy."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import DefensiveHedge, SignalKind, StableAllocator
from tests.trader.strategies.markets import NOW, Features, holding, step, view

FALLING: Features = {"ret_24": -0.05, "trend": -0.01}


def test_hedge_sells_half_of_a_falling_long():
    portfolio = holding("trend_follower")
    signals = DefensiveHedge().entries(
        step(view(**FALLING), regime=Regime.RISK_OFF, portfolio=portfolio)
    )
    assert [(s.kind, s.fraction) for s in signals] == [(SignalKind.REDUCE, 0.5)]


def test_hedge_leaves_rising_longs_and_never_opens_anything():
    portfolio = holding("trend_follower")
    hedge = DefensiveHedge()
    assert hedge.entries(step(view(ret_24=0.02, trend=0.01), portfolio=portfolio)) == []
    assert hedge.entries(step(view(**FALLING))) == []  # no position: nothing to hedge


def test_hedge_is_time_limited_per_position():
    portfolio = holding("trend_follower")
    portfolio.positions["ETH"].hedged_at = NOW - 3600
    hedge = DefensiveHedge()
    assert hedge.entries(step(view(**FALLING), portfolio=portfolio)) == []
    later = NOW + 24 * 3600
    assert (
        len(hedge.entries(step(view(time=later, **FALLING), portfolio=portfolio, time=later))) == 1
    )


def test_hedge_is_eligible_in_risk_off_and_panic():
    assert DefensiveHedge.regimes == frozenset({Regime.RISK_OFF, Regime.PANIC})


def test_stable_allocator_steps_positions_down_toward_usd():
    portfolio = holding("trend_follower")
    signals = StableAllocator().entries(
        step(view(close=1950.0), regime=Regime.PANIC, portfolio=portfolio)
    )
    assert [(s.kind, s.fraction) for s in signals] == [(SignalKind.REDUCE, 0.5)]


def test_stable_allocator_flattens_small_or_deeply_underwater_positions():
    small = holding("trend_follower", quantity=0.01)
    assert (
        StableAllocator().entries(step(view(close=1950.0), portfolio=small))[0].kind
        is SignalKind.EXIT
    )
    deep = holding("trend_follower")
    assert (
        StableAllocator().entries(step(view(close=1600.0), portfolio=deep))[0].kind
        is SignalKind.EXIT
    )


def test_stable_allocator_is_eligible_in_panic_only():
    assert StableAllocator.regimes == frozenset({Regime.PANIC})
