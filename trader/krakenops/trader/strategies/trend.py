"""Trend Follower: rides established uptrends for days, with a trailing stop; RISK_ON only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RET_72,
    TREND,
    ZSCORE_48,
    Columns,
    Held,
    Rule,
    Rules,
    Values,
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


class TrendFollower(Rules):
    name = "trend_follower"
    regimes = frozenset({Regime.RISK_ON})

    def __init__(self, settings: TrendFollowerSettings | None = None) -> None:
        super().__init__()
        s = self.settings = settings or TrendFollowerSettings()
        self.stop_ranges = self.trail_ranges = s.stop_ranges
        self.max_hours, self.max_positions = s.max_hours, s.max_positions

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        s = self.settings
        uptrend = (
            (f[TREND] >= s.entry_trend)
            & (f[RET_72] >= s.min_ret_72)
            & (f[ZSCORE_48] <= s.max_zscore)
        )
        return (("uptrend", uptrend),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("trend ended", f[TREND] < self.settings.exit_trend),)
