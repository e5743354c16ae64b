"""The replay ends bit for bit where the loop it replaced does: the engine stepped at every bar's
close, its pipeline folding each bar and running a live regime engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.features import WARMUP_BARS
from krakenops.core.marketdata import BAR_SECONDS, Bars, load_symbol
from krakenops.trader.engine import StepReport, build_engine
from krakenops.trader.execution.orders import Fill, Side
from krakenops.trader.market import aligned_steps
from krakenops.trader.model import ConfidenceModel, SklearnConfidenceModel
from krakenops.trader.regime import Regime, RegimeEngine
from krakenops.trader.replay.backtest import (
    BacktestResult,
    SignalRecord,
    run_backtest,
)
from krakenops.trader.strategies import Strategy, StrategySelector, default_strategies
from krakenops.trader.venues.paper.client import PaperKrakenSimulator
from tests.trader.models import fitted
from tests.trader.replay.test_wakeups import EMA_ONLY, EmaCross
from tests.trader.strategies.breakout import VolumeBreakout

FIRST = int(datetime(2020, 4, 1, tzinfo=UTC).timestamp())  # the first embedded bar
START = int(datetime(2020, 5, 1, tzinfo=UTC).timestamp())  # after a month of warm-up
END = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
ETH_FROM = int(datetime(2020, 8, 1, tzinfo=UTC).timestamp())  # months into the replay
ETH_UNTIL = int(datetime(2020, 10, 1, tzinfo=UTC).timestamp())  # months before its end


@pytest.fixture(scope="module")
def history() -> dict[str, Bars]:
    """All the embedded bars: two years and a quarter, every regime many times over."""
    return {s: load_symbol(s) for s in ("BTC", "ETH")}


@pytest.fixture(scope="module")
def bars(history: dict[str, Bars]) -> dict[str, Bars]:
    """Their first nine months, for the variants: every regime and trailing stops at work."""
    return {s: b.between(FIRST, END) for s, b in history.items()}


@pytest.fixture(scope="module")
def model() -> ConfidenceModel:
    return SklearnConfidenceModel("model_20260101_golden", "0" * 64, fitted(3))


@dataclass
class EveryStep:
    """What the loop saw: each step's close, equity and regime, and what it traded or refused."""

    times: list[int] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    regimes: list[Regime] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    signals: list[SignalRecord] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)
    bar_steps: int = 0
    trips: int = 0  # of the kill switch
    open_signals: dict[str, SignalRecord] = field(default_factory=dict)

    def record(self, report: StepReport, bars: int) -> None:
        self.times.append(report.time)
        self.equity.append(report.equity)
        self.regimes.append(report.regime)
        self.bar_steps += bars
        for booked in report.fills:
            self.fills.append(booked.fill)
            order = booked.fill.client_order_id
            if booked.opens and booked.signal is not None and order not in self.open_signals:
                signal = SignalRecord(
                    report.time,
                    booked.fill.symbol,
                    booked.strategy,
                    Side.BUY,
                    booked.signal.inputs,
                    booked.signal.confidence,
                )
                self.open_signals[order] = signal
                self.signals.append(signal)
        for trade in report.closed:
            closed = self.open_signals.pop(trade.signal_id, None)
            if closed is not None:
                closed.pnl_usd, closed.return_pct = trade.pnl_usd, trade.return_pct
        self.rejections.update(denial.reason.value for _, denial in report.denials)
        if report.rejected:
            self.rejections["venue_rejected"] += len(report.rejected)
        self.rejections.update(report.skipped)


def every_step(
    config: EnvironmentConfig,
    bars: Mapping[str, Bars],
    model: ConfidenceModel | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    *,
    strategies: Mapping[str, Strategy] | None = None,
    selector: StrategySelector | None = None,
) -> EveryStep:
    """The old replay: the engine takes every step, folding each bar's features and feeding a
    live regime engine; bars before `start_time` only warm it up. Nothing is known ahead."""
    symbols = tuple(s for s in config.spec.universe.symbols if s in bars and len(bars[s]))
    chosen = {s: bars[s].between(None, end_time) for s in symbols}
    first = min(int(b.time[0]) for b in chosen.values() if len(b))
    clock = ManualClock(datetime.fromtimestamp(first, UTC))
    engine = build_engine(
        config,
        clock,
        PaperKrakenSimulator.from_settings(config.spec.paper, clock),
        lambda: model,
        symbols=symbols,
        strategies=strategies,
        selector=selector,
        log_events=False,
    )
    assert isinstance(engine.pipeline.regime, RegimeEngine)  # read live, not replayed from a path
    seen = EveryStep()
    for time, step_bars in aligned_steps(chosen):
        close = time + BAR_SECONDS
        now = datetime.fromtimestamp(close, UTC)
        clock.set(now)
        if start_time is not None and time < start_time:
            engine.pipeline.warm_up(step_bars)
        else:
            seen.record(engine.step(close, step_bars, now), len(step_bars))
    seen.trips = engine.risk.trips
    return seen


def assert_replays(result: BacktestResult, seen: EveryStep) -> None:
    """Equal bit for bit: every float compared with ==, none within a tolerance."""
    assert np.array_equal(result.times, np.array(seen.times, dtype=np.int64))
    differs = np.flatnonzero(result.equity != np.array(seen.equity))
    assert not differs.shape[0], (
        f"equity first differs at the step closing {seen.times[differs[0]]}: "
        f"{float(result.equity[differs[0]])!r} replayed, {seen.equity[differs[0]]!r} stepped"
    )
    assert [
        (f.symbol, f.side, f.quantity, f.price, f.fee_usd, f.client_order_id) for f in result.fills
    ] == [(f.symbol, f.side, f.quantity, f.price, f.fee_usd, f.client_order_id) for f in seen.fills]
    assert result.fills == seen.fills  # their times and venue ids too
    assert len(result.signals) == len(seen.signals)
    for replayed, stepped in zip(result.signals, seen.signals, strict=True):
        assert (
            replayed.time,
            replayed.symbol,
            replayed.strategy,
            replayed.side,
            replayed.confidence,
            replayed.pnl_usd,
            replayed.return_pct,
        ) == (
            stepped.time,
            stepped.symbol,
            stepped.strategy,
            stepped.side,
            stepped.confidence,
            stepped.pnl_usd,
            stepped.return_pct,
        )
        assert np.array_equal(replayed.inputs, stepped.inputs)
    assert result.rejections == seen.rejections
    assert result.regime_bars == {r.value: n for r, n in Counter(seen.regimes).items()}
    assert result.traded_notional_usd == sum(f.quantity * f.price for f in seen.fills)
    assert result.bar_steps == seen.bar_steps
    assert result.kill_switch_trips == seen.trips
    assert result.starting_equity == 10_000.0


def with_window(config: EnvironmentConfig, start: str, end: str, drain: int) -> EnvironmentConfig:
    downtime = config.spec.downtime.model_copy(
        update={"start": start, "end": end, "drain_seconds": drain}
    )
    return config.model_copy(update={"spec": config.spec.model_copy(update={"downtime": downtime})})


def with_risk(config: EnvironmentConfig, **limits: float) -> EnvironmentConfig:
    risk = config.spec.risk.model_copy(update=limits)
    return config.model_copy(update={"spec": config.spec.model_copy(update={"risk": risk})})


def test_the_six_rules_alone_replay_as_the_loop_stepped_them(
    paper_config: EnvironmentConfig, history: dict[str, Bars]
) -> None:
    result = run_backtest(paper_config, history, start_time=START)
    seen = every_step(paper_config, history, start_time=START)
    assert len(seen.fills) > 200
    assert set(seen.regimes) == set(Regime)
    assert_replays(result, seen)


def test_a_fitted_model_sizes_and_vetoes_as_the_loop_did(
    paper_config: EnvironmentConfig, history: dict[str, Bars], model: ConfidenceModel
) -> None:
    result = run_backtest(paper_config, history, model, start_time=START)
    seen = every_step(paper_config, history, model, start_time=START)
    assert seen.rejections["low_confidence"]
    assert len({s.confidence for s in seen.signals}) > 1
    assert_replays(result, seen)


def test_a_replay_from_the_first_bar_to_an_end_time(
    paper_config: EnvironmentConfig, bars: dict[str, Bars], model: ConfidenceModel
) -> None:
    end = int(datetime(2020, 10, 1, 12, tzinfo=UTC).timestamp())
    result = run_backtest(paper_config, bars, model, end_time=end)
    seen = every_step(paper_config, bars, model, end_time=end)
    assert seen.times[0] == FIRST + BAR_SECONDS and seen.times[-1] == end
    assert_replays(result, seen)


def test_a_window_across_midnight_with_a_drain_before_it(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
) -> None:
    # Downtime from 22:30 to 01:30 and no orders from 21:30: the steps closing at 22:00 drain,
    # those closing at 23:00, 00:00 and 01:00 are in the window.
    config = with_window(paper_config, "22:30", "01:30", 3600)
    result = run_backtest(config, bars, start_time=START)
    seen = every_step(config, bars, start_time=START)
    assert seen.fills and not {f.timestamp.astimezone(UTC).hour for f in seen.fills} & {
        22,
        23,
        0,
        1,
    }
    assert_replays(result, seen)


@pytest.mark.parametrize(
    "limits",
    [
        {"max_daily_loss": 0.002},
        {"max_daily_loss": 0.005, "max_consecutive_losses": 1, "max_daily_trades": 3},
    ],
)
def test_tight_limits_trip_the_kill_switch_where_the_loop_tripped_it(
    paper_config: EnvironmentConfig,
    bars: dict[str, Bars],
    model: ConfidenceModel,
    limits: dict[str, float],
) -> None:
    config = with_risk(paper_config, **limits)
    result = run_backtest(config, bars, model, start_time=START)
    seen = every_step(config, bars, model, start_time=START)
    assert seen.trips > 10 and seen.rejections["kill_switch"]
    assert_replays(result, seen)


def test_held_stretches_passed_over_trip_the_kill_switch_where_the_loop_tripped_it(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
) -> None:
    # One EMA cross, asked only around its crossings, holds for days under a limit that marks
    # alone trip: the trips fall inside stretches the replay passes over.
    config = with_risk(paper_config, max_daily_loss=0.01)
    result = run_backtest(
        config, bars, start_time=START, strategies={"trend_follower": EmaCross()}, selector=EMA_ONLY
    )
    seen = every_step(
        config, bars, start_time=START, strategies={"trend_follower": EmaCross()}, selector=EMA_ONLY
    )
    assert seen.trips > 10 and seen.rejections["kill_switch"] > 100
    assert_replays(result, seen)


def test_a_symbol_whose_bars_start_months_into_the_replay(
    paper_config: EnvironmentConfig, bars: dict[str, Bars], model: ConfidenceModel
) -> None:
    late = {"BTC": bars["BTC"], "ETH": bars["ETH"].between(ETH_FROM, None)}
    result = run_backtest(paper_config, late, model, start_time=START)
    seen = every_step(paper_config, late, model, start_time=START)
    eth = [f.timestamp.timestamp() for f in seen.fills if f.symbol == "ETH"]
    # ETH is traded once its own features are warm, whatever BTC's are.
    assert eth and min(eth) >= ETH_FROM + WARMUP_BARS * BAR_SECONDS
    assert_replays(result, seen)


def test_a_symbol_whose_bars_stop_months_before_the_end(
    paper_config: EnvironmentConfig, bars: dict[str, Bars], model: ConfidenceModel
) -> None:
    early = {"BTC": bars["BTC"], "ETH": bars["ETH"].between(None, ETH_UNTIL)}
    result = run_backtest(paper_config, early, model, start_time=START)
    seen = every_step(paper_config, early, model, start_time=START)
    eth = [f.timestamp.timestamp() for f in seen.fills if f.symbol == "ETH"]
    assert eth and max(eth) <= ETH_UNTIL
    assert seen.times[-1] > ETH_UNTIL + 30 * 86_400  # BTC goes on alone
    assert_replays(result, seen)


def test_a_seventh_strategy_written_as_rules_replays_as_the_loop_trades_it(
    paper_config: EnvironmentConfig, history: dict[str, Bars]
) -> None:
    # One module states its rules once (tests/trader/strategies/breakout.py); nothing else is
    # written for the replay, which must still take every step at which it would trade live.
    # Rules only: a model's inputs name the six strategies it was trained with.
    table = {
        Regime.RISK_ON.value: {"trend_follower": 0.5, VolumeBreakout.name: 0.5},
        Regime.NEUTRAL.value: {"mean_reversion": 0.5, VolumeBreakout.name: 0.5},
        "RECOVERY": {"recovery_reentry": 0.6, "mean_reversion": 0.4},
        Regime.RISK_OFF.value: {"defensive_hedge": 1.0},
        Regime.PANIC.value: {"stable_allocator": 0.7, "defensive_hedge": 0.3},
    }
    selector = StrategySelector(table=table)

    def policy() -> dict[str, Strategy]:
        return {**default_strategies(), VolumeBreakout.name: VolumeBreakout()}

    result = run_backtest(
        paper_config, history, start_time=START, strategies=policy(), selector=selector
    )
    seen = every_step(
        paper_config, history, start_time=START, strategies=policy(), selector=selector
    )
    closed = Counter(s.strategy for s in seen.signals if s.pnl_usd is not None)
    assert closed[VolumeBreakout.name] > 20
    assert_replays(result, seen)
