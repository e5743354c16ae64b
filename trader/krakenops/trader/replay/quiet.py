"""Quiet stretches of a replay: what the engine's steps would have done where nothing is decided."""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from krakenops.core.clock import ManualClock
from krakenops.trader.engine import TradingEngine
from krakenops.trader.replay.timeline import Timeline

__all__ = ["QuietSteps"]

DAY_SECONDS = 86_400

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class QuietSteps:
    """Takes a replay across steps at which no rule can act, in bulk and to the same end state.

    There, a step of the engine only marks the book to the new closes, rolls the risk manager
    into a new UTC day, and trips the kill switch if equity fell the daily limit. This does the
    same in bulk: equity along the stretch, the marks and peaks at its end, and the risk
    manager's own calls at the steps where they change its state or log an event.
    """

    # Up to this many steps, a stretch that may trip is walked day by day, each day's lowest
    # equity read in one call; past it, numpy's per-call cost is spread over enough steps.
    walked = 1500

    def __init__(
        self, engine: TradingEngine, timeline: Timeline, clock: ManualClock, first: int
    ) -> None:
        self.engine = engine
        self.timeline = timeline
        self.clock = clock
        self._closes = {symbol: s.last_close for symbol, s in timeline.series.items()}
        # Every step from `first` in the trading phase rolls the risk manager's day; it changes
        # at the first of each UTC day. The manager was built in the clock's day.
        trading = np.flatnonzero(timeline.trading[first:]) + first
        days = timeline.closes[trading] // DAY_SECONDS
        built = int(clock.now().timestamp()) // DAY_SECONDS
        rolls = trading[np.diff(days, prepend=built) != 0]
        self._trading = trading
        self._rolls = rolls
        # The same as lists, to bisect and walk.
        self._trading_steps: list[int] = trading.tolist()
        self._roll_steps: list[int] = rolls.tolist()
        # Per step, answered by one lookup: the first trading step at or after it (or the
        # replay's length), and the last new day's first step at or before it (or -1).
        steps = len(timeline)
        after = np.full(steps, steps, dtype=np.int64)
        after[trading] = trading
        self._next_trading: I64 = np.minimum.accumulate(after[::-1])[::-1]
        before = np.full(steps, -1, dtype=np.int64)
        before[rolls] = rolls
        self._last_roll: I64 = np.maximum.accumulate(before)

    def pass_over(self, lo: int, hi: int, equity: F64) -> None:
        """Steps `lo` to `hi - 1` decide nothing: do what they would have, filling `equity`."""
        portfolio = self.engine.portfolio
        if not portfolio.positions:
            # Flat, equity is cash all along: no curve to draw, no peak to move.
            equity[lo:hi] = portfolio.cash_usd
            self._flat_days(lo, hi, portfolio.cash_usd)
        else:
            marks = {symbol: self._closes[symbol][lo:hi] for symbol in portfolio.positions}
            curve = equity[lo:hi]
            curve[:] = portfolio.equity(marks)  # the book's own arithmetic, step by step
            for symbol, position in portfolio.positions.items():
                position.peak_price = max(position.peak_price, float(marks[symbol].max()))
            if self._next_trading.item(lo) < hi:
                self._risk_days(lo, hi, curve)
        self.mark(hi - 1)

    def mark(self, index: int) -> None:
        """Set the book's marks to the last closes known at step `index`."""
        marks = self.engine.portfolio.marks
        for symbol, closes in self._closes.items():
            close = closes.item(index)
            if not math.isnan(close):  # before the symbol's first bar it has no mark yet
                marks[symbol] = close

    def _flat_days(self, lo: int, hi: int, cash: float) -> None:
        """Roll the days and trip the kill switch where the steps of a flat book would."""
        step = self._next_trading.item(lo)
        if step >= hi:
            return
        risk = self.engine.risk
        state = risk.state
        # Cash has not moved since the last step taken, which observed it, so this cannot trip
        # through the pipeline's market orders; it guards a fill from a resting order. Only the
        # day under way can trip: if the first step opens a new day, it starts from this cash.
        if (
            not state.kill_switch
            and state.day_start_equity > 0
            and risk.down_the_daily_limit(cash, state.day_start_equity)
            and self._last_roll.item(step) != step
        ):
            self._at(step)
            risk.observe_equity()
        # A new day starts from cash and cannot lose any of it: its rolls are all that shows.
        self._new_days(lo, hi)

    def _risk_days(self, lo: int, hi: int, curve: F64) -> None:
        """Roll the days and trip the kill switch where the steps of `lo` to `hi - 1` would;
        `curve` is the equity along the stretch."""
        risk = self.engine.risk
        state = risk.state
        # Most stretches cannot trip: no day starts above the highest equity seen (or carried
        # in), and a quotient rounds monotonically in each operand, so the lowest against the
        # highest bounds every day's loss from below.
        top = max(0.0 if state.kill_switch else state.day_start_equity, float(curve.max()))
        if top > 0 and not risk.down_the_daily_limit(float(curve.min()), top):
            self._new_days(lo, hi)
        elif hi - lo <= self.walked:
            self._walk_days(lo, hi, curve.tolist())
        else:
            self._sweep_days(lo, hi, curve)

    def _new_days(self, lo: int, hi: int) -> None:
        """Roll the risk manager into the new days of a stretch in which nothing trips."""
        last = self._last_roll.item(hi - 1)
        if last < lo:
            return
        risk = self.engine.risk
        if risk.state.kill_switch:
            # The first new day resets the switch, which is logged with that day's date.
            rolls = self._roll_steps
            first = rolls[bisect_left(rolls, lo)]
            if first != last:
                self._at(first)
                risk.roll_day()
        self._at(last)
        risk.roll_day()

    def _walk_days(self, lo: int, hi: int, curve: list[float]) -> None:
        """The risk manager's days over a stretch that may trip, day by day."""
        risk = self.engine.risk
        state = risk.state
        rolls = self._roll_steps
        new_days = rolls[bisect_left(rolls, lo) : bisect_left(rolls, hi)]
        trips: list[int] = []
        # The day under way first, from its own start; then one day from each roll in the
        # stretch, from the equity at its first step with its switch off.
        tripped, start, begin = state.kill_switch, state.day_start_equity, lo
        for end in [*new_days, hi]:
            values = curve[begin - lo : end - lo]
            # The lowest equity of the day bounds each of its steps' losses from below.
            if (
                not tripped
                and start > 0
                and values
                and risk.down_the_daily_limit(min(values), start)
            ):
                trips.append(self._first_loss(begin, end, start, values))
            else:
                trips.append(-1)
            if end < hi:
                tripped, start, begin = False, curve[end - lo], end
        self._replay(new_days, trips, tripped=state.kill_switch)

    def _first_loss(self, begin: int, end: int, start: float, values: list[float]) -> int:
        """The first trading step from `begin` to `end - 1` down the daily limit, or -1."""
        risk = self.engine.risk
        trading = self._trading_steps
        for step in trading[bisect_left(trading, begin) : bisect_left(trading, end)]:
            if risk.down_the_daily_limit(values[step - begin], start):
                return step
        return -1

    def _sweep_days(self, lo: int, hi: int, curve: F64) -> None:
        """The risk manager's days over a long stretch that may trip, array-wise."""
        risk = self.engine.risk
        state = risk.state
        trading = self._between(self._trading, self._trading_steps, lo, hi)
        new_days = self._between(self._rolls, self._roll_steps, lo, hi)
        values = curve[trading - lo]
        rolls = np.zeros(trading.shape[0], dtype=np.bool_)
        rolls[np.searchsorted(trading, new_days)] = True
        day = np.cumsum(rolls)  # 0 for the day already under way, then one per new day
        # Each new day starts from the equity at its roll; the day under way from its own start.
        at_roll = np.maximum.accumulate(np.where(rolls, np.arange(trading.shape[0]), 0))
        start = curve[trading[at_roll] - lo]
        carried = 0.0 if state.kill_switch else state.day_start_equity
        start = np.where(day == 0, carried, start)
        down = risk.down_the_daily_limit(values, np.where(start > 0, start, 1.0))
        hits = np.flatnonzero((start > 0) & down)
        # Only each day's first step down the limit trips the switch.
        tripping, first = np.unique(day[hits], return_index=True)
        trips = np.full(new_days.shape[0] + 1, -1, dtype=np.int64)
        trips[tripping] = trading[hits[first]]
        self._replay(new_days.tolist(), trips.tolist(), tripped=state.kill_switch)

    def _replay(self, new_days: list[int], trips: list[int], *, tripped: bool) -> None:
        """Replay the risk manager's calls that leave a trace over the days of a stretch.

        `new_days` holds the first step of each day that starts in the stretch, `trips` the
        step at which each day trips the switch (the day under way first), or -1, and
        `tripped` whether the switch was on coming in. A trip, and a new day's reset of a
        tripped switch, are state changes with a logged event; the last new day is where the
        stretch leaves the risk manager. Any other roll's state the next one replaces whole.
        """
        risk = self.engine.risk
        last = len(new_days)
        for day, trip in enumerate(trips):
            if day:
                if tripped or trip >= 0 or day == last:
                    self._at(new_days[day - 1])
                    risk.roll_day()
                tripped = False
            if trip >= 0:
                self._at(trip)
                risk.observe_equity()
                tripped = True

    @staticmethod
    def _between(array: I64, listed: list[int], lo: int, hi: int) -> I64:
        """The steps of a sorted array (and the same as a list) from `lo` up to `hi`."""
        return array[bisect_left(listed, lo) : bisect_left(listed, hi)]

    def _at(self, index: int) -> None:
        """Move the clock and the held symbols' marks to step `index`: all the risk manager reads."""
        self.clock.set(datetime.fromtimestamp(self.timeline.closes.item(index), UTC))
        # The other symbols' marks count for nothing in equity; the stretch's last step sets them.
        marks = self.engine.portfolio.marks
        for symbol in self.engine.portfolio.positions:
            close = self._closes[symbol].item(index)
            if not math.isnan(close):
                marks[symbol] = close
