"""The six strategies, their shared vocabulary, and the selector that activates at most two."""

from __future__ import annotations

from krakenops.trader.strategies.base import Signal, SignalKind, Step, Strategy, SymbolView
from krakenops.trader.strategies.hedge import DefensiveHedge
from krakenops.trader.strategies.recovery import RecoveryReEntry
from krakenops.trader.strategies.reversion import MeanReversion
from krakenops.trader.strategies.rules import Ahead, Held, Rules
from krakenops.trader.strategies.selector import MAX_ACTIVE, Selection, StrategySelector
from krakenops.trader.strategies.stable import StableAllocator
from krakenops.trader.strategies.swing import VolatilitySwing
from krakenops.trader.strategies.trend import TrendFollower

__all__ = [
    "MAX_ACTIVE",
    "Ahead",
    "DefensiveHedge",
    "Held",
    "MeanReversion",
    "RecoveryReEntry",
    "Rules",
    "Selection",
    "Signal",
    "SignalKind",
    "StableAllocator",
    "Step",
    "Strategy",
    "StrategySelector",
    "SymbolView",
    "TrendFollower",
    "VolatilitySwing",
    "default_strategies",
]


def default_strategies() -> dict[str, Strategy]:
    """A fresh instance of each strategy by name, in STRATEGY_NAMES order."""
    strategies: list[Strategy] = [
        TrendFollower(),
        VolatilitySwing(),
        MeanReversion(),
        DefensiveHedge(),
        StableAllocator(),
        RecoveryReEntry(),
    ]
    return {s.name: s for s in strategies}
