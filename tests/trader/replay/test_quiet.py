"""Quiet stretches passed over in bulk end where the engine's own steps across them would."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.trader.engine import TradingEngine, build_engine
from krakenops.trader.portfolio import Position
from krakenops.trader.replay.quiet import QuietSteps
from krakenops.trader.replay.timeline import Timeline
from krakenops.trader.venues.paper.client import PaperKrakenSimulator
from tests.conftest import PAPER_CONFIG

CONFIG = load_config(PAPER_CONFIG)
BARS = {s: load_symbol(s) for s in ("BTC", "ETH")}


class Events(logging.Handler):
    """The risk manager's logged events, in order."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((getattr(record, "event", ""), record.getMessage()))


@contextmanager
def risk_events() -> Iterator[Events]:
    logger = logging.getLogger("krakenops.trader.risk")
    events, level = Events(), logger.level
    logger.addHandler(events)
    logger.setLevel(logging.INFO)  # the switch's reset is logged at INFO
    try:
        yield events
    finally:
        logger.removeHandler(events)
        logger.setLevel(level)


def with_daily_loss(config: EnvironmentConfig, limit: float) -> EnvironmentConfig:
    risk = config.spec.risk.model_copy(update={"max_daily_loss": limit})
    return config.model_copy(update={"spec": config.spec.model_copy(update={"risk": risk})})


def with_gap(bars: Bars, lo: int, hi: int) -> Bars:
    """`bars` without the rows from `lo` to `hi - 1`: hours without trades."""
    keep = np.ones(len(bars), dtype=np.bool_)
    keep[lo:hi] = False
    return replace(
        bars,
        time=bars.time[keep],
        open=bars.open[keep],
        high=bars.high[keep],
        low=bars.low[keep],
        close=bars.close[keep],
        volume=bars.volume[keep],
        trades=bars.trades[keep],
    )


def engine_at_start(
    config: EnvironmentConfig, timeline: Timeline
) -> tuple[TradingEngine, ManualClock]:
    clock = ManualClock(datetime.fromtimestamp(int(timeline.opens[0]), UTC))
    simulator = PaperKrakenSimulator.from_settings(config.spec.paper, clock)
    return build_engine(
        config, clock, simulator, lambda: None, symbols=tuple(timeline.series)
    ), clock


def step_by_step(
    engine: TradingEngine,
    timeline: Timeline,
    clock: ManualClock,
    lo: int,
    hi: int,
    equity: npt.NDArray[np.float64],
) -> None:
    """What the engine does at each step where nothing is decided: mark, roll, observe."""
    portfolio, risk = engine.portfolio, engine.risk
    for index in range(lo, hi):
        clock.set(datetime.fromtimestamp(int(timeline.closes[index]), UTC))
        for symbol, series in timeline.series.items():
            row = int(series.row_at[index])
            if row >= 0:
                portfolio.mark(symbol, float(series.bars.close[row]))
        if timeline.trading[index]:
            risk.roll_day()
            risk.observe_equity()
        equity[index] = portfolio.equity()


def take_book(engine: TradingEngine, cash: float, holdings: dict[str, tuple[float, float]]) -> None:
    """Replace the book with `cash` and `holdings` (quantity and price by symbol)."""
    portfolio = engine.portfolio
    portfolio.cash_usd = cash
    portfolio.positions = {
        symbol: Position(symbol, "trend_follower", quantity, price, 0.0, 0, price, 1.0, 1.0)
        for symbol, (quantity, price) in holdings.items()
    }


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    walked=st.sampled_from([0, 10**9]),
    limit=st.sampled_from([0.002, 0.005, 0.01, 0.03]),
)
def test_passing_over_a_stretch_ends_where_its_steps_would(
    seed: int, walked: int, limit: float
) -> None:
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, len(BARS["BTC"]) - 800))
    steps = int(rng.integers(30, 700))
    bars = {s: b.slice(start, start + steps) for s, b in BARS.items()}
    gap = int(rng.integers(0, steps // 2))
    bars["ETH"] = with_gap(bars["ETH"], gap, gap + int(rng.integers(0, 40)))
    timeline = Timeline.build(bars, CONFIG.spec.downtime.window())
    config = with_daily_loss(CONFIG, limit)
    bulk, bulk_clock = engine_at_start(config, timeline)
    every, every_clock = engine_at_start(config, timeline)
    first = int(rng.integers(0, 30))
    quiet = QuietSteps(bulk, timeline, bulk_clock, first)
    quiet.walked = walked  # every way through a stretch
    if first:  # the warm-up's bars marked the book, as a replay does
        quiet.mark(first - 1)
        QuietSteps(every, timeline, every_clock, first).mark(first - 1)
    tripped = bool(rng.random() < 0.3)
    day_start = float(rng.choice([0.0, 1.0])) * rng.uniform(5_000, 15_000)
    for engine in (bulk, every):
        engine.risk.state.kill_switch, engine.risk.state.day_start_equity = tripped, day_start
    inside = np.arange(first + 1, len(timeline))
    cuts = rng.choice(inside, min(int(rng.integers(0, 12)), len(inside)), replace=False)
    bulk_equity, every_equity = np.zeros(len(timeline)), np.zeros(len(timeline))
    for lo, hi in pairwise([first, *sorted(cuts.tolist()), len(timeline)]):
        # Between stretches the engine may have traded: any book, as long as each holding has
        # had a bar to be bought at.
        cash = float(rng.uniform(1_000, 20_000))
        holdings = {}
        for symbol, series in timeline.series.items():
            price = float(series.last_close[lo - 1]) if lo else math.nan
            if not math.isnan(price) and rng.random() < 0.6:
                holdings[symbol] = (float(rng.uniform(0.1, 3.0)) * cash / price, price)
        take_book(bulk, cash, holdings)
        take_book(every, cash, holdings)
        with risk_events() as bulk_events:
            quiet.pass_over(lo, hi, bulk_equity)
        with risk_events() as every_events:
            step_by_step(every, timeline, every_clock, lo, hi, every_equity)
        assert bulk_equity[lo:hi].tobytes() == every_equity[lo:hi].tobytes()
        assert bulk_events.seen == every_events.seen
        assert asdict(bulk.risk.state) == asdict(every.risk.state)
        assert bulk.risk.trips == every.risk.trips
        assert bulk.portfolio.marks == every.portfolio.marks
        assert {s: p.peak_price for s, p in bulk.portfolio.positions.items()} == {
            s: p.peak_price for s, p in every.portfolio.positions.items()
        }
