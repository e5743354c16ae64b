"""Features: the O(1) incremental update equals the batch computation over the same real bars."""

from __future__ import annotations

import numpy as np

from krakenops.core.features import FEATURE_NAMES, FeatureState, batch_features
from krakenops.core.marketdata import load_symbol


def test_incremental_features_equal_batch_features_on_real_bars():
    bars = load_symbol("ETH").slice(0, 2_000)
    state = FeatureState()
    incremental = np.array(
        [
            state.update(bars.high[i], bars.low[i], bars.close[i], bars.volume[i]).copy()
            for i in range(len(bars))
        ]
    )
    batch = batch_features(bars)
    assert incremental.shape == (2_000, len(FEATURE_NAMES))
    np.testing.assert_allclose(incremental, batch, rtol=1e-7, atol=1e-9)


def test_warm_after_a_week_of_bars():
    state = FeatureState()
    for _ in range(167):
        state.update(101.0, 99.0, 100.0, 5.0)
    assert not state.warm
    state.update(101.0, 99.0, 100.0, 5.0)
    assert state.warm


def test_flat_prices_give_zero_returns_and_no_division_by_zero():
    state = FeatureState()
    for _ in range(200):
        vector = state.update(100.0, 100.0, 100.0, 0.0)
    assert np.isfinite(vector).all()
    assert vector[FEATURE_NAMES.index("zscore_48")] == 0.0
    assert vector[FEATURE_NAMES.index("ret_24")] == 0.0
