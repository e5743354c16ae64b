"""Per-symbol features, each stated once: folded in O(1) a bar live, or over a whole history."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

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

F64 = npt.NDArray[np.float64]
V = TypeVar("V", float, F64)  # one bar's value, or every bar's

# Bump when a feature's definition changes: a model trained on one schema is refused by another.
FEATURE_SCHEMA_VERSION = "features-v1"
WARMUP_BARS = 168  # bars before every feature has seen enough history to be meaningful


def _define(p: _Primitives[V], high: V, low: V, close: V, volume: V) -> dict[str, V]:
    """The features by name, in the order models read them: of one bar, or of every bar at once.

    Arithmetic is written with operators, alike on floats and arrays; whatever reads past bars
    or branches is a primitive of `p`, stated for one bar and for every bar side by side.
    """
    ret_1 = p.log_return(close, 1)
    fast, slow = p.ewm(close, 12), p.ewm(close, 48)
    return {
        "ret_1": ret_1,
        "ret_24": p.log_return(close, 24),  # momentum over a day
        "ret_72": p.log_return(close, 72),  # and over three
        "vol_24": p.ew_std(ret_1, 24),
        "vol_168": p.ew_std(ret_1, 168),  # a week
        "trend": (fast - slow) / slow,
        "range_24": p.ewm((high - low) / close, 24),
        "zscore_48": p.zscore(close, 48),
        "volume_ratio": p.ratio(volume, p.ewm(volume, 24)),
    }


# The primitives. `running` folds one value a bar: a generator, started by next() and then sent
# each value, that yields its result and keeps its state in its locals (the cheapest state Python
# has: the fold runs for every symbol every bar). `whole` writes every value's result to `out`.
# The two agree bit for bit (on x86-64) by doing the same floating point operations in the same
# order: the recursions are written in the order of the filter `whole` runs (see `_filter`), logs
# come from the C library in both, and window sums from block totals added alike (see `_ZScore`).

_Fold = Generator[float, float, None]


class _LogReturn:
    """log(x / x `lag` bars back); zero until there is such a bar."""

    def __init__(self, lag: int) -> None:
        self.lag = lag

    def running(self) -> _Fold:
        log, lag, past = math.log, self.lag, deque[float](maxlen=self.lag)
        ret = 0.0
        while True:
            x = yield ret
            ret = log(x / past[0]) if len(past) == lag else 0.0
            past.append(x)

    def whole(self, x: F64, out: F64) -> F64:
        # The C library's log, the one math.log calls (NumPy's own SIMD log may differ from it in
        # the last bit on some CPUs): xlogy(1, ratio) is 1 x log(ratio).
        from scipy.special import xlogy

        lag = self.lag
        out[:lag] = 0.0
        if x.shape[0] > lag:
            xlogy(1.0, np.divide(x[lag:], x[:-lag], out=out[lag:]), out=out[lag:])
        return out


class _Ewm:
    """The exponentially weighted mean over `span`, started at the first value."""

    def __init__(self, span: int) -> None:
        self.alpha = 2.0 / (span + 1.0)
        self.decay = 1.0 - self.alpha

    def running(self) -> _Fold:
        alpha, decay = self.alpha, self.decay
        mean = yield 0.0
        while True:
            x = yield mean
            mean = decay * mean + alpha * x

    def whole(self, x: F64, out: F64) -> F64:
        return _filter(self.alpha, self.decay, x, float(x[0]), out)


class _EwStd(_Ewm):
    """The exponentially weighted std over `span`, unadjusted and biased: zero at first."""

    def running(self) -> _Fold:
        # variance = decay x variance + (decay x alpha) x delta^2, delta from the previous mean
        alpha, decay, sqrt = self.alpha, self.decay, math.sqrt
        gain = decay * alpha
        mean, variance = (yield 0.0), 0.0
        while True:
            x = yield sqrt(variance)
            delta = x - mean
            mean = decay * mean + alpha * x
            variance = decay * variance + gain * (delta * delta)

    def whole(self, x: F64, out: F64) -> F64:
        mean = super().whole(x, np.empty(x.shape[0]))
        deltas = np.empty_like(mean)
        deltas[0] = 0.0  # never read: the first value has no previous mean
        np.subtract(x[1:], mean[:-1], out=deltas[1:])
        np.multiply(deltas, deltas, out=deltas)
        return np.sqrt(_filter(self.decay * self.alpha, self.decay, deltas, 0.0, mean), out=out)


class _ZScore:
    """(x - mean) / std of the last `width` values (all of them at first); zero if flat.

    The window's sums come from block totals: the values are cut into blocks of `width`, each
    summed in sequence from its first value, and a window is the tail of the previous block plus
    the head of its own. Totals that never run past a block stay as exact at the millionth bar
    as at the first: running totals would grow with the history, and their rounding errors too.
    """

    def __init__(self, width: int) -> None:
        self.width = width

    def running(self) -> _Fold:
        width, sqrt = self.width, math.sqrt
        # (sum, sum of squares) of the block after each of the last `width` values and before them
        totals = deque([(0.0, 0.0)], maxlen=width + 1)
        total = squares = block = block_squares = 0.0
        seen, score = 0, 0.0
        while True:
            x = yield score
            if seen % width:
                total += x
                squares += x * x
            else:  # a block ends: the totals start again from this value
                block, block_squares, total, squares = total, squares, x, x * x
            seen += 1
            totals.append((total, squares))
            before, squares_before = totals[0]
            n = seen if seen < width else width
            mean = ((block - before) + total) / n
            variance = ((block_squares - squares_before) + squares) / n - mean * mean
            std = sqrt(max(variance, 0.0))
            score = (x - mean) / std if std > x * 1e-9 else 0.0  # a flat window has no spread

    def whole(self, x: F64, out: F64) -> F64:
        n, width = x.shape[0], self.width
        blocks = np.zeros((-(-n // width), width))  # the last block is padded with zeros
        totals = np.empty_like(blocks)
        values, scratch = blocks.reshape(-1)[:n], totals.reshape(-1)[:n]
        values[:] = x
        mean = _window_means(blocks, totals, n, np.empty(n))
        np.multiply(x, x, out=values)
        blocks.reshape(-1)[n:] = 0.0
        std = _window_means(blocks, totals, n, values)
        np.subtract(std, np.multiply(mean, mean, out=scratch), out=std)
        np.sqrt(np.maximum(std, 0.0, out=std), out=std)
        spread = std > np.multiply(x, 1e-9, out=scratch)
        np.divide(np.subtract(x, mean, out=mean), std, out=out, where=spread)
        out[~spread] = 0.0
        return out


class _Ratio:
    """a / b, or 1 where b is not positive: there is nothing to compare against."""

    @staticmethod
    def running(a: float, b: float) -> float:
        return a / b if b > 0 else 1.0

    @staticmethod
    def whole(a: F64, b: F64, out: F64) -> F64:
        positive = b > 0
        np.divide(a, b, out=out, where=positive)
        out[~positive] = 1.0
        return out


_Primitive = _LogReturn | _Ewm | _ZScore


def _filter(gain: float, decay: float, x: F64, first: float, out: F64) -> F64:
    """out[0] = first, then out[i] = decay x out[i - 1] + gain x x[i], rounded as `running` does.

    SciPy's direct form II transposed filter computes out[i] = state + gain x x[i] and then
    state = decay x out[i] (as -(-decay) x out[i], the same number): the recursions of the
    running forms are written in that order of operations, so the two round alike.
    """
    from scipy.signal import lfilter

    out[0] = first
    out[1:] = lfilter([gain], [1.0, -decay], x[1:], zi=[decay * first])[0]
    return out


def _window_means(blocks: F64, totals: F64, n: int, out: F64) -> F64:
    """The means of the first n windows of `blocks` (blocks x width values); overwrites both.

    A window's sum is (its previous block's last total - its total at the same place) + the
    block's own total so far, rounded as `running` adds: the first block has no previous one.
    """
    width = blocks.shape[1]
    np.cumsum(blocks, axis=1, out=totals)  # in sequence, as `running` accumulates
    np.subtract(totals[:-1, -1:], totals[:-1], out=blocks[1:])
    np.add(blocks[1:], totals[1:], out=blocks[1:])
    blocks[0] = totals[0]
    sums = blocks.reshape(-1)
    head = min(n, width)  # the windows of fewer values than `width`
    np.divide(sums[:head], np.arange(1.0, head + 1.0), out=out[:head])
    np.divide(sums[head:n], float(width), out=out[head:])
    return out


class _Primitives(Generic[V]):
    """What `_define` is stated in; each evaluator says how a primitive is applied."""

    def log_return(self, x: V, lag: int, /) -> V:
        return self.apply(_LogReturn(lag), x)

    def ewm(self, x: V, span: int, /) -> V:
        return self.apply(_Ewm(span), x)

    def ew_std(self, x: V, span: int, /) -> V:
        return self.apply(_EwStd(span), x)

    def zscore(self, x: V, width: int, /) -> V:
        return self.apply(_ZScore(width), x)

    def apply(self, primitive: _Primitive, x: V) -> V:
        raise NotImplementedError

    def ratio(self, a: V, b: V) -> V:
        raise NotImplementedError


class _Trace(_Primitives[float]):
    """`_define` on a made-up bar: its primitives in order, and each call's result as an object
    of its own, to tell which features are a call's result as it is."""

    def __init__(self) -> None:
        self.primitives: list[_Primitive] = []
        self.results: list[float] = []

    def apply(self, primitive: _Primitive, x: float) -> float:
        self.primitives.append(primitive)
        return self.ratio(x, x)

    def ratio(self, a: float, b: float) -> float:
        self.results.append(1.0 + len(self.results))  # computed: a new object, not a constant
        return self.results[-1]


_trace = _Trace()
_features = _define(_trace, 3.0, 1.0, 2.0, 1.0)
FEATURE_NAMES: tuple[str, ...] = tuple(_features)
_PRIMITIVES = tuple(_trace.primitives)
# The column of the feature each call's result is as it is, for `whole` to write it there: held
# apart, the columns would raise the batch's peak memory past what the allocator keeps for reuse.
_COLUMN_OF_CALL = {
    call: column
    for column, feature in enumerate(_features.values())
    for call, result in enumerate(_trace.results)
    if feature is result
}
_COPIED = [column for column in range(len(FEATURE_NAMES)) if column not in _COLUMN_OF_CALL.values()]
del _trace, _features


class _Running(_Primitives[float]):
    """One bar of one symbol: the n-th primitive `_define` calls is the n-th running form."""

    def __init__(self) -> None:
        self.sends: list[Callable[[float], float]] = []
        for primitive in _PRIMITIVES:
            running = primitive.running()
            next(running)
            self.sends.append(running.send)
        self.next = iter(self.sends).__next__

    def _send(self, x: float, _: int, /) -> float:
        return self.next()(x)

    # Every symbol, every bar: straight to the running form, no primitive made.
    log_return = ewm = ew_std = zscore = _send
    ratio = staticmethod(_Ratio.running)


class _Whole(_Primitives[F64]):
    """Every bar at once: each primitive's `whole`, writing to its feature's column if it is one."""

    def __init__(self, out: F64) -> None:
        self.out, self.calls = out, 0

    def _target(self) -> F64:
        column = _COLUMN_OF_CALL.get(self.calls)
        self.calls += 1
        return np.empty(self.out.shape[0]) if column is None else self.out[:, column]

    def apply(self, primitive: _Primitive, x: F64) -> F64:
        return primitive.whole(x, self._target())

    def ratio(self, a: F64, b: F64) -> F64:
        return _Ratio.whole(a, b, self._target())


class FeatureState:
    """The running state of one symbol's features; `update` takes a bar and returns the vector."""

    __slots__ = ("_running", "bars", "vector")

    def __init__(self) -> None:
        self._running = _Running()
        self.bars = 0
        self.vector = np.zeros(len(FEATURE_NAMES))

    @property
    def warm(self) -> bool:
        return self.bars >= WARMUP_BARS

    def update(self, high: float, low: float, close: float, volume: float) -> F64:
        """Fold one bar in and return the feature vector (shared array, overwritten next bar)."""
        self.vector[:] = self.fold(high, low, close, volume)
        return self.vector

    def fold(self, high: float, low: float, close: float, volume: float) -> tuple[float, ...]:
        """Fold one bar in and return the features as a tuple of floats, in FEATURE_NAMES order.

        The trader reads features a few at a time, every bar: indexing a tuple of floats costs a
        fraction of indexing an array, whose every item is boxed into a NumPy scalar.
        """
        if close <= 0.0:
            # Refused before any running form sees it: a generator that raises is over for good.
            raise ValueError(f"close {close!r} is not a positive price")
        self.bars += 1
        running = self._running
        running.next = iter(running.sends).__next__
        return tuple(_define(running, high, low, close, volume).values())


def batch_features(bars: Bars) -> F64:
    """Every bar's feature vector, computed from the whole history at once (rows align with bars).

    Equal bit for bit to folding the same bars one by one into a fresh FeatureState (on x86-64).
    """
    out = np.empty((len(bars), len(FEATURE_NAMES)))
    if len(bars):
        features = list(_define(_Whole(out), bars.high, bars.low, bars.close, bars.volume).values())
        for column in _COPIED:
            out[:, column] = features[column]
    return out
