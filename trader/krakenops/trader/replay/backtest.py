"""Backtests: the paper-trading engine itself, driven over recorded bars by a simulated clock."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import Bars
from krakenops.trader.engine import StepReport, build_engine
from krakenops.trader.execution.orders import VENUE_REJECTED, Fill, Side
from krakenops.trader.model import ConfidenceModel
from krakenops.trader.regime import REGIME_CODES
from krakenops.trader.replay.quiet import QuietSteps
from krakenops.trader.replay.timeline import ReplayedRegime, Timeline
from krakenops.trader.replay.wakeups import Wakeups
from krakenops.trader.strategies import Strategy, StrategySelector
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

__all__ = ["BacktestResult", "SignalRecord", "run_backtest"]


@dataclass
class SignalRecord:
    """An entry that was filled, with what it was decided on and, once closed, what it earned."""

    time: int
    symbol: str
    strategy: str
    side: Side
    inputs: npt.NDArray[np.float64]
    confidence: float
    pnl_usd: float | None = None  # net of fees and slippage, once the position is flat
    return_pct: float | None = None


@dataclass
class BacktestResult:
    times: npt.NDArray[np.int64]  # close time of each step, Unix seconds
    equity: npt.NDArray[np.float64]  # marked-to-market equity after each step
    starting_equity: float
    fills: list[Fill]
    signals: list[SignalRecord]
    traded_notional_usd: float
    rejections: dict[str, int]  # risk denials, venue rejections and pre-risk skips, by reason
    regime_bars: dict[str, int]  # steps spent in each regime
    bar_steps: int  # symbol-bars processed after start_time: the unit of backtest speed
    kill_switch_trips: int  # counted rather than logged: a replay is not the live trader


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector, and restore it as it was.

    A replay keeps every fill, record and equity value it makes: tens of thousands of objects
    that survive, which trigger full collections that walk the whole heap each time. It makes
    next to no cycles, and whatever it does make is collected once the collector is back.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def run_backtest(
    config: EnvironmentConfig,
    bars: Mapping[str, Bars],
    model: ConfidenceModel | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    *,
    strategies: Mapping[str, Strategy] | None = None,
    selector: StrategySelector | None = None,
) -> BacktestResult:
    """Trade the configured universe over `bars` from `start_time` to `end_time` (bar open times).

    Bars before `start_time` only warm the features and the regime. A step runs at each bar's
    close and sees nothing later; orders fill at that close. Symbols of the universe without bars
    are not traded; bars of symbols outside the universe are ignored. `strategies` and
    `selector` replace the default policy's.

    The engine takes only the steps at which some rule might act (see `Wakeups`); the steps
    between are passed over in bulk to the same book, risk state and equity (see `QuietSteps`).
    """
    symbols = tuple(s for s in config.spec.universe.symbols if s in bars and len(bars[s]))
    if not symbols:
        raise ValueError(f"no bars for any of {config.spec.universe.symbols}")
    timeline = Timeline.build(
        {s: bars[s].between(None, end_time) for s in symbols}, config.spec.downtime.window()
    )
    clock = ManualClock(datetime.fromtimestamp(int(timeline.opens[0]), UTC))
    regime = ReplayedRegime(timeline.regimes)
    # A replay trips and resets the switch hundreds of times: its result counts them, rather
    # than logging each as if the live trader had stopped.
    engine = build_engine(
        config,
        clock,
        PaperKrakenSimulator.from_settings(config.spec.paper, clock),
        lambda: model,
        symbols=symbols,
        strategies=strategies,
        selector=selector,
        regime=regime,
        log_events=False,
    )
    starting = engine.portfolio.equity()
    steps = len(timeline)
    first = 0 if start_time is None else int(np.searchsorted(timeline.opens, start_time))
    wakeups = Wakeups(timeline, engine.pipeline.strategies, engine.pipeline.selector)
    quiet = QuietSteps(engine, timeline, clock, first)
    if first:
        quiet.mark(first - 1)  # the warm-up's bars marked the book, as they would have live
    equity = np.empty(steps)
    fills: list[Fill] = []
    open_signals: dict[str, SignalRecord] = {}
    signals: list[SignalRecord] = []
    rejections: dict[str, int] = {}
    positions, closes = engine.portfolio.positions, timeline.closes
    index = first
    while index < steps:
        wake = index if engine.resting else wakeups.next(index, positions)
        if wake > index:
            wakeups.catch_up(wake, positions)
            quiet.pass_over(index, wake, equity)
            index = wake
            if index >= steps:
                break
        step_bars, known = timeline.step(index)
        close = int(closes[index])
        now = datetime.fromtimestamp(close, UTC)
        clock.set(now)
        regime.at(index)
        report = engine.step(close, step_bars, now, known)
        equity[index] = report.equity
        if report.fills or report.denials or report.rejected or report.skipped:
            _collect(report, fills, signals, open_signals, rejections)
        index += 1
    codes = np.bincount(timeline.regimes.codes[first:], minlength=len(REGIME_CODES))
    return BacktestResult(
        times=closes[first:].astype(np.int64),
        equity=equity[first:],
        starting_equity=starting,
        fills=fills,
        signals=signals,
        traded_notional_usd=sum(f.quantity * f.price for f in fills),
        rejections=rejections,
        regime_bars={r.value: int(n) for r, n in zip(REGIME_CODES, codes, strict=True) if n},
        bar_steps=int(timeline.bar_counts()[first:].sum()),
        kill_switch_trips=engine.risk.trips,
    )


def _collect(
    report: StepReport,
    fills: list[Fill],
    signals: list[SignalRecord],
    open_signals: dict[str, SignalRecord],
    rejections: dict[str, int],
) -> None:
    for booked in report.fills:
        fills.append(booked.fill)
        if (
            booked.opens
            and booked.signal is not None
            and booked.fill.client_order_id not in open_signals
        ):
            record = SignalRecord(
                report.time,
                booked.fill.symbol,
                booked.strategy,
                Side.BUY,
                booked.signal.inputs,
                booked.signal.confidence,
            )
            open_signals[booked.fill.client_order_id] = record
            signals.append(record)
    for trade in report.closed:
        closed = open_signals.get(trade.signal_id)
        if closed is not None:
            del open_signals[trade.signal_id]
            closed.pnl_usd, closed.return_pct = trade.pnl_usd, trade.return_pct
    for _, denial in report.denials:
        rejections[denial.reason.value] = rejections.get(denial.reason.value, 0) + 1
    if report.rejected:
        rejections[VENUE_REJECTED] = rejections.get(VENUE_REJECTED, 0) + len(report.rejected)
    for cause, count in report.skipped.items():
        rejections[cause] = rejections.get(cause, 0) + count
