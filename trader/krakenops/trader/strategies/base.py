"""What every strategy sees and says: the step's market, the book, and signals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.execution.orders import Side
from krakenops.trader.portfolio import Portfolio, Position
from krakenops.trader.regime import Regime

__all__ = [
    "RANGE_24",
    "RET_1",
    "RET_24",
    "RET_72",
    "TREND",
    "VOLUME_RATIO",
    "VOL_24",
    "VOL_168",
    "ZSCORE_48",
    "Signal",
    "SignalKind",
    "Step",
    "Strategy",
    "SymbolView",
]

RET_1 = FEATURE_NAMES.index("ret_1")
RET_24 = FEATURE_NAMES.index("ret_24")
RET_72 = FEATURE_NAMES.index("ret_72")
VOL_24 = FEATURE_NAMES.index("vol_24")
VOL_168 = FEATURE_NAMES.index("vol_168")
TREND = FEATURE_NAMES.index("trend")
RANGE_24 = FEATURE_NAMES.index("range_24")
ZSCORE_48 = FEATURE_NAMES.index("zscore_48")
VOLUME_RATIO = FEATURE_NAMES.index("volume_ratio")


class SignalKind(StrEnum):
    ENTER = "enter"  # open a long; carries a stop
    REDUCE = "reduce"  # sell a fraction of a position another rule still owns
    EXIT = "exit"  # sell the whole position


# SymbolView and Step are built every bar: slotted, not frozen, for the cheap __init__ (see Bar).
@dataclass(slots=True)
class SymbolView:
    """One symbol at this step: the bar that just closed and its features."""

    symbol: str
    time: int  # the bar's close, Unix seconds
    close: float
    features: tuple[float, ...]  # in FEATURE_NAMES order
    warm: bool  # enough history for every feature to mean something


@dataclass(frozen=True, slots=True)
class Signal:
    strategy: str
    symbol: str
    kind: SignalKind
    stop_price: float = 0.0  # ENTER only
    fraction: float = 1.0  # REDUCE: the share of the position to sell
    reason: str = ""

    @property
    def side(self) -> Side:
        return Side.BUY if self.kind is SignalKind.ENTER else Side.SELL


@dataclass(slots=True)
class Step:
    """Everything a strategy may read at one decision: no clock, no venue, no files."""

    time: int
    regime: Regime
    recovering: bool  # NEUTRAL reached from PANIC lately
    markets: Mapping[str, SymbolView]  # symbols with a fresh, warm bar this step
    portfolio: Portfolio

    def owned(self, strategy: str) -> list[Position]:
        return [p for p in self.portfolio.positions.values() if p.strategy == strategy]


class Strategy(Protocol):
    """Entry rules apply only while the selector has the strategy active; exit rules always."""

    name: str
    regimes: frozenset[Regime]
    hedges: bool  # its sales are hedges: the position sold down notes when (`hedged_at`)

    def entries(self, step: Step) -> list[Signal]:
        """Signals to open (or, for defensive strategies, to reduce) positions at this step."""
        ...

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        """Whether a position this strategy opened should close now."""
        ...
