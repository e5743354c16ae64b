"""Volatility Swing: buys dips inside uptrends, sized by volatility, re-enters on fresh dips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RANGE_24,
    TREND,
    ZSCORE_48,
    Columns,
    Held,
    Rule,
    Rules,
    Values,
)

__all__ = ["VolatilitySwing", "VolatilitySwingSettings"]


@dataclass(frozen=True)
class VolatilitySwingSettings:
    min_trend: float = 0.0  # only dips inside an uptrend
    dip_zscore: float = -2.0  # a dip: close this many 48-bar deviations under the mean
    stop_ranges: float = 5.0  # stop under entry, in average hourly ranges: the vol scaling
    target_ranges: float = 8.0  # take profit this far above entry
    exit_zscore: float = 1.0  # ... or once the swing has carried above the mean
    max_hours: float = 72.0
    reentry_hours: float = 48.0  # after an exit, a dip this soon may be bought again ...
    reentry_ranges: float = 1.5  # ... once price is this far under the exit price


class VolatilitySwing(Rules):
    """Position size follows volatility through the stop: the stop sits `stop_ranges` average
    ranges below entry and the risk budget is fixed, so notional shrinks as volatility grows."""

    name = "volatility_swing"
    regimes = frozenset({Regime.RISK_ON, Regime.NEUTRAL})

    def __init__(self, settings: VolatilitySwingSettings | None = None) -> None:
        super().__init__()
        s = self.settings = settings or VolatilitySwingSettings()
        self.stop_ranges, self.target_ranges = s.stop_ranges, s.target_ranges
        self.max_hours, self.memory_hours = s.max_hours, s.reentry_hours

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        s = self.settings
        uptrend = f[TREND] > s.min_trend
        again = close <= exit_price * (1.0 - s.reentry_ranges * f[RANGE_24])
        return (
            ("dip in uptrend", uptrend & (f[ZSCORE_48] <= s.dip_zscore)),
            ("re-entry on dip", uptrend & again),
        )

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("swing above the mean", f[ZSCORE_48] >= self.settings.exit_zscore),)
