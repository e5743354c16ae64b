"""A replay's market readings and regimes computed at once equal the per-step code they replace."""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Sequence
from itertools import cycle

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from krakenops.core.features import FEATURE_NAMES, WARMUP_BARS, batch_features
from krakenops.core.marketdata import default_data_dir, load_symbol
from krakenops.trader.regime import (
    REGIME_CODES,
    MarketState,
    MarketStates,
    Regime,
    RegimeEngine,
    RegimePath,
    RegimeSettings,
    advance,
    classify_states,
    holds_states,
    market_state,
    market_states,
    regime_path,
)
from krakenops.trader.strategies.base import RET_24, RET_72, TREND, VOL_24, VOL_168

Reading = tuple[float, float, float, float] | None  # ret_24, ret_72, trend, vol_ratio
CODES = (Regime.NEUTRAL, Regime.RISK_ON, Regime.RISK_OFF, Regime.PANIC)


def states_of(readings: Sequence[Reading]) -> MarketStates:
    table = np.array([r if r is not None else (math.nan,) * 4 for r in readings]).reshape(-1, 4)
    read = np.array([r is not None for r in readings], dtype=np.bool_)
    ret_24, ret_72, trend, vol_ratio = (np.ascontiguousarray(table[:, i]) for i in range(4))
    return MarketStates(ret_24, ret_72, trend, vol_ratio, read)


class Confirmation:
    """The confirmation rule as a reader states it, one reading at a time: the reference that
    `advance` (live and replay alike) must agree with. A reading other than the regime (or inside
    the regime's hold band, which reads as the regime) must repeat `needed` updates in a row to
    become the regime; NEUTRAL soon after leaving PANIC is a recovery."""

    def __init__(self, settings: RegimeSettings | None) -> None:
        self.settings = settings or RegimeSettings()
        self.engine = RegimeEngine(self.settings)  # only for its classification and bands
        self.regime, self.changes = Regime.NEUTRAL, 0
        self.candidate, self.candidate_bars = Regime.NEUTRAL, 0
        self.since_panic: int | None = None

    @property
    def recovering(self) -> bool:
        return (
            self.regime is Regime.NEUTRAL
            and self.since_panic is not None
            and self.since_panic <= self.settings.recovery_bars
        )

    def update(self, state: MarketState) -> None:
        self.engine.regime = self.regime
        reading = self.engine.classify(state)
        if reading is not Regime.PANIC and self.engine.holds(state):
            reading = self.regime
        if self.since_panic is not None:
            self.since_panic += 1
        if reading is self.regime:
            self.candidate_bars = 0
            return
        if reading is self.candidate:
            self.candidate_bars += 1
        else:
            self.candidate, self.candidate_bars = reading, 1
        if self.candidate_bars >= self.settings.needed(reading):
            if self.regime is Regime.PANIC:
                self.since_panic = 0
            self.regime, self.candidate_bars = reading, 0
            self.changes += 1


def step_by_step(states: MarketStates, regime_settings: RegimeSettings | None) -> RegimePath:
    """The reference rule, one update per step that has a reading."""
    machine = Confirmation(regime_settings)
    regimes, recovering = [], []
    for step in range(len(states)):
        state = states.at(step)
        if state is not None:
            machine.update(state)
        regimes.append(machine.regime)
        recovering.append(machine.recovering)
    return RegimePath(regimes, recovering, machine.changes)


def around(*values: float) -> list[float]:
    """Each value and its neighbouring floats: the readings right at a threshold."""
    return [
        x for v in values for x in (math.nextafter(v, -math.inf), v, math.nextafter(v, math.inf))
    ]


small = st.floats(-0.1, 0.1)
regime_settings = st.one_of(
    st.just(RegimeSettings()),
    st.builds(
        RegimeSettings,
        hold=st.sampled_from([0.0, 0.4, 0.75, 1.0]),
        confirm_bars=st.integers(0, 8),
        panic_confirm_bars=st.integers(0, 3),
        recovery_bars=st.integers(-1, 100),
    ),
    # Thresholds anywhere, even overlapping bands: the order of precedence must agree too.
    st.builds(
        RegimeSettings,
        panic_ret_24=small,
        panic_ret_24_hot=small,
        panic_vol_ratio=st.floats(0.5, 2.5),
        risk_off_trend=small,
        risk_off_ret_72=small,
        risk_on_trend=small,
        risk_on_ret_72=small,
        hold=st.floats(-0.5, 1.5),
        confirm_bars=st.integers(1, 8),
        recovery_bars=st.integers(0, 100),
    ),
)


@st.composite
def replays(draw: st.DrawFn) -> tuple[RegimeSettings, list[Reading]]:
    """Settings, and runs of readings from a small palette: values at and next to every
    threshold and hold band, crashes, steps without a reading; short and long runs."""
    s = draw(regime_settings)
    ret_24 = st.sampled_from(around(s.panic_ret_24, s.panic_ret_24_hot, s.hold_panic_ret_24, 0.0))
    ret_72 = st.sampled_from(
        around(
            s.risk_off_ret_72, s.hold_risk_off_ret_72, s.risk_on_ret_72, s.hold_risk_on_ret_72, 0.0
        )
    )
    trend = st.sampled_from(
        around(s.risk_off_trend, s.hold_risk_off_trend, s.risk_on_trend, s.hold_risk_on_trend, 0.0)
    )
    vol_ratio = st.sampled_from(around(s.panic_vol_ratio, 1.0))
    reading: st.SearchStrategy[Reading] = st.one_of(
        st.none(),
        st.tuples(ret_24, ret_72, trend, vol_ratio),
        st.tuples(
            st.floats(-0.12, 0.08), st.floats(-0.12, 0.1), st.floats(-0.01, 0.01), st.floats(0, 3)
        ),
    )
    palette = draw(st.lists(reading, min_size=1, max_size=8))
    run = st.tuples(st.integers(0, len(palette) - 1), st.integers(1, 8) | st.integers(1, 120))
    readings: list[Reading] = []
    for index, length in draw(st.lists(run, max_size=60)):
        readings += [palette[index]] * length
    return s, readings


@settings(max_examples=300, deadline=None)
@given(replays())
def test_the_regime_path_is_what_the_engine_reports_at_every_step(
    replay: tuple[RegimeSettings, list[Reading]],
):
    regime_settings, readings = replay
    states = states_of(readings)
    assert regime_path(states, regime_settings) == step_by_step(states, regime_settings)


def stretch(states: MarketStates, begin: int, end: int) -> MarketStates:
    s = slice(begin, end)
    return MarketStates(
        states.ret_24[s], states.ret_72[s], states.trend[s], states.vol_ratio[s], states.read[s]
    )


# The engine's previous regime, bars in regime, bars since panic, and changes.
Counters = tuple[Regime | None, int, int | None, int]


def counters(states: MarketStates, path: RegimePath) -> list[Counters]:
    """The engine's counters after each step, by their definitions, from the path's regimes: a
    change is a step whose regime differs from the one before, and bars count updates since."""
    out: list[Counters] = []
    before, previous, bars, since, changes = Regime.NEUTRAL, None, 0, None, 0
    for regime, read in zip(path.regimes, states.read.tolist(), strict=True):
        if read:
            bars += 1
            since = None if since is None else since + 1
        if regime is not before:
            since = 0 if before is Regime.PANIC else since
            previous, bars, changes = before, 0, changes + 1
        out.append((previous, bars, since, changes))
        before = regime
    return out


@settings(max_examples=200, deadline=None)
@given(replays(), st.lists(st.integers(0, 3) | st.integers(1, 400), min_size=1).filter(any))
def test_the_engine_fed_in_any_stretches_reports_the_one_pass_path(
    replay: tuple[RegimeSettings, list[Reading]], sizes: list[int]
):
    """Live updates of one reading and advances over stretches of any length, in any mix, carry
    the engine as one pass over all the steps does: step by step, and its counters with it."""
    regime_settings, readings = replay
    states = states_of(readings)
    path = regime_path(states, regime_settings)
    expected = counters(states, path)
    engine = RegimeEngine(regime_settings)
    begin = 0
    for size in cycle(sizes):
        if begin == len(states):
            break
        end = min(begin + size, len(states))
        state = states.at(begin) if size == 1 else None
        if state is not None:
            engine.update(state)
            part = RegimePath([engine.regime], [engine.recovering], 0)
        else:
            part = advance(engine, stretch(states, begin, end), regime_settings)
        assert part.regimes == path.regimes[begin:end]
        assert part.recovering == path.recovering[begin:end]
        assert np.array_equal(part.codes, path.codes[begin:end])
        if end > begin:
            assert expected[end - 1] == (
                engine.previous,
                engine.bars_in_regime,
                engine.bars_since_panic,
                engine.changes,
            )
        begin = end
    assert engine.changes == path.changes


@settings(max_examples=200, deadline=None)
@given(replays())
def test_classification_and_hold_bands_agree_reading_by_reading(
    replay: tuple[RegimeSettings, list[Reading]],
):
    regime_settings, readings = replay
    states = states_of([r for r in readings if r is not None])
    codes = classify_states(states, regime_settings)
    holds = holds_states(states, regime_settings)
    engine = RegimeEngine(regime_settings)
    for step in range(len(states)):
        state = states.at(step)
        assert state is not None
        assert CODES[codes[step]] is engine.classify(state)
        for regime in Regime:
            engine.regime = regime
            assert bool(holds[regime][step]) is engine.holds(state)


def test_a_crash_and_its_recovery_follow_the_engine():
    crash, quiet, bull = (-0.09, -0.15, -0.02, 2.5), (0.0, 0.0, 0.0, 1.0), (0.02, 0.06, 0.01, 1.0)
    readings: list[Reading] = [quiet] * 10 + [crash] * 3 + [None] * 5 + [quiet] * 100
    readings += [bull, None] * 10
    states = states_of(readings)
    path = regime_path(states)
    assert path == step_by_step(states, None)
    assert path.regimes[10] is Regime.PANIC and path.regimes[17] is Regime.PANIC
    assert any(path.recovering) and not path.recovering[-1]
    assert path.regimes[-1] is Regime.RISK_ON and path.changes == 3


def test_no_reading_at_all_keeps_the_engine_neutral():
    path = regime_path(states_of([None] * 5))
    assert path == RegimePath([Regime.NEUTRAL] * 5, [False] * 5, 0)
    assert regime_path(states_of([])) == RegimePath([], [], 0)


def test_the_path_logs_no_change(caplog: pytest.LogCaptureFixture):
    states = states_of([(-0.09, -0.15, -0.02, 2.5)] * 3 + [(0.0, 0.0, 0.0, 1.0)] * 10)
    with caplog.at_level(logging.DEBUG, logger="krakenops.trader.regime"):
        assert regime_path(states).changes == 2
    assert not caplog.records


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def by_hand(rows: Sequence[npt.NDArray[np.float64]]) -> MarketState:
    """The reading in plain floats: each sum from 0.0 in the symbols' order, over their count."""
    ret_24 = ret_72 = trend = ratio = 0.0
    for v in rows:
        ret_24 += float(v[RET_24])
        ret_72 += float(v[RET_72])
        trend += float(v[TREND])
        ratio += float(v[VOL_24]) / float(v[VOL_168]) if v[VOL_168] > 0 else 1.0
    n = len(rows)
    return MarketState(ret_24 / n, ret_72 / n, trend / n, ratio / n)


def assert_same_as_market_state(
    features: Sequence[npt.NDArray[np.float64]],
    present: Sequence[npt.NDArray[np.bool_]],
    states: MarketStates,
) -> None:
    for step in range(len(states)):
        rows = [f[step] for f, p in zip(features, present, strict=True) if p[step]]
        assert bool(states.read[step]) == bool(rows)
        if rows:
            expected = market_state(rows)
            assert expected == by_hand(rows)
            assert states.at(step) == expected
            for name in ("ret_24", "ret_72", "trend", "vol_ratio"):
                assert bits(getattr(states, name)[step]) == bits(getattr(expected, name))
        else:
            assert states.at(step) is None


# Features as the trader sees them, with volatilities at and around zero (no long-term
# volatility reads as a ratio of 1); bounded so that market_state's own division cannot overflow.
feature_value = st.one_of(st.floats(-10.0, 10.0), st.sampled_from([0.0, -0.0, 1e-3, -1e-3, 0.5]))


@st.composite
def symbol_tables(
    draw: st.DrawFn,
) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.bool_]]]:
    steps = draw(st.integers(0, 40))
    symbols = draw(st.integers(1, 5))
    shape = (steps, len(FEATURE_NAMES))
    features = [draw(hnp.arrays(np.float64, shape, elements=feature_value)) for _ in range(symbols)]
    vol_168 = FEATURE_NAMES.index("vol_168")
    for table in features:  # market_state's ratio divides by vol_168 where it is positive
        table[:, vol_168] = np.where(np.abs(table[:, vol_168]) < 1e-3, 0.0, table[:, vol_168])
    present = [draw(hnp.arrays(np.bool_, steps)) for _ in range(symbols)]
    return features, present


@settings(max_examples=300, deadline=None)
@given(symbol_tables())
def test_market_states_equal_market_state_bit_for_bit(
    tables: tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.bool_]]],
):
    features, present = tables
    assert_same_as_market_state(features, present, market_states(features, present))


def test_market_states_refuse_mismatched_inputs():
    table, here = np.zeros((3, len(FEATURE_NAMES))), np.ones(3, dtype=np.bool_)
    with pytest.raises(ValueError, match="no symbol"):
        market_states([], [])
    with pytest.raises(ValueError, match="presence masks"):
        market_states([table], [here, here])
    with pytest.raises(ValueError, match="do not match"):
        market_states([table, table[:2]], [here, here])


def aligned(
    symbols: Sequence[str],
) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.bool_]]]:
    """Batch features of the embedded bars on the union of their hours, warm bars marked."""
    bars = [load_symbol(symbol, default_data_dir()) for symbol in symbols]
    times = np.unique(np.concatenate([b.time for b in bars]))
    features, present = [], []
    for b in bars:
        rows = np.searchsorted(times, b.time)
        table = np.zeros((times.shape[0], len(FEATURE_NAMES)))
        table[rows] = batch_features(b)
        here = np.zeros(times.shape[0], dtype=np.bool_)
        here[rows[WARMUP_BARS - 1 :]] = True  # FeatureState.warm from the 168th bar on
        features.append(table)
        present.append(here)
    return features, present


def test_real_bars_give_the_same_readings_and_regimes_as_the_step_by_step_engine():
    features, present = aligned(("BTC", "ETH"))
    states = market_states(features, present)
    assert_same_as_market_state(features, present, states)
    assert not states.read.all() and states.read.sum() > 19_000

    path = regime_path(states)
    assert path == step_by_step(states, None)
    assert path.changes > 10 and Regime.PANIC in path.regimes and any(path.recovering)
    # The codes a replay reads are the regimes, and the flags the recoveries, step for step.
    named = RegimePath(path.regimes, path.recovering, path.changes)
    assert np.array_equal(path.codes, named.codes)
    assert [REGIME_CODES[c] for c in path.codes.tolist()] == path.regimes
    assert path.recovering_mask.tolist() == path.recovering
