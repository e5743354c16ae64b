"""Mean Reversion: buys stretched drops back toward the 48-bar mean in calm markets; NEUTRAL only."""

from __future__ import annotations

from collections.abc import Sequence

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import VOL_24, VOL_168, ZSCORE_48
from krakenops.trader.strategies.rules import Columns, Held, Rule, Rules, Values

__all__ = ["MeanReversion"]


class MeanReversion(Rules):
    name = "mean_reversion"
    regimes = frozenset({Regime.NEUTRAL})
    entry_zscore = -3.0  # three deviations under the 48-bar mean: hourly costs eat less
    max_vol_ratio = 1.0  # only while short-term volatility is at or under its weekly level
    exit_zscore = 0.0  # back at the mean
    stop_ranges = 3.0
    max_hours = 48.0

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        calm = (f[VOL_168] > 0) & (f[VOL_24] <= self.max_vol_ratio * f[VOL_168])
        return (("stretched below mean", calm & (f[ZSCORE_48] <= self.entry_zscore)),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("back at the mean", f[ZSCORE_48] >= self.exit_zscore),)
