"""Stable Allocator: in a panic, moves the book toward USD, step by step, until it is flat."""

from __future__ import annotations

from dataclasses import dataclass

from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import Columns, Rules, Signal, SignalKind, Step, Values

__all__ = ["StableAllocator", "StableAllocatorSettings"]


@dataclass(frozen=True)
class StableAllocatorSettings:
    step_fraction: float = 0.5  # sell this share of every position each panic bar ...
    flatten_below_usd: float = 50.0  # ... and close outright what is left under this value
    flatten_drawdown: float = -0.15  # a position this far under its cost is closed at once


class StableAllocator(Rules):
    """De-risks toward USD (Kraken's stable quote here); it opens nothing."""

    name = "stable_allocator"
    regimes = frozenset({Regime.PANIC})

    def __init__(self, settings: StableAllocatorSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or StableAllocatorSettings()

    def reduce_rules(self, f: Columns, close: Values) -> Values:
        return True  # in a panic every holding is sold down, bar after bar

    def entries(self, step: Step) -> list[Signal]:
        s = self.settings
        signals: list[Signal] = []
        for symbol, position in step.portfolio.positions.items():
            market = step.markets.get(symbol)
            if market is None:
                continue
            value = position.quantity * market.close
            underwater = (
                position.entry_price > 0
                and market.close / position.entry_price - 1.0 <= s.flatten_drawdown
            )
            if value <= s.flatten_below_usd or underwater:
                signals.append(Signal(self.name, symbol, SignalKind.EXIT, reason="flatten to USD"))
            else:
                reason = "de-risk to USD"
                fraction = s.step_fraction
                signals.append(
                    Signal(self.name, symbol, SignalKind.REDUCE, fraction=fraction, reason=reason)
                )
        return signals
