"""Defensive Hedge: on a spot venue, a protective short is expressed by selling part of a falling long."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import RET_24, TREND, Signal, SignalKind, Step
from krakenops.trader.strategies.rules import Columns, Rules, Values

__all__ = ["DefensiveHedge"]


class DefensiveHedge(Rules):
    """Reduces exposure and holds the USD it raises; it never shorts and never buys.

    Kraken spot cannot short, so the hedge a futures desk would place against a falling long
    becomes a sale of `fraction` of that long. It is time-limited: each position is hedged at
    most once per `hedge_hours`, and the owning strategy's own rules (re-entries, exits) decide
    what happens to the rest. It owns no position: what it sells is cash, and cash needs no exit.
    """

    name = "defensive_hedge"
    regimes = frozenset({Regime.RISK_OFF, Regime.PANIC})
    hedges = True
    fraction = 0.5  # small: at most half of a position per hedge
    max_ret_24 = -0.02  # the symbol fell at least 2% over the day ...
    max_trend = 0.0  # ... and its fast EMA is under its slow one
    hedge_hours = 24.0  # a hedge lapses after this; a still-falling long may be hedged again

    def reduce_rules(self, f: Columns, close: Values) -> Values:
        return (f[RET_24] <= self.max_ret_24) & (f[TREND] < self.max_trend)

    def entries(self, step: Step) -> list[Signal]:
        signals: list[Signal] = []
        for position, market in self.held(step):
            hedged = position.hedged_at
            if hedged is not None and step.time - hedged < self.hedge_hours * 3600:
                continue
            if self.reduce_rules(market.features, market.close):
                reduce = SignalKind.REDUCE
                reason = "hedge falling long"
                signals.append(
                    Signal(self.name, position.symbol, reduce, 0.0, self.fraction, reason)
                )
        return signals
