"""Recovery Re-Entry: buys the first stabilising bounces after a panic, as the market turns NEUTRAL."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RANGE_24,
    RET_1,
    RET_72,
    TREND,
    VOL_24,
    VOL_168,
    Ahead,
    Signal,
    SignalKind,
    Step,
    SymbolView,
    Watch,
    nowhere,
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


class RecoveryReEntry:
    """Active only in a NEUTRAL regime reached from PANIC (the selector asks the regime engine)."""

    name = "recovery_reentry"
    regimes = frozenset({Regime.NEUTRAL})

    def __init__(self, settings: RecoveryReEntrySettings | None = None) -> None:
        self.settings = settings or RecoveryReEntrySettings()

    def entries(self, step: Step) -> list[Signal]:
        if not step.recovering:
            return []
        s = self.settings
        signals: list[Signal] = []
        for symbol, market in step.markets.items():
            if symbol in step.portfolio.positions:
                continue
            f = market.features
            settling = f[VOL_168] > 0 and f[VOL_24] <= s.max_vol_ratio * f[VOL_168]
            if f[RET_72] <= s.max_ret_72 and f[RET_1] > s.min_ret_1 and settling:
                stop = market.close * (1.0 - s.stop_ranges * f[RANGE_24])
                signals.append(
                    Signal(self.name, symbol, SignalKind.ENTER, stop, reason="post-panic bounce")
                )
        return signals

    def watch(self, features: npt.NDArray[np.float64], close: npt.NDArray[np.float64]) -> Watch:
        # Whether the market is recovering is the selector's question: it activates this rule.
        s = self.settings
        vol_168 = features[:, VOL_168]
        settling = (vol_168 > 0) & (features[:, VOL_24] <= s.max_vol_ratio * vol_168)
        enter = (
            (features[:, RET_72] <= s.max_ret_72) & (features[:, RET_1] > s.min_ret_1) & settling
        )
        return Watch(enter, nowhere(close), None)

    def exit_ahead(self, position: Position, ahead: Ahead) -> int:
        s = self.settings
        target = position.entry_price * (1.0 + s.target_ranges * ahead.features[:, RANGE_24])
        held = (ahead.time - position.opened_at) / 3600.0
        return ahead.first(
            (ahead.close <= position.stop_price)
            | (ahead.close >= target)
            | ((held >= s.min_hours_for_trend_exit) & (ahead.features[:, TREND] < 0))
            | (held >= s.max_hours)
        )

    def catch_up(self, position: Position, ahead: Ahead, bars: int) -> None:
        """Its exit rule changes nothing until it fires."""

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        s = self.settings
        f = market.features
        held = position.hours_held(market.time)
        if market.close <= position.stop_price:
            reason = "stop"
        elif market.close >= position.entry_price * (1.0 + s.target_ranges * f[RANGE_24]):
            reason = "target"
        elif held >= s.min_hours_for_trend_exit and f[TREND] < 0:
            reason = "recovery failed"
        elif held >= s.max_hours:
            reason = "time limit"
        else:
            return None
        return Signal(self.name, position.symbol, SignalKind.EXIT, reason=reason)
