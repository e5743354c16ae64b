"""Volatility Swing: buys dips inside uptrends, sized through a volatility stop, re-enters dips."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import SignalKind, VolatilitySwing
from tests.trader.strategies.markets import NOW, holding, step, view


def test_buys_a_dip_inside_an_uptrend():
    signals = VolatilitySwing().entries(step(view(trend=0.005, zscore_48=-2.5)))
    assert [s.kind for s in signals] == [SignalKind.ENTER]


def test_ignores_dips_in_downtrends_and_uptrends_without_a_dip():
    strategy = VolatilitySwing()
    assert strategy.entries(step(view(trend=-0.005, zscore_48=-2.5))) == []
    assert strategy.entries(step(view(trend=0.005, zscore_48=-0.5))) == []


def test_the_stop_widens_with_volatility_so_size_shrinks():
    strategy = VolatilitySwing()
    calm = strategy.entries(step(view(trend=0.005, zscore_48=-2.5, range_24=0.01)))[0]
    wild = strategy.entries(step(view(trend=0.005, zscore_48=-2.5, range_24=0.03)))[0]
    assert 2000.0 - wild.stop_price == 3 * (2000.0 - calm.stop_price)


def test_is_eligible_in_risk_on_and_neutral():
    assert VolatilitySwing.regimes == frozenset({Regime.RISK_ON, Regime.NEUTRAL})


def test_takes_profit_at_its_target_and_stops_out():
    strategy = VolatilitySwing()
    position = holding("volatility_swing", stop=1800.0).positions["ETH"]
    target = strategy.exit(position, view(close=2200.0, trend=0.005), step())
    assert target is not None and target.reason == "target"
    stopped = strategy.exit(position, view(close=1790.0, trend=0.005), step())
    assert stopped is not None and stopped.reason == "stop"
    assert strategy.exit(position, view(close=2010.0, trend=0.005), step()) is None


def test_re_enters_when_price_dips_back_under_its_exit():
    strategy = VolatilitySwing()
    position = holding("volatility_swing", stop=1800.0).positions["ETH"]
    assert strategy.exit(position, view(close=2200.0, trend=0.005), step()) is not None
    later = NOW + 6 * 3600
    no_dip = view(close=2190.0, time=later, trend=0.005, zscore_48=0.0)
    assert strategy.entries(step(no_dip, time=later)) == []
    dip = view(close=2100.0, time=later, trend=0.005, zscore_48=0.0)
    signals = strategy.entries(step(dip, time=later))
    assert [s.reason for s in signals] == ["re-entry on dip"]
    much_later = NOW + 72 * 3600
    assert (
        strategy.entries(step(view(close=2100.0, time=much_later, trend=0.005), time=much_later))
        == []
    )
