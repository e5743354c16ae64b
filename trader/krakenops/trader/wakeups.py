"""Where a replay must wake: the steps at which some rule might act, given what the book holds."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies import Strategy, StrategySelector, Watch
from krakenops.trader.timeline import SymbolSeries, Timeline

__all__ = ["Wakeups"]

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

_RECOVERY = len(Regime)  # the selector's extra row, after the regimes' own


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
        active = _active_steps(timeline, strategies, selector)
        self._enter: dict[str, I64] = {}
        self._held: dict[str, Mask] = {}
        self._exit: dict[str, dict[str, Mask]] = {}
        self._held_by: dict[tuple[str, str], I64] = {}
        for symbol, series in timeline.series.items():
            decidable = series.warm_at & timeline.trading
            enter = np.zeros(self.steps, dtype=np.bool_)
            held = np.zeros(self.steps, dtype=np.bool_)
            exits: dict[str, Mask] = {}
            for name, strategy in strategies.items():
                watch = _watch(strategy, series)
                enter |= active[name] & _on_steps(series, watch.enter, self.steps)
                held |= active[name] & _on_steps(series, watch.held, self.steps)
                exits[name] = (
                    decidable
                    if watch.exit is None
                    else decidable & _on_steps(series, watch.exit, self.steps)
                )
            self._enter[symbol] = np.flatnonzero(enter & decidable)
            self._held[symbol] = held & decidable
            self._exit[symbol] = exits

    def next(self, index: int, positions: Mapping[str, Position]) -> int:
        """The first step at or after `index` the engine must take; `steps` if there is none."""
        first = self.steps
        for symbol, unheld in self._enter.items():
            position = positions.get(symbol)
            watched = unheld if position is None else self._held_steps(symbol, position.strategy)
            at = int(np.searchsorted(watched, index))
            if at < watched.shape[0] and watched[at] < first:
                first = int(watched[at])
        return first

    def _held_steps(self, symbol: str, owner: str) -> I64:
        key = (symbol, owner)
        steps = self._held_by.get(key)
        if steps is None:
            held = self._held[symbol]
            # A position of a strategy the pipeline does not know is never asked to exit.
            exits = self._exit[symbol].get(owner)
            steps = np.flatnonzero(held if exits is None else held | exits)
            self._held_by[key] = steps
        return steps


def _watch(strategy: Strategy, series: SymbolSeries) -> Watch:
    watch = getattr(strategy, "watch", None)
    if watch is None:
        every = np.ones(len(series.bars), dtype=np.bool_)
        return Watch(every, every, None)
    found: Watch = watch(series.features, series.bars.close)
    return found


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
    rows = np.where(
        regimes.recovering_mask & (codes == list(Regime).index(Regime.NEUTRAL)), _RECOVERY, codes
    )
    members: dict[str, list[int]] = {name: [] for name in strategies}
    for code, regime in enumerate(Regime):
        for name in selector.select(regime).active:
            members.setdefault(name, []).append(code)
    for name in selector.select(Regime.NEUTRAL, recovering=True).active:
        members.setdefault(name, []).append(_RECOVERY)
    return {name: np.isin(rows, members[name]) for name in strategies}
