"""Mean Reversion: buys stretched drops in calm markets and sells back at the mean."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import MeanReversion, SignalKind
from tests.trader.strategies.markets import NOW, holding, step, view


def test_buys_a_stretched_drop_in_a_calm_market():
    signals = MeanReversion().entries(step(view(zscore_48=-3.5)))
    assert [s.kind for s in signals] == [SignalKind.ENTER] and signals[0].stop_price < 2000.0


def test_stays_out_when_volatility_runs_hot_or_the_drop_is_mild():
    strategy = MeanReversion()
    assert strategy.entries(step(view(zscore_48=-3.5, vol_24=0.03, vol_168=0.01))) == []
    assert strategy.entries(step(view(zscore_48=-1.0))) == []


def test_is_eligible_only_in_neutral():
    assert MeanReversion.regimes == frozenset({Regime.NEUTRAL})


def test_exits_at_the_mean_at_the_stop_or_on_time():
    strategy = MeanReversion()
    position = holding("mean_reversion").positions["ETH"]
    assert strategy.exit(position, view(close=1950.0, zscore_48=-1.0), step()) is None
    mean = strategy.exit(position, view(close=1990.0, zscore_48=0.1), step())
    assert mean is not None and mean.reason == "back at the mean"
    stopped = strategy.exit(position, view(close=1890.0, zscore_48=-4.0), step())
    assert stopped is not None and stopped.reason == "stop"
    old = holding("mean_reversion", opened=NOW - 49 * 3600).positions["ETH"]
    timed = strategy.exit(old, view(close=1950.0, zscore_48=-1.0), step())
    assert timed is not None and timed.reason == "time limit"
