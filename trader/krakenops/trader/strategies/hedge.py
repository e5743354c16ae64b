"""Defensive Hedge: on a spot venue, a protective short is expressed by selling part of a falling long."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RET_24,
    TREND,
    Signal,
    SignalKind,
    Step,
    SymbolView,
    Watch,
    nowhere,
)

__all__ = ["DefensiveHedge", "DefensiveHedgeSettings"]


@dataclass(frozen=True)
class DefensiveHedgeSettings:
    fraction: float = 0.5  # small: at most half of a position per hedge
    max_ret_24: float = -0.02  # the symbol fell at least 2% over the day ...
    max_trend: float = 0.0  # ... and its fast EMA is under its slow one
    hedge_hours: float = 24.0  # a hedge lapses after this; a still-falling long may be hedged again


class DefensiveHedge:
    """Reduces exposure and holds the USD it raises; it never shorts and never buys.

    Kraken spot cannot short, so the hedge a futures desk would place against a falling long
    becomes a sale of `fraction` of that long. It is time-limited: each position is hedged at
    most once per `hedge_hours`, and the owning strategy's own rules (re-entries, exits) decide
    what happens to the rest.
    """

    name = "defensive_hedge"
    regimes = frozenset({Regime.RISK_OFF, Regime.PANIC})

    def __init__(self, settings: DefensiveHedgeSettings | None = None) -> None:
        self.settings = settings or DefensiveHedgeSettings()

    def entries(self, step: Step) -> list[Signal]:
        s = self.settings
        signals: list[Signal] = []
        for symbol, position in step.portfolio.positions.items():
            market = step.markets.get(symbol)
            if market is None:
                continue
            if (
                position.hedged_at is not None
                and step.time - position.hedged_at < s.hedge_hours * 3600
            ):
                continue
            f = market.features
            if f[RET_24] <= s.max_ret_24 and f[TREND] < s.max_trend:
                signals.append(
                    Signal(
                        self.name,
                        symbol,
                        SignalKind.REDUCE,
                        fraction=s.fraction,
                        reason="hedge falling long",
                    )
                )
        return signals

    def watch(self, features: npt.NDArray[np.float64], close: npt.NDArray[np.float64]) -> Watch:
        s = self.settings
        falling = (features[:, RET_24] <= s.max_ret_24) & (features[:, TREND] < s.max_trend)
        return Watch(nowhere(close), falling, nowhere(close))

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        """It owns no position: what it sells is cash, and cash needs no exit."""
        return None
