"""The probabilistic Sharpe ratio: a measured Sharpe's chance of beating a gate, given its sample."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from krakenops.core.confidence import probabilistic_sharpe

SHARPES = st.floats(-4, 4)
DAYS = st.integers(2, 2000)
SKEWS = st.floats(-2, 2)


@st.composite
def shapes(draw: st.DrawFn) -> tuple[float, float]:
    """A skew and a raw kurtosis some distribution can have: kurtosis >= 1 + skew^2."""
    skew = draw(SKEWS)
    return skew, 1 + skew**2 + draw(st.floats(0, 20))


@given(sharpe=SHARPES, days=DAYS, shape=shapes())
def test_a_sharpe_exactly_at_the_gate_is_a_coin_toss(sharpe, days, shape):
    skew, kurtosis = shape
    assert probabilistic_sharpe(sharpe, days, skew, kurtosis, sharpe) == 0.5


@given(sharpe=SHARPES, gate=SHARPES, days=DAYS, shape=shapes())
def test_more_days_make_the_verdict_surer_either_way(sharpe, gate, days, shape):
    skew, kurtosis = shape
    fewer = probabilistic_sharpe(sharpe, days, skew, kurtosis, gate)
    more = probabilistic_sharpe(sharpe, days * 4, skew, kurtosis, gate)
    assert 0 <= fewer <= 1 and 0 <= more <= 1
    if sharpe > gate:
        assert more >= fewer >= 0.5
    elif sharpe < gate:
        assert more <= fewer <= 0.5


@given(low=SHARPES, high=SHARPES, gate=SHARPES, days=DAYS)
def test_a_higher_sharpe_on_normal_returns_is_never_less_likely_to_beat_the_gate(
    low, high, gate, days
):
    low, high = sorted((low, high))
    assert probabilistic_sharpe(low, days, 0.0, 3.0, gate) <= probabilistic_sharpe(
        high, days, 0.0, 3.0, gate
    )


def test_ninety_days_at_a_sharpe_of_one_and_a_half_beat_a_gate_of_half_two_times_in_three():
    # A 90-day annualised Sharpe has a standard error near sqrt(365 / 89), about 2.
    # Daily Sharpe 1.5/sqrt(365) over 90 days: z = (SR - SR*) sqrt(89) / sqrt(1 + SR^2 / 2).
    daily, target = 1.5 / math.sqrt(365), 0.5 / math.sqrt(365)
    z = (daily - target) * math.sqrt(89) / math.sqrt(1 + daily**2 / 2)
    expected = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert math.isclose(probabilistic_sharpe(1.5, 90, 0.0, 3.0, 0.5), expected)
    assert 0.65 < expected < 0.72


def test_a_sample_too_short_or_not_a_number_says_nothing():
    assert probabilistic_sharpe(5.0, 1, 0.0, 3.0, 0.5) == 0.0
    assert probabilistic_sharpe(math.nan, 90, 0.0, 3.0, 0.5) == 0.0
    assert probabilistic_sharpe(5.0, 90, math.inf, 3.0, 0.5) == 0.0
