"""Defensive Hedge: on a spot venue, a protective short is expressed by selling part of a falling long."""

from __future__ import annotations

from dataclasses import dataclass

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import (
    RET_24,
    TREND,
    Columns,
    Rules,
    Signal,
    SignalKind,
    Step,
    Values,
)

__all__ = ["DefensiveHedge", "DefensiveHedgeSettings"]


@dataclass(frozen=True)
class DefensiveHedgeSettings:
    fraction: float = 0.5  # small: at most half of a position per hedge
    max_ret_24: float = -0.02  # the symbol fell at least 2% over the day ...
    max_trend: float = 0.0  # ... and its fast EMA is under its slow one
    hedge_hours: float = 24.0  # a hedge lapses after this; a still-falling long may be hedged again


class DefensiveHedge(Rules):
    """Reduces exposure and holds the USD it raises; it never shorts and never buys.

    Kraken spot cannot short, so the hedge a futures desk would place against a falling long
    becomes a sale of `fraction` of that long. It is time-limited: each position is hedged at
    most once per `hedge_hours`, and the owning strategy's own rules (re-entries, exits) decide
    what happens to the rest. It owns no position: what it sells is cash, and cash needs no exit.
    """

    name = "defensive_hedge"
    regimes = frozenset({Regime.RISK_OFF, Regime.PANIC})

    def __init__(self, settings: DefensiveHedgeSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or DefensiveHedgeSettings()

    def reduce_rules(self, f: Columns, close: Values) -> Values:
        s = self.settings
        return (f[RET_24] <= s.max_ret_24) & (f[TREND] < s.max_trend)

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
            if self.reduce_rules(market.features, market.close):
                signal = Signal(
                    self.name,
                    symbol,
                    SignalKind.REDUCE,
                    fraction=s.fraction,
                    reason="hedge falling long",
                )
                signals.append(signal)
        return signals
