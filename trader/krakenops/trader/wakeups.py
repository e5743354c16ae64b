"""Where a replay must wake: the steps at which some rule might act, given what the book holds."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from typing import cast

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import REGIME_CODES, Regime
from krakenops.trader.strategies import (
    Ahead,
    ExitsAhead,
    Strategy,
    StrategySelector,
    Watch,
    Watchful,
)
from krakenops.trader.timeline import SymbolSeries, Timeline

__all__ = ["Wakeups"]

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

# How many of a held symbol's bars an exit rule is read ahead at a time: most holds end sooner.
AHEAD_BARS = 256

_RECOVERY = len(REGIME_CODES)  # the selector's extra row, after the regimes' own


class Wakeups:
    """Steps at which a decision could differ from doing nothing, for each state of a symbol.

    A step is asked of the engine when some symbol with a warm bar in the trading phase is
    watched there: unheld, by an active strategy's entry rule; held, by an active strategy's
    rule for held symbols or by the exit rule of the strategy that owns it. Strategies that do
    not say where they watch (see `Watchful`) are taken to watch every bar.
    """

    def __init__(
        self, timeline: Timeline, strategies: Mapping[str, Strategy], selector: StrategySelector
    ) -> None:
        self.steps = len(timeline)
        self.reads_exits_ahead: dict[str, bool] = {
            name: isinstance(rules, ExitsAhead) for name, rules in strategies.items()
        }
        active = _active_steps(timeline, strategies, selector)
        # Sorted step lists: bisect on a list costs a fraction of searchsorted on an array.
        self._flat: dict[str, list[int]] = {}
        self._held: dict[str, Mask] = {}
        # Exit rules that say where they act whatever the position; the others are absent.
        self._exit: dict[str, dict[str, Mask]] = {}
        self._held_by: dict[tuple[str, str], list[int]] = {}
        self._decidable: dict[str, I64] = {}
        self._timeline = timeline
        self._strategies = strategies
        # What each held position's exit rule was read ahead on, for the stretch passed over.
        self._ahead: dict[str, tuple[ExitsAhead, I64, Ahead]] = {}
        for symbol, series in timeline.series.items():
            decidable = series.warm_at & timeline.trading
            flat = np.zeros(self.steps, dtype=np.bool_)
            held = np.zeros(self.steps, dtype=np.bool_)
            exits: dict[str, Mask] = {}
            for name, strategy in strategies.items():
                watch = _watch(strategy, series)
                flat |= active[name] & _on_steps(series, watch.entries_flat, self.steps)
                held |= active[name] & _on_steps(series, watch.entries_held, self.steps)
                if watch.exit is not None:
                    exits[name] = decidable & _on_steps(series, watch.exit, self.steps)
            self._flat[symbol] = np.flatnonzero(flat & decidable).tolist()
            self._held[symbol] = held & decidable
            self._exit[symbol] = exits
            self._decidable[symbol] = np.flatnonzero(decidable)

    def next(self, index: int, positions: Mapping[str, Position]) -> int:
        """The first step at or after `index` the engine must take; `steps` if there is none."""
        first = self.steps
        self._ahead.clear()
        for symbol, unheld in self._flat.items():
            position = positions.get(symbol)
            if position is None:
                watched = unheld
            else:
                watched = self._held_steps(symbol, position.strategy)
                owner = position.strategy
                if self.reads_exits_ahead.get(owner) and owner not in self._exit[symbol]:
                    rules = cast("ExitsAhead", self._strategies[owner])
                    first = min(first, self._read_ahead(symbol, rules, position, index))
            at = bisect_left(watched, index)
            if at < len(watched) and watched[at] < first:
                first = watched[at]
        return first

    def catch_up(self, hi: int, positions: Mapping[str, Position]) -> None:
        """The stretch up to step `hi` was passed over: let exit rules that were read ahead do
        what they would have done at its bars."""
        for symbol, (rules, steps, ahead) in self._ahead.items():
            rules.catch_up(positions[symbol], ahead, int(np.searchsorted(steps, hi)))

    def _read_ahead(self, symbol: str, rules: ExitsAhead, position: Position, index: int) -> int:
        decidable = self._decidable[symbol]
        at = int(np.searchsorted(decidable, index))
        steps = decidable[at : at + AHEAD_BARS]
        if not steps.shape[0]:
            return self.steps
        series = self._timeline.series[symbol]
        rows = series.row_at[steps]
        # The peak moves with every bar's mark, decided or not (the window's bars too).
        since = int(np.searchsorted(series.step_of_row, index))
        marked = np.maximum.accumulate(series.bars.close[since : int(rows[-1]) + 1])
        ahead = Ahead(
            series.features[rows],
            series.bars.close[rows],
            self._timeline.closes[steps],
            np.maximum(marked[rows - since], position.peak_price),
        )
        self._ahead[symbol] = (rules, steps, ahead)
        fires = rules.exit_ahead(position, ahead)
        if fires < len(ahead):
            return int(steps[fires])
        # Nothing fires within the bars read: take the last of them and read on from there.
        return int(steps[-1]) if len(ahead) == AHEAD_BARS else self.steps

    def _held_steps(self, symbol: str, owner: str) -> list[int]:
        key = (symbol, owner)
        steps = self._held_by.get(key)
        if steps is None:
            held = self._held[symbol]
            exits = self._exit[symbol].get(owner)
            if exits is None and not self.reads_exits_ahead.get(owner, False):
                # An exit rule that cannot say where it acts is asked at every bar it could; a
                # position no rule owns is sold at the first.
                exits = self._decidable_mask(symbol)
            steps = np.flatnonzero(held if exits is None else held | exits).tolist()
            self._held_by[key] = steps
        return steps

    def _decidable_mask(self, symbol: str) -> Mask:
        mask = np.zeros(self.steps, dtype=np.bool_)
        mask[self._decidable[symbol]] = True
        return mask


def _watch(strategy: Strategy, series: SymbolSeries) -> Watch:
    if isinstance(strategy, Watchful):
        return strategy.watch(series.features, series.bars.close)
    every = np.ones(len(series.bars), dtype=np.bool_)
    return Watch(every, every, None)


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
