"""A replay that wakes only where rules watch ends exactly where one that takes every step does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.trader.model import SklearnConfidenceModel
from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.replay.backtest import BacktestResult, run_backtest
from krakenops.trader.strategies import (
    Signal,
    Step,
    Strategy,
    StrategySelector,
    SymbolView,
    default_strategies,
)
from krakenops.trader.strategies.base import TREND
from krakenops.trader.strategies.rules import Columns, Held, Rule, Rules, Values
from tests.trader.models import fitted

START = 1588291200  # 2020-05-01, after a month of warm-up


@pytest.fixture(scope="module")
def bars() -> dict[str, Bars]:
    return {s: load_symbol(s) for s in ("BTC", "ETH")}


class Unwatched:
    """The same rules without saying where they act: the replay must ask them every step."""

    def __init__(self, rules: Strategy) -> None:
        self.rules = rules
        self.name = rules.name
        self.regimes = rules.regimes
        self.hedges = rules.hedges

    def entries(self, step: Step) -> list[Signal]:
        return self.rules.entries(step)

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        return self.rules.exit(position, market, step)


class EmaCross(Rules):
    """Long while the fast EMA is over the slow one, each rule stated once over the features."""

    name = "trend_follower"
    regimes = frozenset(Regime)
    stop_ranges = 5.0  # sizes the entry; the cross alone sells
    stop_exits = False

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def entries(self, step: Step) -> list[Signal]:
        self.asked += 1
        return super().entries(step)

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        return (("", f[TREND] > 0),)

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        return (("", f[TREND] < 0),)


EMA_ONLY = StrategySelector(
    table={r: {EmaCross.name: 1.0} for r in [*Regime, "RECOVERY"]},
    eligible={EmaCross.name: frozenset(Regime)},
)


def unwatched(strategies: Mapping[str, Strategy]) -> dict[str, Strategy]:
    return {name: Unwatched(rules) for name, rules in strategies.items()}


def assert_same(woken: BacktestResult, every: BacktestResult) -> None:
    assert woken.fills == every.fills
    assert np.array_equal(woken.times, every.times)
    assert np.array_equal(woken.equity, every.equity)
    assert woken.rejections == every.rejections
    assert woken.regime_bars == every.regime_bars
    assert woken.bar_steps == every.bar_steps
    assert woken.traded_notional_usd == every.traded_notional_usd
    assert len(woken.signals) == len(every.signals)
    for a, b in zip(woken.signals, every.signals, strict=True):
        assert (a.time, a.symbol, a.strategy, a.confidence, a.pnl_usd, a.return_pct) == (
            b.time,
            b.symbol,
            b.strategy,
            b.confidence,
            b.pnl_usd,
            b.return_pct,
        )
        assert np.array_equal(a.inputs, b.inputs)


def with_daily_loss(config: EnvironmentConfig, limit: float) -> EnvironmentConfig:
    risk = config.spec.risk.model_copy(update={"max_daily_loss": limit})
    return config.model_copy(update={"spec": config.spec.model_copy(update={"risk": risk})})


def woken_and_every(
    config: EnvironmentConfig, bars: dict[str, Bars], cross: EmaCross
) -> tuple[BacktestResult, BacktestResult]:
    """The cross alone replayed woken where it might act, and asked at every step."""
    woken = run_backtest(
        config, bars, start_time=START, strategies={cross.name: cross}, selector=EMA_ONLY
    )
    asked = Unwatched(type(cross)())
    every = run_backtest(
        config, bars, start_time=START, strategies={cross.name: asked}, selector=EMA_ONLY
    )
    return woken, every


def test_the_six_strategies_replay_the_same_woken_or_asked_every_step(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
) -> None:
    woken = run_backtest(paper_config, bars, start_time=START)
    every = run_backtest(
        paper_config, bars, start_time=START, strategies=unwatched(default_strategies())
    )
    assert len(woken.fills) > 100
    assert_same(woken, every)


def test_a_model_sized_replay_is_the_same_woken_or_asked_every_step(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
) -> None:
    model = SklearnConfidenceModel("model_20260101_golden", "0" * 64, fitted(3))
    woken = run_backtest(paper_config, bars, model, start_time=START)
    every = run_backtest(
        paper_config, bars, model, start_time=START, strategies=unwatched(default_strategies())
    )
    assert woken.rejections.get("low_confidence")
    assert_same(woken, every)


def test_held_stretches_passed_over_still_trip_the_kill_switch(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
) -> None:
    # A daily limit tight enough that marks alone trip it, often between two decisions.
    rules = EmaCross()
    woken, every = woken_and_every(with_daily_loss(paper_config, 0.01), bars, rules)
    assert woken.rejections.get("kill_switch", 0) > 10
    assert_same(woken, every)
    # The cross was asked only around its crossings, not at each of the replay's steps.
    assert rules.asked < len(woken.times) / 5


class TrailingCross(EmaCross):
    """The cross with a trailing stop that only sizes entries: it sells nothing, yet moves the
    stop, which the risk manager reads as open risk."""

    trail_ranges = 2.0


@pytest.mark.parametrize("cross", [EmaCross, TrailingCross])
def test_exits_reading_no_position_replay_the_same_woken_or_asked_every_step(
    paper_config: EnvironmentConfig, bars: dict[str, Bars], cross: type[EmaCross]
) -> None:
    woken, every = woken_and_every(paper_config, bars, cross())
    assert len(woken.fills) > 100
    assert_same(woken, every)
