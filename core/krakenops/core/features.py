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


class _Ewm:
    """Exponentially weighted mean and variance, updated in O(1)."""

    __slots__ = ("alpha", "mean", "seen", "var")

    def __init__(self, span: int) -> None:
        self.alpha = _alpha(span)
        self.mean = 0.0
        self.var = 0.0
        self.seen = False

    def update(self, x: float) -> None:
        if not self.seen:
            self.mean, self.var, self.seen = x, 0.0, True
            return
        delta = x - self.mean
        self.mean += self.alpha * delta
        self.var = (1.0 - self.alpha) * (self.var + self.alpha * delta * delta)


class FeatureState:
    """The running state of one symbol's features; `update` takes a bar and returns the vector."""

    def __init__(self) -> None:
        self._closes: deque[float] = deque(maxlen=73)
        self._window: deque[float] = deque(maxlen=48)
        self._sum = 0.0
        self._sumsq = 0.0
        self._vol_24 = _Ewm(24)
        self._vol_168 = _Ewm(168)
        self._ema_fast = _Ewm(12)
        self._ema_slow = _Ewm(48)
        self._range = _Ewm(24)
        self._volume = _Ewm(24)
        self.bars = 0
        self.vector = np.zeros(len(FEATURE_NAMES))

    @property
    def warm(self) -> bool:
        return self.bars >= WARMUP_BARS

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> npt.NDArray[np.float64]:
        """Fold one bar in and return the feature vector (shared array, overwritten next bar)."""
        closes = self._closes
        ret_1 = math.log(close / closes[-1]) if closes else 0.0
        closes.append(close)
        self.bars += 1
        if len(self._window) == self._window.maxlen:
            old = self._window[0]
            self._sum -= old
            self._sumsq -= old * old
        self._window.append(close)
        self._sum += close
        self._sumsq += close * close
        self._vol_24.update(ret_1)
        self._vol_168.update(ret_1)
        self._ema_fast.update(close)
        self._ema_slow.update(close)
        self._range.update((high - low) / close)
        self._volume.update(volume)

        n = len(self._window)
        mean = self._sum / n
        var = max(self._sumsq / n - mean * mean, 0.0)
        std = math.sqrt(var)
        v = self.vector
        v[0] = ret_1
        v[1] = math.log(close / closes[-25]) if len(closes) > 24 else 0.0
        v[2] = math.log(close / closes[-73]) if len(closes) > 72 else 0.0
        v[3] = math.sqrt(self._vol_24.var)
        v[4] = math.sqrt(self._vol_168.var)
        v[5] = (self._ema_fast.mean - self._ema_slow.mean) / self._ema_slow.mean
        v[6] = self._range.mean
        # A flat window has no spread to measure against; call it zero rather than divide by it.
        v[7] = (close - mean) / std if std > close * 1e-9 else 0.0
        v[8] = volume / self._volume.mean if self._volume.mean > 0 else 1.0
        return v


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
