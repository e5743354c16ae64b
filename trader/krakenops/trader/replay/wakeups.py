"""Where a replay must wake: the steps at which some rule might act, given what the book holds."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import REGIME_CODES, Regime
from krakenops.trader.replay.timeline import SymbolSeries, Timeline
from krakenops.trader.strategies import Ahead, Rules, Strategy, StrategySelector
from krakenops.trader.strategies.rules import fires

__all__ = ["Wakeups"]

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# How many of a held symbol's bars exit rules are read ahead at first (most holds end sooner),
# and at the most, before the engine takes a step there and reads on.
AHEAD_BARS = 64
MOST_AHEAD_BARS = 2048

_RECOVERY = len(REGIME_CODES)  # the selector's extra row, after the regimes' own


class Wakeups:
    """Steps at which a decision could differ from doing nothing, for each state of a symbol.

    A step is asked of the engine when some symbol with a warm bar in the trading phase is
    watched there: unheld, by an active strategy's entry rules (with the price of its last exit
    while it remembers one); held, by an active strategy's reduce rule or by the exit rules of
    the strategy that owns it: marked over the whole history if they read no position, else
    read ahead over the position's next bars. Each is the strategy's own rule (see `Rules`);
    strategies not written as rules are asked every bar.
    """

    def __init__(
        self, timeline: Timeline, strategies: Mapping[str, Strategy], selector: StrategySelector
    ) -> None:
        self.steps = len(timeline)
        self.rules: dict[str, Rules] = {
            name: rules for name, rules in strategies.items() if isinstance(rules, Rules)
        }
        self._active = _active_steps(timeline, strategies, selector)
        # Sorted step lists: bisect on a list costs a fraction of searchsorted on an array.
        self._flat: dict[str, list[int]] = {}
        self._held: dict[str, Mask] = {}
        # Per held symbol and owner: the steps to wake at, and whether the owner's exit rules
        # must still be read ahead for each position (they read the position).
        self._held_by: dict[tuple[str, str], tuple[list[int], bool]] = {}
        self._decidable: dict[str, I64] = {}
        self._bars: dict[str, tuple[F64, F64, I64, I64]] = {}
        self._timeline = timeline
        # What each held position's exit rules were read ahead on, for the stretch passed over.
        self._ahead: dict[str, tuple[Rules, I64, Ahead]] = {}
        for symbol, series in timeline.series.items():
            decidable = series.warm_at & timeline.trading
            flat = np.zeros(self.steps, dtype=np.bool_)
            held = np.zeros(self.steps, dtype=np.bool_)
            columns, close = series.features.T, series.bars.close
            for name in strategies:
                rules = self.rules.get(name)
                if rules is None:  # asked every bar
                    flat |= self._active[name]
                    held |= self._active[name]
                    continue
                entries = fires(rules.entry_rules(columns, close, math.nan), len(close))
                reduces = fires([("", rules.reduce_rules(columns, close))], len(close))
                flat |= self._active[name] & _on_steps(series, entries, self.steps)
                held |= self._active[name] & _on_steps(series, reduces, self.steps)
            self._flat[symbol] = np.flatnonzero(flat & decidable).tolist()
            self._held[symbol] = held & decidable
            steps = self._decidable[symbol] = np.flatnonzero(decidable)
            rows = series.row_at[steps]
            # The decidable bars' features, closes and times in a row: a read ahead slices them.
            self._bars[symbol] = (series.features[rows], close[rows], timeline.closes[steps], rows)

    def next(self, index: int, positions: Mapping[str, Position]) -> int:
        """The first step at or after `index` the engine must take; `steps` if there is none."""
        first = self.steps
        self._ahead.clear()
        for symbol, unheld in self._flat.items():
            position = positions.get(symbol)
            if position is None:
                watched = unheld
                first = min(first, self._remembered(symbol, index, first))
            else:
                watched, read_ahead = self._held_steps(symbol, position.strategy)
            at = bisect_left(watched, index)
            if at < len(watched) and watched[at] < first:
                first = watched[at]
            if position is not None and read_ahead:
                rules = self.rules[position.strategy]
                first = self._read_ahead(symbol, rules, position, index, first)
        return first

    def catch_up(self, hi: int, positions: Mapping[str, Position]) -> None:
        """The stretch up to step `hi` was passed over: let exit rules that were read ahead do
        what they would have done at its bars."""
        for symbol, (rules, steps, ahead) in self._ahead.items():
            rules.catch_up(positions[symbol], ahead, int(np.searchsorted(steps, hi)))

    def _remembered(self, symbol: str, index: int, first: int) -> int:
        """The first step from `index` (before `first`) at which an entry rule that remembers
        an exit of the unheld `symbol` fires with that exit's price; `first` if none."""
        for name, rules in self.rules.items():
            memory = rules.memory(symbol)
            if memory is None:
                continue
            until, price = memory
            decidable = self._decidable[symbol]
            at = int(np.searchsorted(decidable, index))
            end = int(np.searchsorted(self._timeline.closes, until, side="right"))
            steps = decidable[at : int(np.searchsorted(decidable, min(end, first)))]
            steps = steps[self._active[name][steps]]
            if not steps.shape[0]:
                continue
            series = self._timeline.series[symbol]
            rows = series.row_at[steps]
            close = series.bars.close[rows]
            hits = np.flatnonzero(
                fires(rules.entry_rules(series.features[rows].T, close, price), len(close))
            )
            if hits.shape[0]:
                first = int(steps[hits[0]])
        return first

    def _read_ahead(
        self, symbol: str, rules: Rules, position: Position, index: int, before: int
    ) -> int:
        """The first step from `index` at which the owner's exit rules act on `position`, read
        ahead over the symbol's decidable steps before `before`; `before` if none does."""
        decidable = self._decidable[symbol]
        at = int(np.searchsorted(decidable, index))
        end = int(np.searchsorted(decidable, before))
        features, closes, times, rows = self._bars[symbol]
        series = self._timeline.series[symbol]
        bars = AHEAD_BARS
        while at < end:
            ahead_end = min(at + bars, end)
            peak = None
            if rules.trail_ranges is not None:
                # The peak moves with every bar's mark, decided or not (the window's bars too).
                since = int(np.searchsorted(series.step_of_row, index))
                marked = np.maximum.accumulate(
                    series.bars.close[since : int(rows[ahead_end - 1]) + 1]
                )
                peak = np.maximum(marked[rows[at:ahead_end] - since], position.peak_price)
            ahead = Ahead(features[at:ahead_end], closes[at:ahead_end], times[at:ahead_end], peak)
            self._ahead[symbol] = (rules, decidable[at:ahead_end], ahead)
            fired = rules.exit_ahead(position, ahead)
            if fired < len(ahead):
                return int(decidable[at + fired])
            if ahead_end >= end:
                break
            if bars >= MOST_AHEAD_BARS:
                # Nothing fires within the bars read: take the last of them and read on from there.
                return int(decidable[ahead_end - 1])
            bars *= 4  # most holds end soon; a long one is read again, further
        return before

    def _held_steps(self, symbol: str, owner: str) -> tuple[list[int], bool]:
        """The steps at which a position of `symbol` held by `owner` may be sold, and whether
        the owner's exit rules must still be read ahead for the position itself."""
        key = (symbol, owner)
        known = self._held_by.get(key)
        if known is None:
            held, rules = self._held[symbol], self.rules.get(owner)
            exits = None
            if rules is None:
                # Exit rules not written as rules are asked at every bar they could be; a
                # position no rule owns is sold at the first.
                held = held | self._decidable_mask(symbol)
            else:
                series = self._timeline.series[symbol]
                exits = rules.exits_anywhere(series.features.T, series.bars.close)
                if exits is not None:
                    held = held | (
                        _on_steps(series, exits, self.steps) & self._decidable_mask(symbol)
                    )
            known = self._held_by[key] = (
                np.flatnonzero(held).tolist(),
                rules is not None and exits is None,
            )
        return known

    def _decidable_mask(self, symbol: str) -> Mask:
        mask = np.zeros(self.steps, dtype=np.bool_)
        mask[self._decidable[symbol]] = True
        return mask


def _on_steps(series: SymbolSeries, per_bar: Mask, steps: int) -> Mask:
    mask = np.zeros(steps, dtype=np.bool_)
    mask[series.step_of_row] = per_bar
    return mask


def _active_steps(
    timeline: Timeline, strategies: Mapping[str, Strategy], selector: StrategySelector
) -> dict[str, Mask]:
    """For each strategy, the steps at which the selector has it active."""
    regimes = timeline.regimes
    codes = regimes.codes.astype(np.int64)
    neutral = REGIME_CODES.index(Regime.NEUTRAL)
    rows = np.where(regimes.recovering_mask & (codes == neutral), _RECOVERY, codes)
    members: dict[str, list[int]] = {name: [] for name in strategies}
    for code, regime in enumerate(REGIME_CODES):
        for name in selector.select(regime).active:
            members.setdefault(name, []).append(code)
    for name in selector.select(Regime.NEUTRAL, recovering=True).active:
        members.setdefault(name, []).append(_RECOVERY)
    return {name: np.isin(rows, members[name]) for name in strategies}
