"""The regime engine: RISK_ON, NEUTRAL, RISK_OFF or PANIC from market-wide features, with hysteresis."""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, cached_property
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
    "RegimeMachine",
    "RegimePath",
    "RegimeSettings",
    "advance",
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


@dataclass(slots=True)  # not frozen: one is built every bar (see market.Bar)
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

    # The hold bands, derived from the entry thresholds in this one place: `holds_states` reads
    # them for one reading or for every step's.
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


@dataclass
class RegimeMachine:
    """Where the regime engine stands between updates: all that its next updates depend on."""

    regime: Regime = Regime.NEUTRAL
    previous: Regime | None = None
    bars_in_regime: int = 0  # updates since the regime began
    bars_since_panic: int | None = None  # updates since the last change out of PANIC
    changes: int = 0
    # NEUTRAL reached from PANIC not long ago: the window for re-entering after a bottom.
    recovering: bool = False
    # The run of equal effective readings other than the regime, counting toward a change to it.
    candidate: Regime = Regime.NEUTRAL
    candidate_bars: int = 0


class RegimeEngine(RegimeMachine):
    """Classifies each step's market state; changes only after a reading holds for a while."""

    reads_market = True

    def __init__(self, settings: RegimeSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or RegimeSettings()

    def classify(self, state: MarketState) -> Regime:
        """The regime this reading alone suggests, before hysteresis."""
        return _BY_CODE[int(classify_states(state, self.settings))]

    def holds(self, state: MarketState) -> bool:
        """Whether the current regime's wider band still contains this reading."""
        return bool(holds_states(state, self.settings)[self.regime])

    def update(self, state: MarketState) -> Regime:
        """Fold in one step's reading and return the (possibly unchanged) regime."""
        one = np.array([[state.ret_24], [state.ret_72], [state.trend], [state.vol_ratio]])
        reading = MarketStates(one[0], one[1], one[2], one[3], np.ones(1, dtype=np.bool_))
        if advance(self, reading, self.settings).changes:
            assert self.previous is not None  # set by the change
            event(
                log,
                logging.INFO,
                "regime_changed",
                f"regime {self.previous.value} -> {self.regime.value}",
                regime=self.regime.value,
                previous=self.previous.value,
                ret_24=round(state.ret_24, 5),
                ret_72=round(state.ret_72, 5),
                trend=round(state.trend, 5),
                vol_ratio=round(state.vol_ratio, 3),
            )
        return self.regime


# The vectorised engine numbers the regimes; _BY_CODE names them back.
_BY_CODE = (Regime.NEUTRAL, Regime.RISK_ON, Regime.RISK_OFF, Regime.PANIC)
_NEUTRAL, _RISK_ON, _RISK_OFF, _PANIC = range(len(_BY_CODE))
REGIME_CODES = _BY_CODE  # what each code of RegimePath.codes stands for
_CODE = {regime: code for code, regime in enumerate(_BY_CODE)}


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
        return np.fromiter((_CODE[r] for r in self.regimes), np.int8, len(self.regimes))

    @cached_property
    def recovering_mask(self) -> Mask:
        return np.array(self.recovering, dtype=np.bool_)


def _runs(
    code: int, reading: npt.NDArray[np.int8], needed: npt.NDArray[np.intp], carried: tuple[int, int]
) -> tuple[list[int], list[int], tuple[int, int]]:
    """Where an engine that had sat in regime `code` all along would change, and to what; and the
    run of equal readings it would end on, as (reading, length). `reading` is that engine's
    effective reading at each update; it changes at the update where a run of equal readings
    other than `code` reaches its confirmation length. `carried` is the run it began with: a
    first run of the same reading goes on counting from it."""
    updates = reading.shape[0]
    if not updates:
        return [], [], carried
    later = np.flatnonzero(reading[1:] != reading[:-1]) + 1
    starts = np.concatenate(([0], later))
    values = reading[starts]
    if values[0] == carried[0]:
        starts[0] -= carried[1]  # the run began before these updates
    need = needed[values]
    fires = (values != code) & (np.concatenate((later, [updates])) - starts >= need)
    last = (int(values[-1]), updates - int(starts[-1]))
    return (starts[fires] + need[fires] - 1).tolist(), values[fires].tolist(), last


def regime_path(states: MarketStates, settings: RegimeSettings | None = None) -> RegimePath:
    """What a fresh RegimeEngine reports after each step, without logging the changes."""
    return advance(RegimeMachine(), states, settings or RegimeSettings())


def advance(machine: RegimeMachine, states: MarketStates, settings: RegimeSettings) -> RegimePath:
    """Update `machine` at every step with a reading (and not at the others), in one pass; what
    it reports after each step. One step is a live engine's update; a whole history, a replay's.

    While the machine sits in a regime, its effective reading at each update depends on that
    update alone (the classification, or the regime itself where the regime's hold band contains
    the reading), and its confirmation counter is the length of the run of equal effective
    readings since the regime began. Those runs can be cut once for each of the four regimes,
    whatever the path: a change to regime R happens at an update that classifies as R, and at
    which R's own effective reading is R, so a run under R never reaches back past the update
    that entered R. Only the regime the machine starts in has a run from before these updates,
    which its first run extends. The next change is then the first trigger of the current regime
    after it began, and the loop below turns once per change.
    """
    kept = np.flatnonzero(states.read)  # the steps with a reading: the machine's updates
    # Contiguous copies of the readings: the classification goes over them several times.
    columns = (states.ret_24, states.ret_72, states.trend, states.vol_ratio)
    ret_24, ret_72, trend, vol_ratio = (values[kept] for values in columns)
    readings = MarketStates(ret_24, ret_72, trend, vol_ratio, states.read[kept])
    updates = len(readings)
    classified = classify_states(readings, settings)
    panic = classified == _PANIC
    holds = holds_states(readings, settings)
    # A reading's confirmation length, by code; a length below one is met by the first bar.
    needed = np.array([max(settings.needed(regime), 1) for regime in _BY_CODE], dtype=np.intp)
    begun, carried = _CODE[machine.regime], (_CODE[machine.candidate], machine.candidate_bars)

    @cache  # a live update mostly needs one regime's runs: cut each only when reached
    def runs(code: int) -> tuple[list[int], list[int], tuple[int, int]]:
        effective = np.where(holds[_BY_CODE[code]] & ~panic, np.int8(code), classified)
        return _runs(code, effective, needed, carried if code == begun else (code, 0))

    # The segments between changes: the update that began each after the first, its regime, and
    # its first update no longer recovering: recovery_bars after the last exit from PANIC (below
    # zero for none). The machine's past updates count back from these ones, below zero.
    recovery, panicked = settings.recovery_bars, machine.bars_since_panic
    entered, code = -1 - machine.bars_in_regime, begun
    exited = None if panicked is None else -1 - panicked
    until = -1 if exited is None else exited + recovery + 1
    changed_at: list[int] = []
    codes, untils = [code], [until]
    while True:
        at_updates, to_regimes, _ = runs(code)
        k = bisect_left(at_updates, entered + 1)
        if k == len(at_updates):
            break
        entered = at_updates[k]
        if code == _PANIC:
            exited, until = entered, entered + recovery + 1
        code = to_regimes[k]
        changed_at.append(entered)
        codes.append(code)
        untils.append(until)

    bounds = np.concatenate(([0], kept, [len(states)]))  # before update 0, each one's step, the end
    path = _steps(bounds, changed_at, codes, untils)
    run, run_bars = runs(code)[2]
    machine.regime = _BY_CODE[code]
    if changed_at:
        machine.previous = _BY_CODE[codes[-2]]
    machine.bars_in_regime = updates - 1 - entered
    machine.bars_since_panic = None if exited is None else updates - 1 - exited
    machine.changes += len(changed_at)
    if path.recovering:
        machine.recovering = path.recovering[-1]
    machine.candidate, machine.candidate_bars = _BY_CODE[run], 0 if run == code else run_bars
    return path


def _steps(
    bounds: npt.NDArray[np.intp], changed_at: list[int], codes: list[int], untils: list[int]
) -> RegimePath:
    """The path through the segments between changes, step by step: a step without a reading
    keeps the regime of the one before, and recovering lasts while NEUTRAL, until `untils`."""
    updates, total = bounds.shape[0] - 2, int(bounds[-1])
    ends = bounds[np.array([*changed_at, updates], dtype=np.intp) + 1].tolist()
    stops = bounds[np.minimum(np.maximum(np.array(untils) + 1, 0), updates + 1)].tolist()
    regimes: list[Regime] = []
    recovering = [False] * total
    begin = 0
    for code, stop, end in zip(codes, stops, ends, strict=True):
        regimes += [_BY_CODE[code]] * (end - begin)
        if code == _NEUTRAL and stop > begin:
            recovering[begin : min(stop, end)] = [True] * (min(stop, end) - begin)
        begin = end
    edges = np.array([0, *ends], dtype=np.intp)
    path = np.repeat(np.array(codes, dtype=np.int8), edges[1:] - edges[:-1])
    return RegimePath(regimes, recovering, len(changed_at), path)
