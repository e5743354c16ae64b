"""Trend Follower: rides established uptrends for days, with a trailing stop; RISK_ON only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RANGE_24,
    RET_72,
    TREND,
    ZSCORE_48,
    Ahead,
    Signal,
    SignalKind,
    Step,
    SymbolView,
    Watch,
    nowhere,
)

__all__ = ["TrendFollower", "TrendFollowerSettings"]


@dataclass(frozen=True)
class TrendFollowerSettings:
    entry_trend: float = 0.006  # EMA 12 at least 0.6% above EMA 48
    min_ret_72: float = 0.02  # and up at least 2% over three days
    max_zscore: float = 2.0  # but not chasing a spike far above its 48-bar mean
    stop_ranges: float = 8.0  # trailing stop this many average hourly ranges below the peak
    exit_trend: float = -0.005  # the fast EMA half a percent under the slow one ends it
    max_hours: float = 21 * 24.0  # days to weeks, never forever
    max_positions: int = 5


class TrendFollower:
    name = "trend_follower"
    regimes = frozenset({Regime.RISK_ON})

    def __init__(self, settings: TrendFollowerSettings | None = None) -> None:
        self.settings = settings or TrendFollowerSettings()

    def entries(self, step: Step) -> list[Signal]:
        s = self.settings
        room = s.max_positions - len(step.owned(self.name))
        signals: list[Signal] = []
        for symbol, market in step.markets.items():
            if room <= 0:
                break
            if symbol in step.portfolio.positions:
                continue
            f = market.features
            if (
                f[TREND] >= s.entry_trend
                and f[RET_72] >= s.min_ret_72
                and f[ZSCORE_48] <= s.max_zscore
            ):
                stop = market.close * (1.0 - s.stop_ranges * f[RANGE_24])
                signals.append(Signal(self.name, symbol, SignalKind.ENTER, stop, reason="uptrend"))
                room -= 1
        return signals

    def watch(self, features: npt.NDArray[np.float64], close: npt.NDArray[np.float64]) -> Watch:
        s = self.settings
        enter = (
            (features[:, TREND] >= s.entry_trend)
            & (features[:, RET_72] >= s.min_ret_72)
            & (features[:, ZSCORE_48] <= s.max_zscore)
        )
        return Watch(enter, nowhere(close), None)

    def exit_ahead(self, position: Position, ahead: Ahead) -> int:
        s = self.settings
        stop = self._stops(position, ahead)
        hours = (ahead.time - position.opened_at) / 3600.0
        return ahead.first(
            (ahead.close <= stop)
            | (ahead.features[:, TREND] < s.exit_trend)
            | (hours >= s.max_hours)
        )

    def catch_up(self, position: Position, ahead: Ahead, bars: int) -> None:
        if bars:
            position.stop_price = float(self._stops(position, ahead)[bars - 1])

    def _stops(self, position: Position, ahead: Ahead) -> npt.NDArray[np.float64]:
        """The trailing stop after each bar of `ahead`, as exit() raises it bar by bar."""
        trailing = ahead.peak * (1.0 - self.settings.stop_ranges * ahead.features[:, RANGE_24])
        return np.maximum.accumulate(np.maximum(trailing, position.stop_price))

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        s = self.settings
        f = market.features
        trailing = position.peak_price * (1.0 - s.stop_ranges * f[RANGE_24])
        position.stop_price = max(position.stop_price, trailing)  # a trailing stop only ever rises
        if market.close <= position.stop_price:
            return Signal(self.name, position.symbol, SignalKind.EXIT, reason="trailing stop")
        if f[TREND] < s.exit_trend:
            return Signal(self.name, position.symbol, SignalKind.EXIT, reason="trend ended")
        if position.hours_held(market.time) >= s.max_hours:
            return Signal(self.name, position.symbol, SignalKind.EXIT, reason="time limit")
        return None
