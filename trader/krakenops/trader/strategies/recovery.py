"""Recovery Re-Entry: buys the first stabilising bounces after a panic, as the market turns NEUTRAL."""

from __future__ import annotations

from collections.abc import Sequence

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import RET_1, RET_72, TREND, VOL_24, VOL_168, Signal, Step
from krakenops.trader.strategies.rules import Columns, Held, Rule, Rules, Values

__all__ = ["RecoveryReEntry"]


class RecoveryReEntry(Rules):
    """Active only in a NEUTRAL regime reached from PANIC (the selector asks the regime engine)."""

    name = "recovery_reentry"
    regimes = frozenset({Regime.NEUTRAL})
    max_ret_72 = -0.08  # still well under where it was before the panic: a dip to buy
    min_ret_1 = 0.0  # the bar that closed was up: the selling has paused
    max_vol_ratio = 1.5  # and volatility is settling back toward normal
    stop_ranges = 4.0
    target_ranges = 6.0
    min_hours_for_trend_exit = 24.0
    max_hours = 120.0

    def entries(self, step: Step) -> list[Signal]:
        # A replay reads the rules ahead without this: the selector activates it only then.
        return super().entries(step) if step.recovering else []

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        settling = (f[VOL_168] > 0) & (f[VOL_24] <= self.max_vol_ratio * f[VOL_168])
        bounce = (f[RET_72] <= self.max_ret_72) & (f[RET_1] > self.min_ret_1) & settling
        return (("post-panic bounce", bounce),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        failed = (held.hours >= self.min_hours_for_trend_exit) & (f[TREND] < 0)
        return (("recovery failed", failed),)
