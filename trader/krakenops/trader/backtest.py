"""Backtests: the paper-trading engine itself, driven over recorded bars by a simulated clock."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.trader.engine import StepReport, TradingEngine
from krakenops.trader.model import ConfidenceModel
from krakenops.trader.orders import Fill, Side
from krakenops.trader.paper import PaperKrakenSimulator
from krakenops.trader.pipeline import Bar, DecisionPipeline
from krakenops.trader.portfolio import Portfolio
from krakenops.trader.risk import RiskManager

__all__ = ["BacktestResult", "SignalRecord", "aligned_steps", "build_engine", "run_backtest"]


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


def aligned_steps(bars: Mapping[str, Bars]) -> Iterator[tuple[int, dict[str, Bar]]]:
    """Every hour at least one symbol has a bar, with the bars of that hour by symbol.

    Kraken writes no bar for an hour without trades: such a symbol is absent from that step and
    is neither re-marked nor traded until its next bar.
    """
    series = [(symbol, b) for symbol, b in bars.items() if len(b)]
    if not series:
        return
    times = np.unique(np.concatenate([b.time for _, b in series]))
    cursors = {symbol: 0 for symbol, _ in series}
    columns = {
        symbol: (
            b.time.tolist(),
            b.open.tolist(),
            b.high.tolist(),
            b.low.tolist(),
            b.close.tolist(),
            b.volume.tolist(),
        )
        for symbol, b in series
    }
    for t in times.tolist():
        step: dict[str, Bar] = {}
        for symbol, (tt, o, h, lo, c, v) in columns.items():
            i = cursors[symbol]
            if i < len(tt) and tt[i] == t:
                step[symbol] = Bar(t, o[i], h[i], lo[i], c[i], v[i])
                cursors[symbol] = i + 1
        yield t, step


def build_engine(
    config: EnvironmentConfig,
    clock: ManualClock,
    model: ConfidenceModel | None,
    symbols: tuple[str, ...],
) -> TradingEngine:
    """The paper-trading engine with nothing on disk: simulator, risk manager, pipeline."""
    spec = config.spec
    simulator = PaperKrakenSimulator.from_settings(spec.paper, clock)
    portfolio = Portfolio(simulator.balances()["USD"])
    risk = RiskManager(spec.risk, spec.downtime.window(), clock, portfolio)
    pipeline = DecisionPipeline(symbols, spec.risk, portfolio, lambda: model)
    return TradingEngine(pipeline, risk, simulator, portfolio, log_decisions=False)


def run_backtest(
    config: EnvironmentConfig,
    bars: Mapping[str, Bars],
    model: ConfidenceModel | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
) -> BacktestResult:
    """Trade the configured universe over `bars` from `start_time` to `end_time` (bar open times).

    Bars before `start_time` only warm the features and the regime. A step runs at each bar's
    close and sees nothing later; orders fill at that close. Symbols of the universe without bars
    are not traded; bars of symbols outside the universe are ignored.
    """
    symbols = tuple(s for s in config.spec.universe.symbols if s in bars and len(bars[s]))
    if not symbols:
        raise ValueError(f"no bars for any of {config.spec.universe.symbols}")
    chosen = {s: bars[s].between(None, end_time) for s in symbols}
    first = min(int(b.time[0]) for b in chosen.values() if len(b))
    clock = ManualClock(datetime.fromtimestamp(first, UTC))
    engine = build_engine(config, clock, model, symbols)
    starting = engine.portfolio.equity()
    times: list[int] = []
    equity: list[float] = []
    fills: list[Fill] = []
    open_signals: dict[str, SignalRecord] = {}
    signals: list[SignalRecord] = []
    rejections: dict[str, int] = {}
    regime_bars: dict[str, int] = {}
    bar_steps = 0
    for t, step_bars in aligned_steps(chosen):
        close = t + BAR_SECONDS
        clock.set(datetime.fromtimestamp(close, UTC))
        if start_time is not None and t < start_time:
            engine.pipeline.warm_up(step_bars)
            continue
        report = engine.step(close, step_bars)
        bar_steps += len(step_bars)
        times.append(close)
        equity.append(report.equity)
        regime_bars[report.regime.value] = regime_bars.get(report.regime.value, 0) + 1
        _collect(report, fills, signals, open_signals, rejections)
    return BacktestResult(
        times=np.asarray(times, dtype=np.int64),
        equity=np.asarray(equity, dtype=np.float64),
        starting_equity=starting,
        fills=fills,
        signals=signals,
        traded_notional_usd=sum(f.quantity * f.price for f in fills),
        rejections=rejections,
        regime_bars=regime_bars,
        bar_steps=bar_steps,
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
        rejections["venue_rejected"] = rejections.get("venue_rejected", 0) + len(report.rejected)
    for cause, count in report.skipped.items():
        rejections[cause] = rejections.get(cause, 0) + count
