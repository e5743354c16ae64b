"""Volatility Swing: buys dips inside uptrends, sized by volatility, re-enters on fresh dips."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.core.marketdata import BAR_SECONDS
from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RANGE_24,
    TREND,
    ZSCORE_48,
    Ahead,
    Signal,
    SignalKind,
    Step,
    SymbolView,
    Watch,
    nowhere,
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


class VolatilitySwing:
    """Position size follows volatility through the stop: the stop sits `stop_ranges` average
    ranges below entry and the risk budget is fixed, so notional shrinks as volatility grows."""

    name = "volatility_swing"
    regimes = frozenset({Regime.RISK_ON, Regime.NEUTRAL})

    def __init__(self, settings: VolatilitySwingSettings | None = None) -> None:
        self.settings = settings or VolatilitySwingSettings()
        self._exits: dict[str, tuple[int, float]] = {}  # symbol -> (time, price) of last exit

    def entries(self, step: Step) -> list[Signal]:
        s = self.settings
        signals: list[Signal] = []
        for symbol, market in step.markets.items():
            if symbol in step.portfolio.positions:
                continue
            f = market.features
            if f[TREND] <= s.min_trend:
                continue
            stop = market.close * (1.0 - s.stop_ranges * f[RANGE_24])
            if f[ZSCORE_48] <= s.dip_zscore:
                signals.append(
                    Signal(self.name, symbol, SignalKind.ENTER, stop, reason="dip in uptrend")
                )
                continue
            last = self._exits.get(symbol)
            if last is None or step.time - last[0] > s.reentry_hours * 3600:
                continue
            if market.close <= last[1] * (1.0 - s.reentry_ranges * f[RANGE_24]):
                signals.append(
                    Signal(self.name, symbol, SignalKind.ENTER, stop, reason="re-entry on dip")
                )
        return signals

    def watch(self, features: npt.NDArray[np.float64], close: npt.NDArray[np.float64]) -> Watch:
        s = self.settings
        dip = features[:, ZSCORE_48] <= s.dip_zscore
        # A re-entry needs a close under an exit price of the last `reentry_hours`, and every
        # exit price is a close of those hours: their highest close bounds it from above.
        hours = math.ceil(s.reentry_hours * 3600 / BAR_SECONDS) + 1
        padded = np.concatenate((np.full(hours - 1, -np.inf), close))
        recent_high = np.lib.stride_tricks.sliding_window_view(padded, hours).max(axis=1)
        factor = 1.0 - s.reentry_ranges * features[:, RANGE_24]
        reentry = (close <= recent_high * factor) | (factor < 0)
        enter = (features[:, TREND] > s.min_trend) & (dip | reentry)
        return Watch(enter, nowhere(close), None)

    def exit_ahead(self, position: Position, ahead: Ahead) -> int:
        s = self.settings
        target = position.entry_price * (1.0 + s.target_ranges * ahead.features[:, RANGE_24])
        hours = (ahead.time - position.opened_at) / 3600.0
        return ahead.first(
            (ahead.close <= position.stop_price)
            | (ahead.close >= target)
            | (ahead.features[:, ZSCORE_48] >= s.exit_zscore)
            | (hours >= s.max_hours)
        )

    def catch_up(self, position: Position, ahead: Ahead, bars: int) -> None:
        """Its exit rule changes nothing until it fires."""

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        s = self.settings
        f = market.features
        reason = None
        if market.close <= position.stop_price:
            reason = "stop"
        elif market.close >= position.entry_price * (1.0 + s.target_ranges * f[RANGE_24]):
            reason = "target"
        elif f[ZSCORE_48] >= s.exit_zscore:
            reason = "swing above the mean"
        elif position.hours_held(market.time) >= s.max_hours:
            reason = "time limit"
        if reason is None:
            return None
        self._exits[position.symbol] = (market.time, market.close)
        return Signal(self.name, position.symbol, SignalKind.EXIT, reason=reason)
