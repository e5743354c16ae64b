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


# Smoothing factors of the running features and their complements; _KA_* is the factor of the
# squared deviation in the variance recursion, (1 - alpha) x alpha.
_A_VOL_24, _A_VOL_168, _A_FAST, _A_SLOW = _alpha(24), _alpha(168), _alpha(12), _alpha(48)
_K_VOL_24, _K_VOL_168 = 1.0 - _A_VOL_24, 1.0 - _A_VOL_168
_K_FAST, _K_SLOW = 1.0 - _A_FAST, 1.0 - _A_SLOW
_KA_VOL_24, _KA_VOL_168 = _K_VOL_24 * _A_VOL_24, _K_VOL_168 * _A_VOL_168
_A_RANGE = _A_VOLUME = _A_VOL_24
_K_RANGE = _K_VOLUME = _K_VOL_24
_WINDOW = 48


class FeatureState:
    """The running state of one symbol's features; `update` takes a bar and returns the vector.

    `fold` and `batch_features` compute the same numbers bit for bit: every recursion is written
    in the order of operations of the filter `batch_features` runs over the whole history (see
    `_filter`), and the 48-bar window's sums come from block totals added as the batch adds them
    (see `_rolling`). The running statistics live in one tuple, unpacked into locals and packed
    back once a bar: `fold` runs for every symbol every bar, and locals cost a fraction of
    attribute access.
    """

    __slots__ = ("_closes", "_stats", "_totals", "bars", "vector")

    def __init__(self) -> None:
        self._closes: deque[float] = deque(maxlen=73)  # ret_72 reads the close 72 bars back
        # Block totals (sum of closes, sum of squared closes since the block began) after each of
        # the last 48 bars and before them; see `_rolling` for how they make the window's sums.
        self._totals: deque[tuple[float, float]] = deque([(0.0, 0.0)], maxlen=_WINDOW + 1)
        # EW mean and variance of ret_1 (spans 24 and 168); EW means of close (spans 12 and 48),
        # of the relative range and of the volume (span 24); sum and sum of squares of the
        # closes of the block under way and of the last complete block.
        self._stats = (0.0,) * 12
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
        (
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
            block,
            block_squares,
        ) = self._stats
        if seen:
            ret_1 = math.log(close / closes[-1])
            # The recursions of _filter, operation for operation: mean K x mean + alpha x value;
            # variance K x variance + (K x alpha) x delta^2, delta taken from the old mean.
            delta = ret_1 - m24
            m24 = _K_VOL_24 * m24 + _A_VOL_24 * ret_1
            vol_24 = _K_VOL_24 * vol_24 + _KA_VOL_24 * (delta * delta)
            delta = ret_1 - m168
            m168 = _K_VOL_168 * m168 + _A_VOL_168 * ret_1
            vol_168 = _K_VOL_168 * vol_168 + _KA_VOL_168 * (delta * delta)
            fast = _K_FAST * fast + _A_FAST * close
            slow = _K_SLOW * slow + _A_SLOW * close
            mean_range = _K_RANGE * mean_range + _A_RANGE * relative_range
            mean_volume = _K_VOLUME * mean_volume + _A_VOLUME * volume
        else:
            # The first bar starts every mean at its value and every variance at zero.
            ret_1 = 0.0
            fast = slow = close
            mean_range = relative_range
            mean_volume = volume
        closes.append(close)
        if seen % _WINDOW:
            total += close
            squares += close * close
        else:
            # Every 48 bars a block ends and the totals start again from this close: they never
            # grow past one window's sums, so their rounding errors do not pile up with uptime.
            block, block_squares = total, squares
            total = close
            squares = close * close
        totals = self._totals
        totals.append((total, squares))
        before, squares_before = totals[0]
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
            block,
            block_squares,
        )

        n = bars if bars < _WINDOW else _WINDOW
        # The window: what the last block added after the bar 48 back, then the block under way.
        mean = ((block - before) + total) / n
        std = math.sqrt(max(((block_squares - squares_before) + squares) / n - mean * mean, 0.0))
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
    """Every bar's feature vector, computed from the whole history at once (rows align with bars).

    Equal bit for bit to folding the same bars one by one into a fresh FeatureState (on x86-64).
    Columns are computed in place through three scratch arrays: on tens of thousands of bars,
    touching the fresh memory of a temporary costs about as much as the arithmetic in it.
    """
    # SciPy is imported here, not with the module: replays run in the trader and trainer images.
    from scipy.special import xlogy

    close, high, low, volume = bars.close, bars.high, bars.low, bars.volume
    n = len(bars)
    out = np.empty((n, len(FEATURE_NAMES)))
    if n == 0:
        return out
    ret_1, ret_24, ret_72, vol_24, vol_168, trend, mean_range, zscore, volume_ratio = out.T
    a, b, c = np.empty(n), np.empty(n), np.empty(n)

    # Log returns take the C library's log, the one math.log calls in `fold` (NumPy's own SIMD
    # log may differ from it in the last bit on some CPUs): xlogy(1, ratio) is 1 x log(ratio).
    returns = a
    returns[0] = 0.0
    xlogy(1.0, np.divide(close[1:], close[:-1], out=b[1:]), out=returns[1:])
    ret_1[:] = returns
    for column, lag in ((ret_24, 24), (ret_72, 72)):
        column[:lag] = 0.0
        if n > lag:
            xlogy(1.0, np.divide(close[lag:], close[:-lag], out=b[lag:]), out=column[lag:])
    for column, alpha, decay, gain in (
        (vol_24, _A_VOL_24, _K_VOL_24, _KA_VOL_24),
        (vol_168, _A_VOL_168, _K_VOL_168, _KA_VOL_168),
    ):
        mean = _ewm(returns, alpha, b)
        # The square of each return's distance from the previous mean; none on the first bar.
        squared = np.subtract(returns[1:], mean[:-1], out=c[1:])
        np.multiply(squared, squared, out=squared)
        np.sqrt(_filter(gain, decay, c, 0.0, b), out=column)

    fast, slow = _ewm(close, _A_FAST, a), _ewm(close, _A_SLOW, b)
    np.divide(np.subtract(fast, slow, out=c), slow, out=trend)
    _ewm(np.divide(np.subtract(high, low, out=a), close, out=a), _A_RANGE, mean_range)
    mean_volume = _ewm(volume, _A_VOLUME, a)
    positive = mean_volume > 0
    np.divide(volume, mean_volume, out=volume_ratio, where=positive)
    volume_ratio[~positive] = 1.0

    mean, std = _rolling(close, _WINDOW, a, b, c)
    flat = std <= close * 1e-9
    np.divide(np.subtract(close, mean, out=a), std, out=zscore, where=~flat)
    zscore[flat] = 0.0  # a flat window has no spread to measure against
    return out


def _filter(
    gain: float,
    decay: float,
    x: npt.NDArray[np.float64],
    first: float,
    out: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """out[0] = first, then out[i] = decay x out[i - 1] + gain x x[i], rounded as `fold` does.

    SciPy's direct form II transposed filter computes out[i] = state + gain x x[i] and then
    state = decay x out[i] (as -(-decay) x out[i], the same number): the recursions in `fold`
    are written in that order of operations, so the two round alike.
    """
    from scipy.signal import lfilter

    out[0] = first
    out[1:] = lfilter([gain], [1.0, -decay], x[1:], zi=[decay * first])[0]
    return out


def _ewm(
    x: npt.NDArray[np.float64], alpha: float, out: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The exponentially weighted mean of x, started at its first value, written to out."""
    return _filter(alpha, 1.0 - alpha, x, float(x[0]), out)


def _rolling(
    x: npt.NDArray[np.float64],
    window: int,
    mean: npt.NDArray[np.float64],
    std: npt.NDArray[np.float64],
    scratch: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean and std of the last `window` values (all of them at first), written to mean and std.

    The window's sums are made from block totals, as in `fold`: the values are cut into blocks of
    `window`, each summed in sequence from its first value (np.cumsum adds in sequence, as `fold`
    accumulates). A window spans the tail of the previous block, that block's last total minus
    its total at the value `window` back, and the head of its own. Totals that never run past one
    block keep the sums as exact at the millionth bar as at the first: running totals over the
    whole history would grow with it, and their rounding errors with them.
    """
    n = x.shape[0]
    blocks = -(-n // window)
    counts = np.minimum(np.arange(1.0, n + 1.0), float(window))
    values = np.zeros((blocks, window))  # the last block is padded with zeros
    flat = values.reshape(-1)
    totals = np.empty_like(values)
    flat[:n] = x
    _window_sums(values, totals, mean)
    np.divide(mean, counts, out=mean)
    np.multiply(x, x, out=flat[:n])
    flat[n:] = 0.0
    _window_sums(values, totals, scratch)
    np.divide(scratch, counts, out=scratch)
    # var = max(sum of squares / n - mean^2, 0)
    np.subtract(scratch, np.multiply(mean, mean, out=std), out=std)
    np.maximum(std, 0.0, out=std)
    return mean, np.sqrt(std, out=std)


def _window_sums(
    values: npt.NDArray[np.float64],
    totals: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None:
    """The sums of each window of `values`, a (blocks, window) array, written to out (flat).

    The first block's windows are its totals; every later one is (the previous block's last
    total - its total at the same place) + the block's own total, rounded in `fold`'s order.
    Overwrites `values` and `totals`.
    """
    np.cumsum(values, axis=1, out=totals)
    np.subtract(totals[:-1, -1:], totals[:-1], out=values[1:])
    np.add(values[1:], totals[1:], out=values[1:])
    values[0] = totals[0]
    out[:] = values.reshape(-1)[: out.shape[0]]
