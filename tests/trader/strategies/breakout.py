"""Volume Breakout: buys a day's strong move on heavy volume in an uptrend; a seventh strategy,
written as the README's "Adding a strategy" shows: each rule once, the rest as data."""

from __future__ import annotations

from collections.abc import Sequence

from krakenops.trader.regime import Regime
from krakenops.trader.strategies import Held, Rules
from krakenops.trader.strategies.base import RET_24, TREND, VOLUME_RATIO, ZSCORE_48
from krakenops.trader.strategies.rules import Columns, Rule, Values


class VolumeBreakout(Rules):
    name = "volume_breakout"
    regimes = frozenset({Regime.RISK_ON, Regime.NEUTRAL})
    stop_ranges = 6.0  # the entry's stop, in average hourly ranges under the close ...
    trail_ranges = 6.0  # ... trailing the peak from then on
    target_ranges = 12.0  # take profit this far over the entry
    max_hours = 96.0

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        breakout = (f[VOLUME_RATIO] >= 1.5) & (f[RET_24] >= 0.02) & (f[TREND] > 0)
        return (("breakout on volume", breakout),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("back under the mean", f[ZSCORE_48] < -1.0),)
