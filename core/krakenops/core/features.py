"""Per-symbol features updated in O(1) a bar; the trader and the trainer compute exactly these."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from krakenops.core.marketdata import Bars

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_SCHEMA_VERSION",
    "WARMUP_BARS",
    "FeatureState",
    "batch_features",
]

# Bump when a feature's definition changes: a model trained on one schema is refused by another.
FEATURE_SCHEMA_VERSION = "features-v1"
FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",  # log return over the last bar
    "ret_24",  # log return over 24 bars (momentum, one day)
    "ret_72",  # log return over 72 bars (momentum, three days)
    "vol_24",  # exponentially weighted std of ret_1, span 24
    "vol_168",  # exponentially weighted std of ret_1, span 168 (one week)
    "trend",  # (EMA 12 - EMA 48) / EMA 48 of close
    "range_24",  # exponentially weighted (high - low) / close, span 24
    "zscore_48",  # (close - mean of 48 closes) / their std
    "volume_ratio",  # volume / its exponentially weighted mean, span 24
)
WARMUP_BARS = 168  # bars before every feature has seen enough history to be meaningful

_IDX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _alpha(span: int) -> float:
    return 2.0 / (span + 1.0)


# Smoothing factors of the running features, and their complements.
_A_VOL_24, _A_VOL_168, _A_FAST, _A_SLOW = _alpha(24), _alpha(168), _alpha(12), _alpha(48)
_K_VOL_24, _K_VOL_168 = 1.0 - _A_VOL_24, 1.0 - _A_VOL_168
_A_RANGE = _A_VOLUME = _A_VOL_24
_WINDOW = 48


class FeatureState:
    """The running state of one symbol's features; `update` takes a bar and returns the vector.

    Each exponentially weighted mean (and variance) is the recursion `batch_features` runs. The
    running statistics live in one tuple, unpacked into locals and packed back once a bar:
    `fold` runs for every symbol every bar, and locals cost a fraction of attribute access.
    """

    __slots__ = ("_closes", "_stats", "bars", "vector")

    def __init__(self) -> None:
        self._closes: deque[float] = deque(maxlen=73)  # ret_72 reads the close 72 bars back
        # EW mean and variance of ret_1 (spans 24 and 168); EW means of close (spans 12 and 48),
        # of the relative range and of the volume (span 24); sum and sum of squares of the
        # last 48 closes.
        self._stats = (0.0,) * 10
        self.bars = 0
        self.vector = np.zeros(len(FEATURE_NAMES))

    @property
    def warm(self) -> bool:
        return self.bars >= WARMUP_BARS

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> npt.NDArray[np.float64]:
        """Fold one bar in and return the feature vector (shared array, overwritten next bar)."""
        self.vector[:] = self.fold(high, low, close, volume)
        return self.vector

    def fold(self, high: float, low: float, close: float, volume: float) -> tuple[float, ...]:
        """Fold one bar in and return the features as a tuple of floats, in FEATURE_NAMES order.

        The trader reads features a few at a time, every bar: indexing a tuple of floats costs a
        fraction of indexing an array, whose every item is boxed into a NumPy scalar.
        """
        closes = self._closes
        seen = self.bars
        bars = self.bars = seen + 1
        relative_range = (high - low) / close
        m24, vol_24, m168, vol_168, fast, slow, mean_range, mean_volume, total, squares = (
            self._stats
        )
        if seen:
            ret_1 = math.log(close / closes[-1])
            # The recursion of _ewm: delta from the old mean, mean moved by alpha x delta,
            # variance (1 - alpha) x (variance + alpha x delta^2).
            delta = ret_1 - m24
            m24 += _A_VOL_24 * delta
            vol_24 = _K_VOL_24 * (vol_24 + _A_VOL_24 * delta * delta)
            delta = ret_1 - m168
            m168 += _A_VOL_168 * delta
            vol_168 = _K_VOL_168 * (vol_168 + _A_VOL_168 * delta * delta)
            fast += _A_FAST * (close - fast)
            slow += _A_SLOW * (close - slow)
            mean_range += _A_RANGE * (relative_range - mean_range)
            mean_volume += _A_VOLUME * (volume - mean_volume)
            if seen >= _WINDOW:
                old = closes[-_WINDOW]  # the close that leaves the 48-bar window
                total -= old
                squares -= old * old
        else:
            # The first bar starts every mean at its value and every variance at zero.
            ret_1 = 0.0
            fast = slow = close
            mean_range = relative_range
            mean_volume = volume
        closes.append(close)
        total += close
        squares += close * close
        self._stats = (
            m24,
            vol_24,
            m168,
            vol_168,
            fast,
            slow,
            mean_range,
            mean_volume,
            total,
            squares,
        )

        n = bars if bars < _WINDOW else _WINDOW
        mean = total / n
        std = math.sqrt(max(squares / n - mean * mean, 0.0))
        return (
            ret_1,
            math.log(close / closes[-25]) if bars > 24 else 0.0,
            math.log(close / closes[-73]) if bars > 72 else 0.0,
            math.sqrt(vol_24),
            math.sqrt(vol_168),
            (fast - slow) / slow,
            mean_range,
            # A flat window has no spread to measure against: zero rather than divide by it.
            (close - mean) / std if std > close * 1e-9 else 0.0,
            volume / mean_volume if mean_volume > 0 else 1.0,
        )


def batch_features(bars: Bars) -> npt.NDArray[np.float64]:
    """Every bar's feature vector, computed from the whole history at once (rows align with bars)."""
    close, high, low, volume = bars.close, bars.high, bars.low, bars.volume
    n = len(bars)
    out = np.zeros((n, len(FEATURE_NAMES)))
    if n == 0:
        return out
    log_close = np.log(close)
    ret_1 = np.concatenate(([0.0], np.diff(log_close)))
    out[:, 0] = ret_1
    for column, lag in ((1, 24), (2, 72)):
        out[lag:, column] = log_close[lag:] - log_close[:-lag]
    out[:, 3] = np.sqrt(_ewm(ret_1, 24)[1])
    out[:, 4] = np.sqrt(_ewm(ret_1, 168)[1])
    fast, slow = _ewm(close, 12)[0], _ewm(close, 48)[0]
    out[:, 5] = (fast - slow) / slow
    out[:, 6] = _ewm((high - low) / close, 24)[0]
    mean, std = _rolling(close, 48)
    flat = std <= close * 1e-9
    out[:, 7] = np.where(flat, 0.0, (close - mean) / np.where(flat, 1.0, std))
    vmean = _ewm(volume, 24)[0]
    out[:, 8] = np.where(vmean > 0, volume / np.where(vmean > 0, vmean, 1.0), 1.0)
    return out


def _ewm(x: npt.NDArray[np.float64], span: int) -> tuple[npt.NDArray[np.float64], ...]:
    alpha = _alpha(span)
    mean = np.empty_like(x)
    var = np.empty_like(x)
    m, v = x[0], 0.0
    mean[0], var[0] = m, v
    for i in range(1, x.shape[0]):
        delta = x[i] - m
        m += alpha * delta
        v = (1.0 - alpha) * (v + alpha * delta * delta)
        mean[i], var[i] = m, v
    return mean, var


def _rolling(x: npt.NDArray[np.float64], window: int) -> tuple[npt.NDArray[np.float64], ...]:
    counts = np.minimum(np.arange(1, x.shape[0] + 1), window)
    csum = np.cumsum(np.concatenate(([0.0], x)))
    csq = np.cumsum(np.concatenate(([0.0], x * x)))
    hi = np.arange(1, x.shape[0] + 1)
    lo = hi - counts
    mean = (csum[hi] - csum[lo]) / counts
    var = np.maximum((csq[hi] - csq[lo]) / counts - mean * mean, 0.0)
    return mean, np.sqrt(var)
