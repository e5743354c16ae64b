"""Mean Reversion: buys stretched drops back toward the 48-bar mean in calm markets; NEUTRAL only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    VOL_24,
    VOL_168,
    ZSCORE_48,
    Columns,
    Held,
    Rule,
    Rules,
    Values,
)

__all__ = ["MeanReversion", "MeanReversionSettings"]


@dataclass(frozen=True)
class MeanReversionSettings:
    entry_zscore: float = -3.0  # three deviations under the 48-bar mean: hourly costs eat less
    max_vol_ratio: float = 1.0  # only while short-term volatility is at or under its weekly level
    exit_zscore: float = 0.0  # back at the mean
    stop_ranges: float = 3.0
    max_hours: float = 48.0


class MeanReversion(Rules):
    name = "mean_reversion"
    regimes = frozenset({Regime.NEUTRAL})

    def __init__(self, settings: MeanReversionSettings | None = None) -> None:
        super().__init__()
        s = self.settings = settings or MeanReversionSettings()
        self.stop_ranges, self.max_hours = s.stop_ranges, s.max_hours

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        s = self.settings
        calm = (f[VOL_168] > 0) & (f[VOL_24] <= s.max_vol_ratio * f[VOL_168])
        return (("stretched below mean", calm & (f[ZSCORE_48] <= s.entry_zscore)),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("back at the mean", f[ZSCORE_48] >= self.settings.exit_zscore),)
