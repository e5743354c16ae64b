"""Mean Reversion: buys stretched drops back toward the 48-bar mean in calm markets; NEUTRAL only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RANGE_24,
    VOL_24,
    VOL_168,
    ZSCORE_48,
    Ahead,
    Signal,
    SignalKind,
    Step,
    SymbolView,
    Watch,
    nowhere,
)

__all__ = ["MeanReversion", "MeanReversionSettings"]


@dataclass(frozen=True)
class MeanReversionSettings:
    entry_zscore: float = -3.0  # three deviations under the 48-bar mean: hourly costs eat less
    max_vol_ratio: float = 1.0  # only while short-term volatility is at or under its weekly level
    exit_zscore: float = 0.0  # back at the mean
    stop_ranges: float = 3.0
    max_hours: float = 48.0


class MeanReversion:
    name = "mean_reversion"
    regimes = frozenset({Regime.NEUTRAL})

    def __init__(self, settings: MeanReversionSettings | None = None) -> None:
        self.settings = settings or MeanReversionSettings()

    def entries(self, step: Step) -> list[Signal]:
        s = self.settings
        signals: list[Signal] = []
        for symbol, market in step.markets.items():
            if symbol in step.portfolio.positions:
                continue
            f = market.features
            calm = f[VOL_168] > 0 and f[VOL_24] <= s.max_vol_ratio * f[VOL_168]
            if calm and f[ZSCORE_48] <= s.entry_zscore:
                stop = market.close * (1.0 - s.stop_ranges * f[RANGE_24])
                signals.append(
                    Signal(self.name, symbol, SignalKind.ENTER, stop, reason="stretched below mean")
                )
        return signals

    def watch(self, features: npt.NDArray[np.float64], close: npt.NDArray[np.float64]) -> Watch:
        s = self.settings
        vol_168 = features[:, VOL_168]
        calm = (vol_168 > 0) & (features[:, VOL_24] <= s.max_vol_ratio * vol_168)
        enter = calm & (features[:, ZSCORE_48] <= s.entry_zscore)
        return Watch(enter, nowhere(close), None)

    def exit_ahead(self, position: Position, ahead: Ahead) -> int:
        s = self.settings
        hours = (ahead.time - position.opened_at) / 3600.0
        return ahead.first(
            (ahead.close <= position.stop_price)
            | (ahead.features[:, ZSCORE_48] >= s.exit_zscore)
            | (hours >= s.max_hours)
        )

    def catch_up(self, position: Position, ahead: Ahead, bars: int) -> None:
        """Its exit rule changes nothing until it fires."""

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        s = self.settings
        if market.close <= position.stop_price:
            reason = "stop"
        elif market.features[ZSCORE_48] >= s.exit_zscore:
            reason = "back at the mean"
        elif position.hours_held(market.time) >= s.max_hours:
            reason = "time limit"
        else:
            return None
        return Signal(self.name, position.symbol, SignalKind.EXIT, reason=reason)
