"""Recovery Re-Entry: buys stabilising bounces only in the NEUTRAL that follows a panic."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import RecoveryReEntry, SignalKind
from tests.trader.strategies.markets import NOW, Features, holding, step, view

BOUNCE: Features = {"ret_72": -0.15, "ret_1": 0.01}


def test_buys_a_bounce_after_a_panic():
    signals = RecoveryReEntry().entries(step(view(**BOUNCE), recovering=True))
    assert [s.kind for s in signals] == [SignalKind.ENTER]


def test_does_nothing_without_a_recent_panic_or_while_still_falling():
    strategy = RecoveryReEntry()
    assert strategy.entries(step(view(**BOUNCE), recovering=False)) == []
    assert strategy.entries(step(view(ret_72=-0.15, ret_1=-0.01), recovering=True)) == []
    assert (
        strategy.entries(step(view(ret_72=-0.15, ret_1=0.01, vol_24=0.05), recovering=True)) == []
    )


def test_is_eligible_in_neutral():
    assert RecoveryReEntry.regimes == frozenset({Regime.NEUTRAL})


def test_exits_at_target_on_failure_or_on_time():
    strategy = RecoveryReEntry()
    position = holding("recovery_reentry", stop=1850.0).positions["ETH"]
    target = strategy.exit(position, view(close=2130.0), step())
    assert target is not None and target.reason == "target"
    stopped = strategy.exit(position, view(close=1840.0), step())
    assert stopped is not None and stopped.reason == "stop"
    assert strategy.exit(position, view(close=2010.0, trend=-0.01), step()) is None
    aged = holding("recovery_reentry", opened=NOW - 30 * 3600).positions["ETH"]
    failed = strategy.exit(aged, view(close=2010.0, trend=-0.01), step())
    assert failed is not None and failed.reason == "recovery failed"
