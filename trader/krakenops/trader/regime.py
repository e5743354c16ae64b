"""The regime engine: RISK_ON, NEUTRAL, RISK_OFF or PANIC from market-wide features, with hysteresis."""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from krakenops.core.features import FEATURE_NAMES
from krakenops.core.jsonlog import event

__all__ = [
    "REGIME_CODES",
    "MarketState",
    "MarketStates",
    "Regime",
    "RegimeEngine",
    "RegimePath",
    "RegimeSettings",
    "classify_states",
    "holds_states",
    "market_state",
    "market_states",
    "regime_path",
]

log = logging.getLogger(__name__)

_RET_24 = FEATURE_NAMES.index("ret_24")
_RET_72 = FEATURE_NAMES.index("ret_72")
_VOL_24 = FEATURE_NAMES.index("vol_24")
_VOL_168 = FEATURE_NAMES.index("vol_168")
_TREND = FEATURE_NAMES.index("trend")

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


class Regime(StrEnum):
    RISK_ON = "RISK_ON"
    NEUTRAL = "NEUTRAL"
    RISK_OFF = "RISK_OFF"
    PANIC = "PANIC"


@dataclass(slots=True)  # not frozen: one is built every bar (see pipeline.Bar)
class MarketState:
    """Equal-weighted averages of the per-symbol features the regime is read from."""

    ret_24: float
    ret_72: float
    trend: float
    vol_ratio: float  # short-term over long-term volatility: above 1 the market is heating up


def market_state(vectors: Sequence[Sequence[float] | npt.NDArray[np.float64]]) -> MarketState:
    """Average the warm symbols' feature vectors into one market-wide reading."""
    if not vectors:
        raise ValueError("no symbol to read the market from")
    tables = np.array(vectors, dtype=np.float64)[:, None, :]  # one step of each symbol
    state = _readings(tables, np.ones(tables.shape[:2], dtype=np.bool_)).at(0)
    assert state is not None  # every symbol is present: there is a reading
    return state


@dataclass(frozen=True)
class MarketStates:
    """One market-wide reading per replay step, as arrays; `read` is False where no warm symbol had a bar."""

    ret_24: F64
    ret_72: F64
    trend: F64
    vol_ratio: F64
    read: Mask  # where False, the four readings are NaN

    def __len__(self) -> int:
        return int(self.read.shape[0])

    def at(self, step: int) -> MarketState | None:
        """The reading of one step as `market_state` returns it, or None without one."""
        if not self.read[step]:
            return None
        return MarketState(
            float(self.ret_24[step]),
            float(self.ret_72[step]),
            float(self.trend[step]),
            float(self.vol_ratio[step]),
        )


def market_states(features: Sequence[F64], present: Sequence[Mask]) -> MarketStates:
    """The market-wide reading of every step: features[k] is a (T, 9) array of symbol k's
    features aligned on the T steps (rows where present[k] is False are ignored); present[k]
    marks steps where symbol k has a warm bar. Each step's sums run over its present symbols in
    order from 0.0 (an absent symbol adds nothing) and are divided by their count; a live step's
    reading is the same computation over one step (`market_state`).
    """
    if len(features) != len(present):
        raise ValueError(f"{len(features)} feature arrays but {len(present)} presence masks")
    if not features:
        raise ValueError("no symbol to read the market from")
    steps = present[0].shape[0]
    for k, (table, here) in enumerate(zip(features, present, strict=True)):
        if table.shape != (steps, len(FEATURE_NAMES)) or here.shape != (steps,):
            raise ValueError(
                f"symbol {k}: features {table.shape} and presence {here.shape} do not"
                f" match {steps} steps of {len(FEATURE_NAMES)} features"
            )
    return _readings(np.stack(features), np.stack(present))


def _readings(tables: npt.NDArray[np.float64], here: Mask) -> MarketStates:
    """`market_states` of the symbols' tables stacked, a (symbols, steps, 9) array."""
    steps = here.shape[1]
    # Each symbol's four readings: the three features and its volatility ratio, where no
    # long-term volatility reads as a ratio of 1; an absent symbol adds nothing (0.0).
    readings = np.ones((here.shape[0], steps, 4))
    readings[..., :3] = tables[..., [_RET_24, _RET_72, _TREND]]
    with np.errstate(all="ignore"):  # overflow gives inf, as float arithmetic does
        vol_168 = tables[..., _VOL_168]
        np.divide(tables[..., _VOL_24], vol_168, out=readings[..., 3], where=vol_168 > 0)
        readings[~here] = 0.0
        totals = np.zeros((steps, 4))
        for symbol in readings:  # in the symbols' order, as a step adds them
            totals += symbol
        count = here.sum(axis=0)
        read = count > 0
        averages = np.full((steps, 4), np.nan)
        np.divide(totals, count[:, None], out=averages, where=read[:, None])
    return MarketStates(averages[:, 0], averages[:, 1], averages[:, 2], averages[:, 3], read)


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

    # The hold bands, derived from the entry thresholds in this one place (and once: the engine
    # reads them every bar): the engine's `holds` and the vectorised `holds_states` both read them.
    @cached_property
    def hold_panic_ret_24(self) -> float:
        return self.panic_ret_24_hot * self.hold

    @cached_property
    def hold_risk_off_trend(self) -> float:
        return self.risk_off_trend * self.hold

    @cached_property
    def hold_risk_off_ret_72(self) -> float:
        return self.risk_off_ret_72 * self.hold

    @cached_property
    def hold_risk_on_trend(self) -> float:
        return self.risk_on_trend * self.hold

    @cached_property
    def hold_risk_on_ret_72(self) -> float:
        return self.risk_on_ret_72 * self.hold

    def needed(self, reading: Regime) -> int:
        """Bars a new reading must persist before the regime changes to it."""
        return self.panic_confirm_bars if reading is Regime.PANIC else self.confirm_bars


class RegimeEngine:
    """Classifies each step's market state; changes only after a reading holds for a while."""

    reads_market = True

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
        return _BY_CODE[int(classify_states(state, self.settings))]

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
        return bool(holds_states(state, self.settings)[self.regime])

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
        if self._candidate_bars >= self.settings.needed(reading):
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


# The vectorised engine numbers the regimes; _BY_CODE names them back.
_BY_CODE = (Regime.NEUTRAL, Regime.RISK_ON, Regime.RISK_OFF, Regime.PANIC)
_NEUTRAL, _RISK_ON, _RISK_OFF, _PANIC = range(len(_BY_CODE))
REGIME_CODES = _BY_CODE  # what each code of RegimePath.codes stands for


def classify_states(states: MarketState | MarketStates, settings: RegimeSettings) -> Any:
    """The regime each reading alone suggests, before hysteresis, as a regime code (see
    _BY_CODE): of one reading (`RegimeEngine.classify`), or of every step's at once."""
    s = settings
    ret_24, ret_72, trend = states.ret_24, states.ret_72, states.trend
    panic = (ret_24 <= s.panic_ret_24) | (
        (ret_24 <= s.panic_ret_24_hot) & (states.vol_ratio >= s.panic_vol_ratio)
    )
    risk_off = (trend <= s.risk_off_trend) | (ret_72 <= s.risk_off_ret_72)
    risk_on = (trend >= s.risk_on_trend) & (ret_72 >= s.risk_on_ret_72)
    # Panic before risk-off before risk-on; whatever none of them reads is NEUTRAL.
    codes = np.where(risk_on, _RISK_ON, _NEUTRAL)
    codes = np.where(risk_off, _RISK_OFF, codes)
    return np.where(panic, _PANIC, codes).astype(np.int8)


def holds_states(states: MarketState | MarketStates, settings: RegimeSettings) -> dict[Regime, Any]:
    """Whether each regime's wider band contains the reading (`RegimeEngine.holds` in that
    regime): of one reading, or of every step's at once. NEUTRAL has no band."""
    s = settings
    ret_24, ret_72, trend = states.ret_24, states.ret_72, states.trend
    return {
        Regime.NEUTRAL: np.zeros_like(ret_24, dtype=np.bool_),
        Regime.RISK_ON: (trend >= s.hold_risk_on_trend) & (ret_72 >= s.hold_risk_on_ret_72),
        Regime.RISK_OFF: (trend <= s.hold_risk_off_trend) | (ret_72 <= s.hold_risk_off_ret_72),
        Regime.PANIC: ret_24 <= s.hold_panic_ret_24,
    }


@dataclass(frozen=True)
class RegimePath:
    """The regime engine's outputs after every step of a replay."""

    # The regime after each step's update (unchanged at steps without a reading).
    regimes: list[Regime]
    recovering: list[bool]  # RegimeEngine.recovering after each step
    changes: int
    # The regimes as indexes into REGIME_CODES, when whoever built the path had them at hand.
    known_codes: npt.NDArray[np.int8] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def codes(self) -> npt.NDArray[np.int8]:
        """The regimes again as an array of codes, for a replay's vectorised reads."""
        if self.known_codes is not None:
            return self.known_codes
        index = {regime: code for code, regime in enumerate(_BY_CODE)}
        return np.fromiter((index[r] for r in self.regimes), np.int8, len(self.regimes))

    @cached_property
    def recovering_mask(self) -> Mask:
        return np.array(self.recovering, dtype=np.bool_)


def _triggers(
    code: int, reading: npt.NDArray[np.int8], needed: list[int]
) -> tuple[list[int], list[int]]:
    """Where an engine that had sat in regime `code` all along would change, and to what.

    `reading` is that engine's effective reading at each update; it changes at the update where
    a run of equal readings other than `code` reaches its confirmation length.
    """
    updates = reading.shape[0]
    if not updates:
        return [], []
    starts = np.concatenate(([0], np.flatnonzero(reading[1:] != reading[:-1]) + 1))
    values = reading[starts]
    need = np.array(needed, dtype=np.intp)[values]
    fires = (values != code) & (np.diff(starts, append=updates) >= need)
    return (starts[fires] + need[fires] - 1).tolist(), values[fires].tolist()


def regime_path(states: MarketStates, settings: RegimeSettings | None = None) -> RegimePath:
    """What a fresh RegimeEngine reports after each step, computed in one pass.

    Equal to calling `RegimeEngine(settings).update` at every step with a reading (and not at
    the others), without logging the changes. While the engine sits in a regime, its effective
    reading at each update depends on that update alone (the classification, or the regime
    itself where the regime's hold band contains the reading), and its confirmation counter is
    the length of the run of equal effective readings since the regime began. Those runs can be
    cut once for each of the four regimes, whatever the path: a change to regime R happens at
    an update that classifies as R, and at which R's own effective reading is R, so a run under
    R never reaches back past the update that entered R. The next change is then the first
    trigger of the current regime after it began, and the loop below turns once per change.
    """
    s = settings or RegimeSettings()
    total = len(states)
    kept = np.flatnonzero(states.read)
    readings = MarketStates(
        states.ret_24[kept],
        states.ret_72[kept],
        states.trend[kept],
        states.vol_ratio[kept],
        states.read[kept],
    )
    updates = len(readings)  # the steps with a reading: the engine's updates
    classified = classify_states(readings, s)
    panic = classified == _PANIC
    # A reading's confirmation length, by code; a length below one is met by the first bar.
    needed = [max(s.needed(regime), 1) for regime in _BY_CODE]
    holds = holds_states(readings, s)
    triggers = [
        _triggers(code, np.where(holds[regime] & ~panic, np.int8(code), classified), needed)
        for code, regime in enumerate(_BY_CODE)
    ]

    # The changes: at which update, to which regime, and the last exit from PANIC by then.
    changed_at: list[int] = []
    regimes_from: list[int] = [_NEUTRAL]  # the regime of each segment between changes
    exits: list[int] = [-1]  # the last update that left PANIC, per segment; -1 for none yet
    current, first, exited = _NEUTRAL, 0, -1
    while True:
        at_updates, to_regimes = triggers[current]
        k = bisect_left(at_updates, first)
        if k == len(at_updates):
            break
        at, new = at_updates[k], to_regimes[k]
        if current == _PANIC:
            exited = at
        changed_at.append(at)
        regimes_from.append(new)
        exits.append(exited)
        current, first = new, at + 1

    # Back from updates to steps: a step without a reading keeps the regime of the one before.
    # Recovering lasts while NEUTRAL, up to recovery_bars updates after the last panic exit.
    step_of = np.append(kept, total)  # the step of each update, and the end of the replay
    ends = step_of[np.array([*changed_at, updates], dtype=np.intp)].tolist()
    last = np.array(exits, dtype=np.intp)
    stops = step_of[np.clip(last + s.recovery_bars + 1, 0, updates)].tolist()
    regimes: list[Regime] = []
    recovering = [False] * total
    start = 0
    for code, exit_, stop, end in zip(regimes_from, exits, stops, ends, strict=True):
        regimes += [_BY_CODE[code]] * (end - start)
        if code == _NEUTRAL and exit_ >= 0 and stop > start:
            recovering[start : min(end, stop)] = [True] * (min(end, stop) - start)
        start = end
    bounds: npt.NDArray[np.int64] = np.array([0, *ends], dtype=np.int64)
    codes = np.repeat(np.array(regimes_from, dtype=np.int8), bounds[1:] - bounds[:-1])
    return RegimePath(regimes, recovering, len(changed_at), codes)
