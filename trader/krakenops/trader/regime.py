"""The regime engine: RISK_ON, NEUTRAL, RISK_OFF or PANIC from market-wide features, with hysteresis."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from krakenops.core.features import FEATURE_NAMES
from krakenops.core.jsonlog import event

__all__ = ["MarketState", "Regime", "RegimeEngine", "RegimeSettings", "market_state"]

log = logging.getLogger(__name__)

_RET_24 = FEATURE_NAMES.index("ret_24")
_RET_72 = FEATURE_NAMES.index("ret_72")
_VOL_24 = FEATURE_NAMES.index("vol_24")
_VOL_168 = FEATURE_NAMES.index("vol_168")
_TREND = FEATURE_NAMES.index("trend")


class Regime(StrEnum):
    RISK_ON = "RISK_ON"
    NEUTRAL = "NEUTRAL"
    RISK_OFF = "RISK_OFF"
    PANIC = "PANIC"


@dataclass(frozen=True, slots=True)
class MarketState:
    """Equal-weighted averages of the per-symbol features the regime is read from."""

    ret_24: float
    ret_72: float
    trend: float
    vol_ratio: float  # short-term over long-term volatility: above 1 the market is heating up


def market_state(vectors: Sequence[npt.NDArray[np.float64]]) -> MarketState:
    """Average the warm symbols' feature vectors into one market-wide reading."""
    n = len(vectors)
    if n == 0:
        raise ValueError("no symbol to read the market from")
    ret_24 = ret_72 = trend = ratio = 0.0
    for v in vectors:
        ret_24 += v[_RET_24]
        ret_72 += v[_RET_72]
        trend += v[_TREND]
        ratio += v[_VOL_24] / v[_VOL_168] if v[_VOL_168] > 0 else 1.0
    return MarketState(ret_24 / n, ret_72 / n, trend / n, ratio / n)


@dataclass(frozen=True)
class RegimeSettings:
    """Thresholds on market-wide features; log returns and fractions, hourly bars."""

    panic_ret_24: float = -0.07  # a 7% market-wide drop in a day is a panic on its own
    panic_ret_24_hot: float = -0.04  # ... and so is 4% while volatility runs hot
    panic_vol_ratio: float = 1.8
    risk_off_trend: float = -0.004
    risk_off_ret_72: float = -0.05
    risk_on_trend: float = 0.004
    risk_on_ret_72: float = 0.02
    # Hysteresis, twice over. A regime holds while its reading stays inside a band wider than the
    # one that entered it (`hold` scales the entry thresholds toward zero) ...
    hold: float = 0.4
    # ... and a new reading must persist this many bars before the regime changes. Panic is
    # confirmed at once, because waiting through a crash is the costly mistake.
    confirm_bars: int = 6
    panic_confirm_bars: int = 1
    # How long after a panic a return to NEUTRAL counts as a recovery (Recovery Re-Entry's cue).
    recovery_bars: int = 72


class RegimeEngine:
    """Classifies each step's market state; changes only after a reading holds for a while."""

    def __init__(self, settings: RegimeSettings | None = None) -> None:
        self.settings = settings or RegimeSettings()
        self.regime = Regime.NEUTRAL
        self.previous: Regime | None = None
        self.bars_in_regime = 0
        self.bars_since_panic: int | None = None
        self.changes = 0
        self._candidate = Regime.NEUTRAL
        self._candidate_bars = 0

    def classify(self, state: MarketState) -> Regime:
        """The regime this reading alone suggests, before hysteresis."""
        s = self.settings
        if state.ret_24 <= s.panic_ret_24 or (
            state.ret_24 <= s.panic_ret_24_hot and state.vol_ratio >= s.panic_vol_ratio
        ):
            return Regime.PANIC
        if state.trend <= s.risk_off_trend or state.ret_72 <= s.risk_off_ret_72:
            return Regime.RISK_OFF
        if state.trend >= s.risk_on_trend and state.ret_72 >= s.risk_on_ret_72:
            return Regime.RISK_ON
        return Regime.NEUTRAL

    @property
    def recovering(self) -> bool:
        """NEUTRAL reached from PANIC not long ago: the window for re-entering after a bottom."""
        return (
            self.regime is Regime.NEUTRAL
            and self.bars_since_panic is not None
            and self.bars_since_panic <= self.settings.recovery_bars
        )

    def holds(self, state: MarketState) -> bool:
        """Whether the current regime's wider band still contains this reading."""
        s, h = self.settings, self.settings.hold
        if self.regime is Regime.PANIC:
            return state.ret_24 <= s.panic_ret_24_hot * h
        if self.regime is Regime.RISK_OFF:
            return state.trend <= s.risk_off_trend * h or state.ret_72 <= s.risk_off_ret_72 * h
        if self.regime is Regime.RISK_ON:
            return state.trend >= s.risk_on_trend * h and state.ret_72 >= s.risk_on_ret_72 * h
        return False

    def update(self, state: MarketState) -> Regime:
        """Fold in one step's reading and return the (possibly unchanged) regime."""
        reading = self.classify(state)
        if reading is not Regime.PANIC and self.holds(state):
            reading = self.regime
        self.bars_in_regime += 1
        if self.bars_since_panic is not None:
            self.bars_since_panic += 1
        if reading is self.regime:
            self._candidate_bars = 0
            return self.regime
        if reading is self._candidate:
            self._candidate_bars += 1
        else:
            self._candidate, self._candidate_bars = reading, 1
        needed = (
            self.settings.panic_confirm_bars
            if reading is Regime.PANIC
            else self.settings.confirm_bars
        )
        if self._candidate_bars >= needed:
            self._change(reading, state)
        return self.regime

    def _change(self, new: Regime, state: MarketState) -> None:
        old = self.regime
        if old is Regime.PANIC:
            self.bars_since_panic = 0
        self.previous, self.regime = old, new
        self.bars_in_regime = 0
        self._candidate_bars = 0
        self.changes += 1
        event(
            log,
            logging.INFO,
            "regime_changed",
            f"regime {old.value} -> {new.value}",
            regime=new.value,
            previous=old.value,
            ret_24=round(state.ret_24, 5),
            ret_72=round(state.ret_72, 5),
            trend=round(state.trend, 5),
            vol_ratio=round(state.vol_ratio, 3),
        )
