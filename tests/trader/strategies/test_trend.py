"""Trend Follower: enters established uptrends, trails a stop, at most five positions."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import SignalKind, TrendFollower
from tests.trader.strategies.markets import NOW, Features, holding, step, view

UPTREND: Features = {"trend": 0.01, "ret_72": 0.05, "zscore_48": 0.5}


def test_enters_an_established_uptrend_with_a_stop_below():
    signals = TrendFollower().entries(step(view(**UPTREND), regime=Regime.RISK_ON))
    assert [(s.symbol, s.kind) for s in signals] == [("ETH", SignalKind.ENTER)]
    assert 0 < signals[0].stop_price < 2000.0


def test_does_not_chase_a_spike_or_enter_a_flat_market():
    spike = view(**(UPTREND | {"zscore_48": 3.0}))
    flat = view("BTC", 30000.0, trend=0.001, ret_72=0.05)
    assert TrendFollower().entries(step(spike, flat, regime=Regime.RISK_ON)) == []


def test_holds_at_most_five_positions():
    symbols = ["BTC", "ETH", "SOL", "XRP", "ADA", "DOT", "LINK"]
    views = [view(s, **UPTREND) for s in symbols]
    signals = TrendFollower().entries(step(*views, regime=Regime.RISK_ON))
    assert len(signals) == 5
    owned = holding("trend_follower", "AVAX")
    assert len(TrendFollower().entries(step(*views, regime=Regime.RISK_ON, portfolio=owned))) == 4


def test_is_eligible_only_in_risk_on():
    assert TrendFollower.regimes == frozenset({Regime.RISK_ON})


def test_trailing_stop_rises_with_the_peak_and_exits_when_hit():
    portfolio = holding("trend_follower", stop=1800.0)
    position = portfolio.positions["ETH"]
    position.peak_price = 2500.0
    strategy = TrendFollower()
    assert strategy.exit(position, view(close=2400.0, **UPTREND), step()) is None
    assert position.stop_price > 2000.0
    signal = strategy.exit(position, view(close=position.stop_price - 1, **UPTREND), step())
    assert (
        signal is not None and signal.kind is SignalKind.EXIT and signal.reason == "trailing stop"
    )


def test_exits_when_the_trend_ends_or_time_runs_out():
    strategy = TrendFollower()
    position = holding("trend_follower").positions["ETH"]
    ended = strategy.exit(position, view(trend=-0.01, ret_72=0.0), step())
    assert ended is not None and ended.reason == "trend ended"
    old = holding("trend_follower", opened=NOW - 22 * 86400).positions["ETH"]
    timed = strategy.exit(old, view(**UPTREND), step())
    assert timed is not None and timed.reason == "time limit"
