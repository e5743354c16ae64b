"""The sample behind a Sharpe ratio: its days, shape, bootstrap interval and PSR."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from krakenops.core.confidence import probabilistic_sharpe
from krakenops.trainer.confidence import sharpe_sample
from krakenops.trainer.gates import annual_sharpe

RETURNS = arrays(np.float64, st.integers(2, 200), elements=st.floats(-0.2, 0.2))


@given(returns=RETURNS, seed=st.integers(0, 2**32 - 1))
def test_the_sample_counts_its_days_and_draws_the_same_interval_from_the_same_seed(returns, seed):
    sample = sharpe_sample(returns, 0.5, seed)
    assert sample.days == returns.shape[0]
    assert sample.low <= sample.high
    assert sharpe_sample(returns, 0.5, seed) == sample
    sharpe = float(annual_sharpe(returns))
    expected = probabilistic_sharpe(sharpe, sample.days, sample.skew, sample.kurtosis, 0.5)
    assert sample.confidence == expected


def test_ninety_days_of_noise_give_a_sharpe_interval_several_units_wide():
    returns = np.random.default_rng(7).normal(0.001, 0.02, 90)
    sample = sharpe_sample(returns, 0.5, seed=1)
    # The point: one 90-day replay pins an annualised Sharpe to within about +-3.
    assert sample.low < float(annual_sharpe(returns)) < sample.high
    assert 4 < sample.high - sample.low < 9
    assert abs(sample.skew) < 1 and 2 < sample.kurtosis < 4.5


def test_a_flat_curve_has_a_sharpe_of_zero_and_less_than_even_odds_of_beating_a_positive_gate():
    sample = sharpe_sample(np.zeros(60), 0.5, seed=3)
    assert (sample.low, sample.high) == (0.0, 0.0)
    assert sample.confidence == probabilistic_sharpe(0.0, 60, 0.0, 3.0, 0.5) < 0.5
    assert sharpe_sample(np.zeros(1), 0.5, seed=3).days == 1
