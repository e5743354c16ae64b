"""The selector: at most two strategies by regime, eligible ones only, with capital shares."""

from __future__ import annotations

import pytest

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import MAX_ACTIVE, StrategySelector, default_strategies


def selector() -> StrategySelector:
    return StrategySelector(eligible={n: s.regimes for n, s in default_strategies().items()})


@pytest.mark.parametrize("regime", list(Regime))
@pytest.mark.parametrize("recovering", [False, True])
def test_at_most_two_eligible_strategies_are_active(regime: Regime, recovering: bool):
    selection = selector().select(regime, recovering)
    strategies = default_strategies()
    assert 1 <= len(selection.active) <= MAX_ACTIVE
    assert all(regime in strategies[name].regimes for name in selection.active)
    assert 0 < sum(selection.allocations.values()) <= 1.0


def test_each_regime_gets_its_strategies():
    s = selector()
    assert set(s.select(Regime.RISK_ON).active) == {"trend_follower", "volatility_swing"}
    assert set(s.select(Regime.NEUTRAL).active) == {"mean_reversion", "volatility_swing"}
    assert set(s.select(Regime.RISK_OFF).active) == {"defensive_hedge"}
    assert set(s.select(Regime.PANIC).active) == {"stable_allocator", "defensive_hedge"}


def test_recovery_re_entry_runs_only_in_the_neutral_after_a_panic():
    s = selector()
    assert "recovery_reentry" in s.select(Regime.NEUTRAL, recovering=True).active
    assert "recovery_reentry" not in s.select(Regime.NEUTRAL, recovering=False).active
    assert "recovery_reentry" not in s.select(Regime.RISK_ON, recovering=True).active


def test_a_table_with_three_strategies_in_a_regime_is_refused():
    table = {r.value: {"mean_reversion": 0.3} for r in Regime}
    table["RECOVERY"] = {"mean_reversion": 0.3}
    table["NEUTRAL"] = {"mean_reversion": 0.3, "volatility_swing": 0.3, "recovery_reentry": 0.3}
    with pytest.raises(ValueError, match="at most 2"):
        StrategySelector(table=table)


def test_a_table_naming_an_ineligible_strategy_is_refused():
    table = {r.value: {"defensive_hedge": 1.0} for r in Regime}
    table["RECOVERY"] = {"defensive_hedge": 1.0}
    with pytest.raises(ValueError, match="not eligible"):
        StrategySelector(table=table, eligible={"defensive_hedge": frozenset({Regime.PANIC})})
