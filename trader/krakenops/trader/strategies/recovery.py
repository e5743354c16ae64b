"""Recovery Re-Entry: buys the first stabilising bounces after a panic, as the market turns NEUTRAL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RET_1,
    RET_72,
    TREND,
    VOL_24,
    VOL_168,
    Columns,
    Held,
    Rule,
    Rules,
    Signal,
    Step,
    Values,
)

__all__ = ["RecoveryReEntry", "RecoveryReEntrySettings"]


@dataclass(frozen=True)
class RecoveryReEntrySettings:
    max_ret_72: float = -0.08  # still well under where it was before the panic: a dip to buy
    min_ret_1: float = 0.0  # the bar that closed was up: the selling has paused
    max_vol_ratio: float = 1.5  # and volatility is settling back toward normal
    stop_ranges: float = 4.0
    target_ranges: float = 6.0
    min_hours_for_trend_exit: float = 24.0
    max_hours: float = 120.0


class RecoveryReEntry(Rules):
    """Active only in a NEUTRAL regime reached from PANIC (the selector asks the regime engine)."""

    name = "recovery_reentry"
    regimes = frozenset({Regime.NEUTRAL})

    def __init__(self, settings: RecoveryReEntrySettings | None = None) -> None:
        super().__init__()
        s = self.settings = settings or RecoveryReEntrySettings()
        self.stop_ranges, self.target_ranges = s.stop_ranges, s.target_ranges
        self.max_hours = s.max_hours

    def entries(self, step: Step) -> list[Signal]:
        # A replay reads the rules ahead without this: the selector activates it only then.
        return super().entries(step) if step.recovering else []

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        s = self.settings
        settling = (f[VOL_168] > 0) & (f[VOL_24] <= s.max_vol_ratio * f[VOL_168])
        bounce = (f[RET_72] <= s.max_ret_72) & (f[RET_1] > s.min_ret_1) & settling
        return (("post-panic bounce", bounce),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        failed = (held.hours >= self.settings.min_hours_for_trend_exit) & (f[TREND] < 0)
        return (("recovery failed", failed),)
