"""Each rule read ahead over a history marks exactly the bars at which a step asking it signals."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.features import WARMUP_BARS, batch_features
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.trader.portfolio import Portfolio, Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies import (
    Ahead,
    Rules,
    Step,
    SymbolView,
    VolatilitySwing,
    default_strategies,
)
from krakenops.trader.strategies.base import TREND
from krakenops.trader.strategies.rules import Columns, Held, Rule, Values, fires

STRATEGIES = list(default_strategies())


@pytest.fixture(scope="module")
def eth() -> tuple[Bars, np.ndarray]:
    bars = load_symbol("ETH")
    return bars, batch_features(bars)


def bar_by_bar(rules: Rules, position: Position, ahead: Ahead) -> int:
    """Ask exit() at each bar, marking the peak as the book would; the first bar it fires."""
    assert ahead.peak is not None
    for i in range(len(ahead)):
        position.peak_price = float(ahead.peak[i])
        market = SymbolView(
            position.symbol,
            int(ahead.time[i]),
            float(ahead.close[i]),
            tuple(ahead.features[i].tolist()),
            True,
        )
        step = Step(market.time, Regime.NEUTRAL, False, {}, Portfolio(0.0))
        if rules.exit(position, market, step) is not None:
            return i
    return len(ahead)


def test_every_strategy_states_its_rules_once_for_steps_and_read_ahead_alike() -> None:
    for name, rules in written_as_rules():
        # No strategy keeps a second copy of a rule for the replay.
        assert not {"watch", "exit_ahead", "catch_up"} & set(vars(type(rules))), name


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(STRATEGIES),
    start=st.integers(WARMUP_BARS, 15_000),
    bars_ahead=st.integers(1, 400),
    stop_ranges=st.floats(0.0, 12.0),
    target=st.floats(-0.05, 0.05),
    held_hours=st.integers(0, 600),
)
def test_reading_ahead_finds_the_bar_asking_bar_by_bar_finds(
    eth: tuple[Bars, np.ndarray],
    name: str,
    start: int,
    bars_ahead: int,
    stop_ranges: float,
    target: float,
    held_hours: int,
) -> None:
    bars, features = eth
    rows = slice(start, start + bars_ahead)
    close = bars.close[rows]
    entry = float(bars.close[start - 1]) * (1 + target)
    range_24 = float(features[start - 1, 6])
    position = Position(
        "ETH",
        name,
        1.0,
        entry,
        entry * (1 - stop_ranges * range_24),
        int(bars.time[start - 1]) + 3600 - held_hours * 3600,
        entry,
        entry,
        entry,
    )
    ahead = Ahead(
        features[rows],
        close,
        bars.time[rows] + 3600,
        np.maximum(np.maximum.accumulate(close), position.peak_price),
    )
    rules = default_strategies()[name]
    assert isinstance(rules, Rules)
    asked = copy.deepcopy(position)
    fires = bar_by_bar(copy.deepcopy(rules), asked, ahead)
    assert rules.exit_ahead(position, ahead) == fires
    # What the rule did to the position at the bars before it fired, it does in one go.
    caught_up = copy.deepcopy(position)
    rules.catch_up(caught_up, ahead, fires)
    before = copy.deepcopy(position)
    bar_by_bar(copy.deepcopy(rules), before, Ahead(*(a[:fires] for a in vars_of(ahead))))
    assert caught_up.stop_price == before.stop_price


def vars_of(ahead: Ahead) -> tuple[np.ndarray, ...]:
    assert ahead.peak is not None
    return (ahead.features, ahead.close, ahead.time, ahead.peak)


def asked_at(bars: Bars, features: npt.NDArray[np.float64], row: int, book: Portfolio) -> Step:
    """The step a replay would hand the rules at `row`'s close, ETH's bar fresh and warm."""
    market = SymbolView(
        "ETH",
        int(bars.time[row]) + 3600,
        float(bars.close[row]),
        tuple(features[row].tolist()),
        True,
    )
    return Step(market.time, Regime.NEUTRAL, True, {"ETH": market}, book)


def holding_eth(bars: Bars) -> Portfolio:
    """A book that holds ETH, bought at the first bar by a rule not asked here, never hedged."""
    entry = float(bars.close[0])
    book = Portfolio(10_000.0)
    book.positions["ETH"] = Position(
        symbol="ETH",
        strategy="trend_follower",
        quantity=1.0,
        entry_price=entry,
        stop_price=0.5 * entry,
        opened_at=int(bars.time[0]) + 3600,
        peak_price=entry,
        cost_usd=entry,
        paid_usd=entry,
    )
    return book


def written_as_rules() -> Iterator[tuple[str, Rules]]:
    for name, rules in default_strategies().items():
        assert isinstance(rules, Rules)
        yield name, rules


def test_entry_rules_read_ahead_mark_the_bars_at_which_a_flat_book_gets_a_signal(
    eth: tuple[Bars, np.ndarray],
) -> None:
    bars, features = eth
    rows = range(WARMUP_BARS, len(bars))
    for name, rules in written_as_rules():
        reasons: Counter[str] = Counter()
        signalled, remembered = [], []
        for row in rows:
            if isinstance(rules, VolatilitySwing):
                # It sold ETH 1 to 52 bars back, at that bar's close as its exit rule records a
                # sale: the oldest of these lie past its 48 hours of re-entry.
                sold = row - 1 - row % 52
                rules._exits = {"ETH": (int(bars.time[sold]) + 3600, float(bars.close[sold]))}
            step = asked_at(bars, features, row, Portfolio(10_000.0))
            signals = rules.entries(step)
            reasons.update(signal.reason for signal in signals)
            signalled.append(bool(signals))
            remembered.append(rules.remembered("ETH", step.time))
        read = rules.entry_rules(
            features[WARMUP_BARS:].T, bars.close[WARMUP_BARS:], np.array(remembered)
        )
        assert np.array_equal(fires(read, len(rows)), np.array(signalled)), name
        assert reasons or name in {"defensive_hedge", "stable_allocator"}
        if isinstance(rules, VolatilitySwing):
            assert reasons["re-entry on dip"] > 100


def test_reduce_rules_read_ahead_are_where_the_hedge_and_the_allocator_sell_and_nowhere_else(
    eth: tuple[Bars, np.ndarray],
) -> None:
    bars, features = eth
    for name, rules in written_as_rules():
        rows = range(WARMUP_BARS, len(bars))
        book = holding_eth(bars)
        signalled = np.array(
            [bool(rules.entries(asked_at(bars, features, row, book))) for row in rows]
        )
        read = rules.reduce_rules(features[WARMUP_BARS:].T, bars.close[WARMUP_BARS:])
        assert np.array_equal(fires([("", read)], len(rows)), signalled), name
        assert signalled.any() == (name in {"defensive_hedge", "stable_allocator"}), name


class Cross(Rules):
    """Sells when the trend turns, whatever it holds: no rule reads the position."""

    name = "cross"
    regimes = frozenset(Regime)
    stop_ranges = 5.0
    stop_exits = False

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("trend turned", f[TREND] < 0),)


def test_exit_rules_that_read_no_position_are_marked_once_over_the_history(
    eth: tuple[Bars, np.ndarray],
) -> None:
    bars, features = eth
    marked = Cross().exits_anywhere(features.T, bars.close)
    assert marked is not None
    assert np.array_equal(marked, features[:, TREND] < 0)


def test_exit_rules_that_read_the_position_are_read_ahead_for_each_position(
    eth: tuple[Bars, np.ndarray],
) -> None:
    bars, features = eth
    # Each of the six has a stop, a target or a time limit: every position exits on its own.
    for name, rules in written_as_rules():
        assert rules.exits_anywhere(features.T, bars.close) is None, name
    stopped = Cross()
    stopped.stop_exits = True
    assert stopped.exits_anywhere(features.T, bars.close) is None
    # A trailing stop that sells nothing still moves the position's stop bar by bar.
    trailing = Cross()
    trailing.trail_ranges = 2.0
    assert trailing.exits_anywhere(features.T, bars.close) is None
