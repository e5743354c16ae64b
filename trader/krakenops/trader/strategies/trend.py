"""Trend Follower: rides established uptrends for days, with a trailing stop; RISK_ON only."""

from __future__ import annotations

from collections.abc import Sequence

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import RET_72, TREND, ZSCORE_48
from krakenops.trader.strategies.rules import Columns, Held, Rule, Rules, Values

__all__ = ["TrendFollower"]


class TrendFollower(Rules):
    name = "trend_follower"
    regimes = frozenset({Regime.RISK_ON})
    entry_trend = 0.006  # EMA 12 at least 0.6% above EMA 48
    min_ret_72 = 0.02  # and up at least 2% over three days
    max_zscore = 2.0  # but not chasing a spike far above its 48-bar mean
    stop_ranges = 8.0  # the stop this many average hourly ranges under the close ...
    trail_ranges = 8.0  # ... and under the peak from then on
    exit_trend = -0.005  # the fast EMA half a percent under the slow one ends it
    max_hours = 21 * 24.0  # days to weeks, never forever
    max_positions = 5

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        uptrend = f[TREND] >= self.entry_trend
        rising = (f[RET_72] >= self.min_ret_72) & (f[ZSCORE_48] <= self.max_zscore)
        return (("uptrend", uptrend & rising),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("trend ended", f[TREND] < self.exit_trend),)
