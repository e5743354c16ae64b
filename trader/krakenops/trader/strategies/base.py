"""What every strategy sees and says: the step's market, the book, and signals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.orders import Side
from krakenops.trader.portfolio import Portfolio, Position
from krakenops.trader.regime import Regime

__all__ = [
    "RANGE_24",
    "RET_1",
    "RET_24",
    "RET_72",
    "TREND",
    "VOL_24",
    "VOL_168",
    "ZSCORE_48",
    "Ahead",
    "ExitsAhead",
    "Signal",
    "SignalKind",
    "Step",
    "Strategy",
    "SymbolView",
    "Watch",
    "Watchful",
    "nowhere",
]

RET_1 = FEATURE_NAMES.index("ret_1")
RET_24 = FEATURE_NAMES.index("ret_24")
RET_72 = FEATURE_NAMES.index("ret_72")
VOL_24 = FEATURE_NAMES.index("vol_24")
VOL_168 = FEATURE_NAMES.index("vol_168")
TREND = FEATURE_NAMES.index("trend")
RANGE_24 = FEATURE_NAMES.index("range_24")
ZSCORE_48 = FEATURE_NAMES.index("zscore_48")


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

    def entries(self, step: Step) -> list[Signal]:
        """Signals to open (or, for defensive strategies, to reduce) positions at this step."""
        ...

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        """Whether a position this strategy opened should close now."""
        ...


Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Watch:
    """Where a strategy may act on one symbol, bar by bar, read from its features ahead of time.

    Each mask is a superset: False promises the strategy does nothing at that bar, so a replay
    may skip it; True only means it might. A replay checks these promises against the real rules.
    """

    entries_flat: Mask  # entries() may signal on the symbol while the book does not hold it
    entries_held: Mask  # entries() may signal on the symbol while the book holds it
    exit: Mask | None  # exit() may signal on, or change, a position it owns; None: any bar may


@runtime_checkable
class Watchful(Protocol):
    """A strategy that can say ahead of a replay where it might act; others are asked every bar."""

    def watch(self, features: npt.NDArray[np.float64], close: npt.NDArray[np.float64]) -> Watch:
        """Masks over one symbol's bars; `features` has a row per bar in FEATURE_NAMES order."""
        ...


@dataclass(frozen=True, slots=True)
class Ahead:
    """A held symbol's next bars at which exit rules run, as each would see them one by one."""

    features: npt.NDArray[np.float64]  # a row per bar, in FEATURE_NAMES order
    close: npt.NDArray[np.float64]
    time: npt.NDArray[np.int64]  # each bar's close, Unix seconds (SymbolView.time)
    peak: npt.NDArray[np.float64]  # the position's peak_price once marked at each bar

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def first(self, fires: Mask) -> int:
        """The first bar where `fires` holds; len(self) if none."""
        hits = np.flatnonzero(fires)
        return int(hits[0]) if hits.shape[0] else len(self)


@runtime_checkable
class ExitsAhead(Protocol):
    """A strategy whose exit rule a replay can read ahead for one position."""

    def exit_ahead(self, position: Position, ahead: Ahead) -> int:
        """The first bar of `ahead` at which exit() might act on `position`, left alone until
        then; len(ahead) if none."""
        ...

    def catch_up(self, position: Position, ahead: Ahead, bars: int) -> None:
        """Do to `position` what exit() would have done at the first `bars` bars of `ahead`."""
        ...


def nowhere(close: npt.NDArray[np.float64]) -> Mask:
    """A mask that is False at every bar of the series."""
    return np.zeros(close.shape[0], dtype=np.bool_)
