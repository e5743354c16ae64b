"""Stable Allocator: in a panic, moves the book toward USD, step by step, until it is flat."""

from __future__ import annotations

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import Signal, SignalKind, Step
from krakenops.trader.strategies.rules import Columns, Rules, Values

__all__ = ["StableAllocator"]


class StableAllocator(Rules):
    """De-risks toward USD (Kraken's stable quote here); it opens nothing."""

    name = "stable_allocator"
    regimes = frozenset({Regime.PANIC})
    step_fraction = 0.5  # sell this share of every position each panic bar ...
    flatten_below_usd = 50.0  # ... and close outright what is left under this value
    flatten_drawdown = -0.15  # a position this far under its cost is closed at once

    def reduce_rules(self, f: Columns, close: Values) -> Values:
        return True  # in a panic every holding is sold down, bar after bar

    def entries(self, step: Step) -> list[Signal]:
        signals: list[Signal] = []
        for position, market in self.held(step):
            value = position.quantity * market.close
            entry = position.entry_price
            underwater = entry > 0 and market.close / entry - 1.0 <= self.flatten_drawdown
            if value <= self.flatten_below_usd or underwater:
                signals.append(
                    Signal(self.name, position.symbol, SignalKind.EXIT, reason="flatten to USD")
                )
            else:
                fraction, reason = self.step_fraction, "de-risk to USD"
                kind = SignalKind.REDUCE
                signals.append(Signal(self.name, position.symbol, kind, 0.0, fraction, reason))
        return signals
