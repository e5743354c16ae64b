"""Features: the O(1) incremental update equals the batch computation over the same bars, exactly."""

from __future__ import annotations

import platform

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.features import FEATURE_NAMES, FeatureState, batch_features
from krakenops.core.marketdata import Bars, load_symbol

HOUR = 3600


def folded(bars: Bars) -> npt.NDArray[np.float64]:
    """Every bar's vector as the live trader sees it: the bars folded one by one, in order."""
    state = FeatureState()
    high, low, close, volume = (
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
    )
    rows = [state.fold(high[i], low[i], close[i], volume[i]) for i in range(len(bars))]
    return np.array(rows, dtype=np.float64).reshape(len(bars), len(FEATURE_NAMES))


def assert_same_features(incremental: npt.NDArray[np.float64], batch: npt.NDArray[np.float64]):
    if platform.machine() in {"x86_64", "AMD64"}:
        np.testing.assert_array_equal(incremental, batch)
    else:
        # SciPy's compiled filter may be built with fused multiply-adds on other CPUs (arm64),
        # which round once where `fold` rounds twice: there the two agree to the last few bits.
        # The absolute floor covers features that cancel to zero, such as a flat trend.
        np.testing.assert_allclose(incremental, batch, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_incremental_features_equal_batch_features_on_real_bars(symbol: str):
    bars = load_symbol(symbol)
    state = FeatureState()
    incremental = np.array(
        [
            state.update(bars.high[i], bars.low[i], bars.close[i], bars.volume[i]).copy()
            for i in range(len(bars))
        ]
    )
    batch = batch_features(bars)
    assert batch.shape == (len(bars), len(FEATURE_NAMES))
    assert len(bars) > 10_000
    assert_same_features(incremental, batch)


def synthetic_bars(start: float, segments: list[tuple[str, int, int]]) -> Bars:
    """Bars made of random walks, flat stretches (no range, often no volume) and price jumps."""
    closes, highs, lows, volumes = [], [], [], []
    price = start
    for kind, length, seed in segments:
        rng = np.random.default_rng(seed)
        if kind == "jump":
            price *= 10.0 ** rng.choice([-6, -3, -1, 1, 3, 6])
        if kind == "flat":
            close = np.full(length, price)
            high, low = close.copy(), close.copy()
            volume = np.zeros(length) if rng.random() < 0.5 else np.full(length, 3.0)
        else:
            close = price * np.exp(
                np.cumsum(rng.normal(0.0, rng.choice([1e-4, 0.01, 0.1]), length))
            )
            high = close * (1.0 + rng.uniform(0.0, 0.05, length))
            low = close * (1.0 - rng.uniform(0.0, 0.05, length))
            volume = rng.exponential(100.0, length) * (rng.random(length) > 0.1)
        price = float(close[-1])
        closes.append(close)
        highs.append(high)
        lows.append(low)
        volumes.append(volume)
    close = np.concatenate(closes)
    n = close.shape[0]
    return Bars(
        symbol="BTC",
        time=np.arange(n, dtype=np.int64) * HOUR,
        open=close.copy(),
        high=np.concatenate(highs),
        low=np.concatenate(lows),
        close=close,
        volume=np.concatenate(volumes),
        trades=np.ones(n, dtype=np.int64),
    )


@settings(max_examples=300, deadline=None)
@given(
    start=st.floats(1e-4, 1e6),
    segments=st.lists(
        st.tuples(
            st.sampled_from(["walk", "flat", "jump"]),
            st.integers(1, 150),
            st.integers(0, 2**32 - 1),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_incremental_features_equal_batch_features_on_any_bars(start, segments):
    bars = synthetic_bars(start, segments)
    batch = batch_features(bars)
    assert np.isfinite(batch).all()
    assert_same_features(folded(bars), batch)


def mixed_bars(n: int, seed: int, start: float, scale: float, flat: float, still: float) -> Bars:
    """n bars, each drawn on its own: a move of any size from a ten-millionth to tenfold, or
    (with chance `flat`) the same close again; no range and no volume with chance `still`."""
    rng = np.random.default_rng(seed)
    moves = rng.normal(0.0, scale, n) * 10.0 ** rng.integers(-4, 1, n)
    moves[rng.random(n) < 0.01] = rng.choice([-2.3, 2.3])
    moves[rng.random(n) < flat] = 0.0
    close = start * np.exp(np.cumsum(moves))
    quiet = rng.random(n) < still
    high = np.where(quiet, close, close * (1.0 + rng.uniform(0.0, 0.05, n)))
    low = np.where(quiet, close, close * (1.0 - rng.uniform(0.0, 0.05, n)))
    volume = np.where(quiet, 0.0, rng.exponential(100.0, n))
    return Bars(
        symbol="BTC",
        time=np.arange(n, dtype=np.int64) * HOUR,
        open=close.copy(),
        high=high,
        low=low,
        close=close,
        volume=volume,
        trades=np.ones(n, dtype=np.int64),
    )


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    start=st.floats(1e-3, 1e5),
    scale=st.sampled_from([1e-3, 0.01, 0.05]),
    flat=st.floats(0.0, 1.0),
    still=st.floats(0.0, 1.0),
)
def test_the_fold_equals_the_batch_on_bars_drawn_one_by_one(n, seed, start, scale, flat, still):
    """Every stretch and every window boundary, with any mix of quiet and wild bars in it."""
    bars = mixed_bars(n, seed, start, scale, flat, still)
    assert_same_features(folded(bars), batch_features(bars))


def test_a_bar_without_a_positive_close_is_refused_and_the_state_goes_on():
    bars = load_symbol("ETH").slice(0, 300)
    state, reference = FeatureState(), folded(bars)
    for i in range(len(bars)):
        if i == 200:
            with pytest.raises(ValueError, match="positive"):
                state.fold(1.0, 0.0, 0.0, 1.0)
        row = state.fold(bars.high[i], bars.low[i], bars.close[i], bars.volume[i])
        assert_same_features(np.array(row), reference[i])
    assert state.bars == len(bars)


def test_batch_features_of_no_bars_is_empty():
    assert batch_features(load_symbol("ETH").slice(0, 0)).shape == (0, len(FEATURE_NAMES))


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


def hourly_walk(n: int, seed: int) -> Bars:
    """Hourly bars of a random walk around 30,000 (1% an hour, drawn back to that level over
    months) whose price halves in one hour 1,000 bars before the end."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    pull = 1.0 / 2_000  # the share of its distance from 30,000 the price gives back every hour
    log_close = np.log(30_000.0) + lfilter([1.0], [1.0, pull - 1.0], rng.normal(0.0, 0.01, n))
    log_close[n - 1_000 :] += np.log(0.5)
    close = np.exp(log_close)
    return Bars(
        symbol="BTC",
        time=np.arange(n, dtype=np.int64) * HOUR,
        open=close.copy(),
        high=close * (1.0 + rng.uniform(0.0, 0.01, n)),
        low=close * (1.0 - rng.uniform(0.0, 0.01, n)),
        close=close,
        volume=rng.exponential(100.0, n),
        trades=np.ones(n, dtype=np.int64),
    )


def last_folded(bars: Bars, rows: int) -> npt.NDArray[np.float64]:
    """The vectors of the last `rows` bars, after folding every bar into one fresh state."""
    state = FeatureState()
    fold = state.fold
    high, low, close, volume = (
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
    )
    n = len(bars)
    for i in range(n - rows):
        fold(high[i], low[i], close[i], volume[i])
    return np.array([fold(high[i], low[i], close[i], volume[i]) for i in range(n - rows, n)])


def test_a_trader_up_for_years_reads_the_features_of_one_started_recently():
    """Rounding does not pile up with uptime: the 48-bar window's totals start again every 48
    bars. After 200,000 bars (23 years of hours) the features of the last 500 bars differ from
    those of a trader started 5,000 bars before the end by less than 1e-10 of each feature's
    size, no more than after 20,000 bars; and the replay's batch features still equal them."""
    bars = hourly_walk(200_000, seed=11)
    rows = 500
    n = len(bars)
    # 4,500 bars in, every running mean has forgotten its start (0.988^4500 is below 1e-23).
    recent = batch_features(bars.slice(n - 5_000, n))[-rows:]
    scale = np.abs(recent).max(axis=0)
    errors = {}
    for uptime in (20_000, 200_000):
        history = bars.slice(n - uptime, n)
        vectors = last_folded(history, rows)
        assert_same_features(vectors, batch_features(history)[-rows:])
        errors[uptime] = float((np.abs(vectors - recent).max(axis=0) / scale).max())
    assert errors[200_000] < 1e-10, errors
    # Both end on the same 500 bars: equal up to rounding, whatever the uptime.
    assert errors[200_000] <= 2.0 * errors[20_000] + 1e-13, errors
