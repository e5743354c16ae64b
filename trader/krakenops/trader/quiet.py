"""Quiet stretches of a replay: what the engine's steps would have done where nothing is decided."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from krakenops.core.clock import ManualClock
from krakenops.trader.engine import TradingEngine
from krakenops.trader.timeline import Timeline

__all__ = ["QuietSteps"]

DAY_SECONDS = 86_400


class QuietSteps:
    """Takes a replay across steps at which no rule can act, in bulk and to the same end state.

    There, a step of the engine only marks the book to the new closes, rolls the risk manager
    into a new UTC day, and trips the kill switch if equity fell the daily limit. This does the
    same, array-wise: equity along the stretch, the marks and peaks at its end, and the risk
    manager's own calls at exactly the steps where a day begins or the limit is reached.
    """

    def __init__(self, engine: TradingEngine, timeline: Timeline, clock: ManualClock) -> None:
        self.engine = engine
        self.timeline = timeline
        self.clock = clock
        self._days = timeline.closes // DAY_SECONDS
        # The risk manager rolled into the clock's day when it was built.
        self.day = int(clock.now().timestamp()) // DAY_SECONDS

    def stepped(self, index: int) -> None:
        """The engine took step `index`: in the trading phase that rolled the risk day."""
        if self.timeline.trading[index]:
            self.day = int(self._days[index])

    def pass_over(self, lo: int, hi: int, equity: npt.NDArray[np.float64]) -> None:
        """Steps `lo` to `hi - 1` decide nothing: do what they would have, filling `equity`."""
        portfolio = self.engine.portfolio
        curve = np.full(hi - lo, portfolio.cash_usd)
        for symbol, position in portfolio.positions.items():
            marks = self.timeline.series[symbol].last_close[lo:hi]
            # In Portfolio.equity's order of operations, so that each value is the same float.
            curve = curve + position.quantity * marks
            peak = float(marks.max())
            position.peak_price = max(position.peak_price, peak)
        equity[lo:hi] = curve
        trading = np.flatnonzero(self.timeline.trading[lo:hi]) + lo
        if trading.shape[0]:
            self._risk_days(trading, curve[trading - lo])
        self.mark(hi - 1)

    def mark(self, index: int) -> None:
        """Set the book's marks to the last closes known at step `index`."""
        marks = self.engine.portfolio.marks
        for symbol, series in self.timeline.series.items():
            close = float(series.last_close[index])
            if not math.isnan(close):  # before the symbol's first bar it has no mark yet
                marks[symbol] = close

    def _risk_days(self, steps: npt.NDArray[np.int64], curve: npt.NDArray[np.float64]) -> None:
        risk = self.engine.risk
        days = self._days[steps]
        # Stretches of one UTC day; each but perhaps the first opens with the risk manager's roll.
        rolls = set(np.flatnonzero(np.diff(days, prepend=self.day) != 0).tolist())
        bounds = [*sorted(rolls | {0}), steps.shape[0]]
        for a, b in itertools.pairwise(bounds):
            if a in rolls:
                self._at(int(steps[a]))
                risk.roll_day()
            state = risk.state
            if state.kill_switch or state.day_start_equity <= 0:
                continue
            change = curve[a:b] / state.day_start_equity - 1.0
            hit = np.flatnonzero(change <= -risk.limits.max_daily_loss)
            if hit.shape[0]:
                self._at(int(steps[a + int(hit[0])]))
                risk.observe_equity()
        self.day = int(days[-1])

    def _at(self, index: int) -> None:
        self.clock.set(datetime.fromtimestamp(int(self.timeline.closes[index]), UTC))
        self.mark(index)
