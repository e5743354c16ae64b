"""A replay's market known ahead: its steps, each symbol's bars and features, phases and regimes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.core.features import WARMUP_BARS, batch_features
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.window import DowntimeWindow
from krakenops.trader.market import Bar, KnownFeatures
from krakenops.trader.regime import (
    MarketState,
    Regime,
    RegimePath,
    RegimeSettings,
    market_states,
    regime_path,
)

__all__ = ["ReplayedRegime", "SymbolSeries", "Timeline"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SymbolSeries:
    """One symbol's bars laid on the replay's steps, with every bar's features."""

    bars: Bars
    step_of_row: I64  # the step of each bar
    row_at: I64  # the row of the symbol's bar at each step; -1 where it has none
    features: F64  # a row per bar, as FeatureState would have folded them
    last_close: F64  # the close of the latest bar at or before each step; NaN before the first

    @property
    def warm_at(self) -> Mask:
        """Steps at which the symbol has a bar and its features are warm."""
        return self.row_at >= WARMUP_BARS - 1

    def bar(self, row: int) -> Bar:
        b = self.bars
        # item() gives the Python number straight, without a NumPy scalar in between.
        return Bar(
            b.time.item(row),
            b.open.item(row),
            b.high.item(row),
            b.low.item(row),
            b.close.item(row),
            b.volume.item(row),
        )


@dataclass(frozen=True)
class Timeline:
    """Everything about a replay that trading cannot change, computed once before it starts."""

    opens: I64  # bar open time of each step: every hour at least one symbol has a bar
    closes: I64  # when each step runs: its bars' close
    series: dict[str, SymbolSeries]  # in the order the bars were given
    trading: Mask  # whether each step's close falls in the window's trading phase
    regimes: RegimePath  # the regime engine's answer after each step

    @classmethod
    def build(
        cls,
        bars: Mapping[str, Bars],
        window: DowntimeWindow,
        regime: RegimeSettings | None = None,
    ) -> Timeline:
        given = {symbol: b for symbol, b in bars.items() if len(b)}
        if not given:
            raise ValueError("a replay needs at least one symbol with bars")
        # Each series is sorted and unique already: merging them needs a sort, not a hash.
        merged = np.sort(np.concatenate([b.time for b in given.values()]), kind="stable")
        opens = merged[np.diff(merged, prepend=merged[0] - 1) != 0]
        steps = len(opens)
        series: dict[str, SymbolSeries] = {}
        for symbol, b in given.items():
            step_of_row = np.searchsorted(opens, b.time)
            row_at = np.full(steps, -1, dtype=np.int64)
            row_at[step_of_row] = np.arange(len(b))
            # The latest bar at or before each step: a running maximum of the rows seen.
            latest = np.maximum.accumulate(row_at)
            last_close = np.where(latest >= 0, b.close[np.maximum(latest, 0)], np.nan)
            series[symbol] = SymbolSeries(b, step_of_row, row_at, batch_features(b), last_close)
        aligned = []
        for s in series.values():
            rows = np.zeros((steps, s.features.shape[1]))
            rows[s.step_of_row] = s.features
            aligned.append(rows)
        states = market_states(aligned, [s.warm_at for s in series.values()])
        closes = opens + BAR_SECONDS
        return cls(opens, closes, series, window.trading_mask(closes), regime_path(states, regime))

    def __len__(self) -> int:
        return int(self.opens.shape[0])

    def bar_counts(self) -> I64:
        """How many symbols have a bar at each step."""
        counts = np.zeros(len(self), dtype=np.int64)
        for s in self.series.values():
            counts += s.row_at >= 0
        return counts

    def step(self, index: int) -> tuple[dict[str, Bar], KnownFeatures]:
        """The bars of one step by symbol, and their features with whether each is warm."""
        bars: dict[str, Bar] = {}
        known: dict[str, tuple[tuple[float, ...], bool]] = {}
        for symbol, s in self.series.items():
            row = s.row_at.item(index)
            if row >= 0:
                bars[symbol] = s.bar(row)
                known[symbol] = (tuple(s.features[row].tolist()), row >= WARMUP_BARS - 1)
        return bars, known


class ReplayedRegime:
    """The regime engine's answers for a replay, read back from its path at the current step."""

    reads_market = False  # the readings went into the path before the replay began

    def __init__(self, path: RegimePath) -> None:
        self._path = path
        self.regime = Regime.NEUTRAL
        self.recovering = False
        self.changes = path.changes  # over the whole replay: a live engine counts them as they come

    def at(self, index: int) -> None:
        """Move to the regime after step `index`."""
        self.regime = self._path.regimes[index]
        self.recovering = self._path.recovering[index]

    def update(self, state: MarketState) -> Regime:
        """Never called (see `reads_market`): the reading went into the path already."""
        return self.regime
