"""Quiet stretches of a replay: what the engine's steps would have done where nothing is decided."""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from krakenops.core.clock import ManualClock
from krakenops.trader.engine import TradingEngine
from krakenops.trader.timeline import Timeline

__all__ = ["QuietSteps"]

DAY_SECONDS = 86_400

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class QuietSteps:
    """Takes a replay across steps at which no rule can act, in bulk and to the same end state.

    There, a step of the engine only marks the book to the new closes, rolls the risk manager
    into a new UTC day, and trips the kill switch if equity fell the daily limit. This does the
    same, array-wise: equity along the stretch, the marks and peaks at its end, and the risk
    manager's own calls at the steps where they change what it will answer next.
    """

    def __init__(
        self, engine: TradingEngine, timeline: Timeline, clock: ManualClock, first: int
    ) -> None:
        self.engine = engine
        self.timeline = timeline
        self.clock = clock
        # Every step from `first` in the trading phase rolls the risk manager's day; it changes
        # at the first of each UTC day. The manager was built in the clock's day.
        trading = np.flatnonzero(timeline.trading[first:]) + first
        days = timeline.closes[trading] // DAY_SECONDS
        built = int(clock.now().timestamp()) // DAY_SECONDS
        rolls = trading[np.diff(days, prepend=built) != 0]
        # Each as an array to slice and a list to bisect: a stretch is found in either cheaply.
        self._rolls: tuple[I64, list[int]] = (rolls, rolls.tolist())
        self._trading: tuple[I64, list[int]] = (trading, trading.tolist())

    def pass_over(self, lo: int, hi: int, equity: F64) -> None:
        """Steps `lo` to `hi - 1` decide nothing: do what they would have, filling `equity`."""
        portfolio = self.engine.portfolio
        if not portfolio.positions:
            # Flat, equity is cash all along: no curve to draw, no peak to move.
            equity[lo:hi] = portfolio.cash_usd
            self._flat_days(lo, hi, portfolio.cash_usd)
            self.mark(hi - 1)
            return
        curve = np.full(hi - lo, portfolio.cash_usd)
        for symbol, position in portfolio.positions.items():
            marks = self.timeline.series[symbol].last_close[lo:hi]
            # In Portfolio.equity's order of operations, so that each value is the same float.
            curve = curve + position.quantity * marks
            peak = float(marks.max())
            position.peak_price = max(position.peak_price, peak)
        equity[lo:hi] = curve
        self._risk_days(lo, hi, curve)
        self.mark(hi - 1)

    def mark(self, index: int) -> None:
        """Set the book's marks to the last closes known at step `index`."""
        marks = self.engine.portfolio.marks
        for symbol, series in self.timeline.series.items():
            close = float(series.last_close[index])
            if not math.isnan(close):  # before the symbol's first bar it has no mark yet
                marks[symbol] = close

    def _flat_days(self, lo: int, hi: int, cash: float) -> None:
        risk = self.engine.risk
        trading = self._between(self._trading, lo, hi)
        if not trading.shape[0]:
            return
        state = risk.state
        # Cash has not moved since the last step taken, which observed it, so this cannot trip
        # through the pipeline's market orders; it guards a fill from a resting order.
        if (
            not state.kill_switch
            and state.day_start_equity > 0
            and cash / state.day_start_equity - 1.0 <= -risk.limits.max_daily_loss
        ):
            self._at(int(trading[0]))
            risk.observe_equity()
        rolls = self._between(self._rolls, lo, hi)
        if rolls.shape[0]:
            # A new day starts from cash and cannot lose any of it: its roll is all that shows.
            self._at(int(rolls[-1]))
            risk.roll_day()

    def _risk_days(self, lo: int, hi: int, curve: F64) -> None:
        """Roll the days and trip the kill switch where the steps of `lo` to `hi - 1` would."""
        trading = self._between(self._trading, lo, hi)
        if not trading.shape[0]:
            return
        risk = self.engine.risk
        state = risk.state
        limit = risk.limits.max_daily_loss
        new_days = self._between(self._rolls, lo, hi)
        values = curve[trading - lo]
        # Most stretches cannot trip: no day starts above the highest equity seen (or carried
        # in), so the lowest against the highest bounds every day's loss from below.
        top = max(0.0 if state.kill_switch else state.day_start_equity, float(values.max()))
        if top > 0 and float(values.min()) / top - 1.0 > -limit:
            if new_days.shape[0]:
                self._at(int(new_days[-1]))
                risk.roll_day()
            return
        rolls = np.zeros(trading.shape[0], dtype=np.bool_)
        rolls[np.searchsorted(trading, new_days)] = True
        day = np.cumsum(rolls)  # 0 for the day already under way, then one per new day
        # Each new day starts from the equity at its roll; the day under way from its own start.
        at_roll = np.maximum.accumulate(np.where(rolls, np.arange(trading.shape[0]), 0))
        start = curve[trading[at_roll] - lo]
        carried = 0.0 if state.kill_switch else state.day_start_equity
        start = np.where(day == 0, carried, start)
        change = values / np.where(start > 0, start, 1.0) - 1.0
        hits = np.flatnonzero((start > 0) & (change <= -limit))
        # A trip is a state change (and a logged event) that the next day's roll clears: replay
        # each day that trips, then the last roll, in order.
        tripped = set()
        for hit in hits.tolist():
            if day[hit] in tripped:
                continue
            tripped.add(int(day[hit]))
            if day[hit]:
                self._at(int(trading[at_roll[hit]]))
                risk.roll_day()
            self._at(int(trading[hit]))
            risk.observe_equity()
        last = int(day[-1])
        if last and last not in tripped:
            self._at(int(trading[at_roll[-1]]))
            risk.roll_day()

    @staticmethod
    def _between(steps: tuple[I64, list[int]], lo: int, hi: int) -> I64:
        """The steps of a sorted array from `lo` up to `hi`."""
        array, listed = steps
        return array[bisect_left(listed, lo) : bisect_left(listed, hi)]

    def _at(self, index: int) -> None:
        self.clock.set(datetime.fromtimestamp(int(self.timeline.closes[index]), UTC))
        self.mark(index)
