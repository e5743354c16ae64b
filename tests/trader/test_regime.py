"""The regime engine: readings from market-wide features, hysteresis, an INFO record per change."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.regime import MarketState, Regime, RegimeEngine, market_state

BULL = MarketState(ret_24=0.02, ret_72=0.06, trend=0.01, vol_ratio=1.0)
QUIET = MarketState(ret_24=0.0, ret_72=0.0, trend=0.0, vol_ratio=1.0)
BEAR = MarketState(ret_24=-0.02, ret_72=-0.08, trend=-0.01, vol_ratio=1.2)
CRASH = MarketState(ret_24=-0.09, ret_72=-0.15, trend=-0.02, vol_ratio=2.5)


@pytest.mark.parametrize(
    ("state", "regime"),
    [
        (BULL, Regime.RISK_ON),
        (QUIET, Regime.NEUTRAL),
        (BEAR, Regime.RISK_OFF),
        (CRASH, Regime.PANIC),
    ],
)
def test_each_reading_classifies(state: MarketState, regime: Regime):
    assert RegimeEngine().classify(state) is regime


def test_a_hot_four_percent_drop_is_a_panic_and_a_calm_one_is_not():
    hot = MarketState(ret_24=-0.045, ret_72=-0.05, trend=-0.01, vol_ratio=2.0)
    calm = MarketState(ret_24=-0.045, ret_72=-0.05, trend=-0.01, vol_ratio=1.0)
    assert RegimeEngine().classify(hot) is Regime.PANIC
    assert RegimeEngine().classify(calm) is Regime.RISK_OFF


def test_a_change_needs_the_reading_to_persist():
    engine = RegimeEngine()
    for _ in range(engine.settings.confirm_bars - 1):
        assert engine.update(BULL) is Regime.NEUTRAL
    assert engine.update(BULL) is Regime.RISK_ON


def test_one_contrary_bar_does_not_flap_the_regime():
    engine = RegimeEngine()
    for _ in range(10):
        engine.update(BULL)
    for _ in range(20):
        engine.update(BULL)
        assert engine.update(QUIET) is Regime.RISK_ON
    assert engine.changes == 1


def test_a_regime_holds_inside_its_wider_band():
    engine = RegimeEngine()
    for _ in range(10):
        engine.update(BULL)
    cooling = MarketState(
        ret_24=0.0, ret_72=0.015, trend=0.003, vol_ratio=1.0
    )  # under entry, over hold
    assert engine.classify(cooling) is Regime.NEUTRAL
    for _ in range(20):
        assert engine.update(cooling) is Regime.RISK_ON


def test_panic_is_confirmed_at_once_and_recovery_follows_it():
    engine = RegimeEngine()
    assert engine.update(CRASH) is Regime.PANIC
    assert not engine.recovering
    for _ in range(engine.settings.confirm_bars):
        engine.update(QUIET)
    assert engine.regime is Regime.NEUTRAL and engine.recovering
    for _ in range(engine.settings.recovery_bars + 1):
        engine.update(QUIET)
    assert not engine.recovering


def test_a_change_is_logged_at_info(caplog: pytest.LogCaptureFixture):
    engine = RegimeEngine()
    with caplog.at_level(logging.INFO, logger="krakenops.trader.regime"):
        engine.update(CRASH)
    [record] = [r for r in caplog.records if getattr(r, "event", "") == "regime_changed"]
    assert record.levelno == logging.INFO and "NEUTRAL -> PANIC" in record.getMessage()


def test_the_market_state_averages_the_symbols():
    a, b = np.zeros(len(FEATURE_NAMES)), np.zeros(len(FEATURE_NAMES))
    a[FEATURE_NAMES.index("ret_24")], b[FEATURE_NAMES.index("ret_24")] = -0.1, 0.0
    a[FEATURE_NAMES.index("vol_168")] = b[FEATURE_NAMES.index("vol_168")] = 0.01
    a[FEATURE_NAMES.index("vol_24")], b[FEATURE_NAMES.index("vol_24")] = 0.03, 0.01
    state = market_state([a, b])
    assert state.ret_24 == pytest.approx(-0.05) and state.vol_ratio == pytest.approx(2.0)
