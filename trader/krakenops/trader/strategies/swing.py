"""Volatility Swing: buys dips inside uptrends, sized by volatility, re-enters on fresh dips."""

from __future__ import annotations

from collections.abc import Sequence

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import RANGE_24, TREND, ZSCORE_48
from krakenops.trader.strategies.rules import Columns, Held, Rule, Rules, Values

__all__ = ["VolatilitySwing"]


class VolatilitySwing(Rules):
    """Position size follows volatility through the stop: the stop sits `stop_ranges` average
    ranges below entry and the risk budget is fixed, so notional shrinks as volatility grows."""

    name = "volatility_swing"
    regimes = frozenset({Regime.RISK_ON, Regime.NEUTRAL})
    min_trend = 0.0  # only dips inside an uptrend
    dip_zscore = -2.0  # a dip: close this many 48-bar deviations under the mean
    stop_ranges = 5.0  # stop under entry, in average hourly ranges: the vol scaling
    target_ranges = 8.0  # take profit this far above entry
    exit_zscore = 1.0  # ... or once the swing has carried above the mean
    max_hours = 72.0
    memory_hours = 48.0  # after an exit, a dip this soon may be bought again ...
    reentry_ranges = 1.5  # ... once price is this far under the exit price

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        uptrend = f[TREND] > self.min_trend
        again = close <= exit_price * (1.0 - self.reentry_ranges * f[RANGE_24])
        return (
            ("dip in uptrend", uptrend & (f[ZSCORE_48] <= self.dip_zscore)),
            ("re-entry on dip", uptrend & again),
        )

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("swing above the mean", f[ZSCORE_48] >= self.exit_zscore),)
