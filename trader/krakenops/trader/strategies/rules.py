"""Strategies stated as rules, each written once for the step and the replay alike."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from krakenops.trader.portfolio import Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies.base import RANGE_24, Signal, SignalKind, Step, SymbolView

__all__ = [
    "Ahead",
    "Columns",
    "Held",
    "Rule",
    "Rules",
    "Values",
    "fires",
    "first_reason",
    "ranges_from",
]

Mask = npt.NDArray[np.bool_]

# A rule is one expression over feature columns, written with comparisons, `&` and `|` (never
# `and`, `or` or `not`): `f[TREND]` is one bar's float when a step asks it, and every bar's
# column when a replay reads ahead, so the same expression decides a bar and marks a history.
Columns = Any  # a bar's feature tuple, or the transposed feature table
Values = Any  # a float, or an array with one value per bar
Rule = tuple[str, Any]  # (the signal's reason, whether it fires: a bool or a mask)


@dataclass(frozen=True, slots=True)
class Held:
    """A position as exit rules read it, at one bar (floats) or along the bars ahead (arrays)."""

    entry: float
    stop: Values
    hours: Values  # since it opened


@dataclass(frozen=True, slots=True)
class Ahead:
    """A held symbol's next bars at which exit rules run, as each would see them one by one."""

    features: npt.NDArray[np.float64]  # a row per bar, in FEATURE_NAMES order
    close: npt.NDArray[np.float64]
    time: npt.NDArray[np.int64]  # each bar's close, Unix seconds (SymbolView.time)
    # The position's peak_price once marked at each bar; read only by a trailing stop.
    peak: npt.NDArray[np.float64] | None

    def __len__(self) -> int:
        return int(self.close.shape[0])


def fires(rules: Sequence[Rule], bars: int) -> Mask:
    """Where any of `rules` fires, over `bars` bars read ahead."""
    mask = np.zeros(bars, dtype=np.bool_)
    for _, cond in rules:
        np.logical_or(mask, cond, out=mask)
    return mask


def ranges_from(price: Values, ranges: float, f: Columns) -> Values:
    """`price` moved by `ranges` average hourly ranges (`range_24`), up or (negative) down."""
    return price * (1.0 + ranges * f[RANGE_24])


def first_reason(rules: Sequence[Rule]) -> str | None:
    """The reason of the first rule that fires at one bar; None if none does."""
    for reason, cond in rules:
        if cond:
            return reason
    return None


class Rules:
    """A strategy stated as rules, each written once: a step asks them of its bar, a replay
    reads them ahead over the history (see `krakenops.trader.replay.wakeups`).

    A subclass states:
    - `entry_rules`: when a symbol the book does not hold is bought, and why;
    - `reduce_rules`: where a held symbol may be sold down (defensive strategies; the sale
      itself is decided by `entries`);
    - `exit_rules`: when a position it opened is sold, besides the rules given as data;
    and as data, read by the step and the read-ahead alike: `stop_ranges` (the entry's stop, in
    average hourly ranges under the close; `stop_exits`, whether it sells), `trail_ranges` (a
    stop that trails the peak), `target_ranges` (take profit over the entry), `max_hours` (time
    limit), `max_positions`, and `memory_hours` (how long an exit's price is remembered for
    `entry_rules`).

    A subclass that overrides `entries` (to size a sale, or to skip what a rule cannot see) may
    only signal where `entry_rules` or `reduce_rules` fire: a replay takes no other step.
    """

    name: str
    regimes: frozenset[Regime]
    hedges: bool = False
    stop_ranges: float = 0.0
    stop_exits: bool = True  # False: the entry's stop only sizes it, and never sells it
    trail_ranges: float | None = None
    target_ranges: float | None = None
    max_hours: float | None = None
    max_positions: int | None = None
    memory_hours: float = 0.0

    def __init__(self) -> None:
        self._exits: dict[str, tuple[int, float]] = {}  # symbol -> (time, price) of last exit

    @staticmethod
    def held(step: Step) -> Iterator[tuple[Position, SymbolView]]:
        """The book's positions with a fresh bar at this step, and their markets."""
        for symbol, position in step.portfolio.positions.items():
            market = step.markets.get(symbol)
            if market is not None:
                yield position, market

    def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
        """Rules to open a position; `exit_price` is the price of this strategy's last exit of
        the symbol while remembered (see `memory_hours`), else NaN."""
        return ()

    def reduce_rules(self, f: Columns, close: Values) -> Values:
        """Where this strategy may sell down a held symbol."""
        return False

    def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
        """Rules to close a position it owns, between the stop (and target) and the time limit.

        They read only their arguments (no state the strategy changes as it trades): a replay
        evaluates them once over the history when they do not read `held`.
        """
        return ()

    # what a step asks

    def entries(self, step: Step) -> list[Signal]:
        """Signals to open positions at this step, on the symbols the book does not hold."""
        limit = self.max_positions
        room = math.inf if limit is None else limit - len(step.owned(self.name))
        signals: list[Signal] = []
        for symbol, market in step.markets.items():
            if room <= 0:
                break
            if symbol in step.portfolio.positions:
                continue
            f, close = market.features, market.close
            reason = first_reason(self.entry_rules(f, close, self.remembered(symbol, step.time)))
            if reason is not None:
                stop = ranges_from(close, -self.stop_ranges, f)
                signals.append(Signal(self.name, symbol, SignalKind.ENTER, stop, reason=reason))
                room -= 1
        return signals

    def exit(self, position: Position, market: SymbolView, step: Step) -> Signal | None:
        """Whether a position this strategy opened should close now."""
        f, close = market.features, market.close
        if self.trail_ranges is not None:
            # A trailing stop only ever rises.
            trailing = ranges_from(position.peak_price, -self.trail_ranges, f)
            position.stop_price = max(position.stop_price, trailing)
        held = Held(position.entry_price, position.stop_price, position.hours_held(market.time))
        reason = first_reason(self.all_exit_rules(f, close, held))
        if reason is None:
            return None
        if self.memory_hours:
            self._exits[position.symbol] = (market.time, close)
        return Signal(self.name, position.symbol, SignalKind.EXIT, reason=reason)

    def all_exit_rules(self, f: Columns, close: Values, held: Held) -> list[Rule]:
        """The stop, the target, the strategy's own exit rules and the time limit, in order."""
        rules: list[Rule] = []
        if self.stop_exits:
            rules.append(("trailing stop" if self.trail_ranges else "stop", close <= held.stop))
        if self.target_ranges is not None:
            target = ranges_from(held.entry, self.target_ranges, f)
            rules.append(("target", close >= target))
        rules += self.exit_rules(f, close, held)
        if self.max_hours is not None:
            rules.append(("time limit", held.hours >= self.max_hours))
        return rules

    def remembered(self, symbol: str, time: int) -> float:
        """The price of this strategy's last exit of `symbol` if it is remembered at `time`."""
        last = self._exits.get(symbol)
        if last is None or time - last[0] > self.memory_hours * 3600:
            return math.nan
        return last[1]

    def memory(self, symbol: str) -> tuple[int, float] | None:
        """Until when (a close, Unix seconds) an exit of `symbol` is remembered, and its price."""
        last = self._exits.get(symbol)
        if last is None or not self.memory_hours:
            return None
        return last[0] + int(self.memory_hours * 3600), last[1]

    # what a replay reads ahead

    def stops_ahead(self, position: Position, ahead: Ahead) -> Values:
        """The stop at each bar of `ahead`, as `exit` would move it bar by bar."""
        if self.trail_ranges is None:
            return position.stop_price
        assert ahead.peak is not None, "a trailing stop reads the peak ahead"
        trailing = ranges_from(ahead.peak, -self.trail_ranges, ahead.features.T)
        return np.maximum.accumulate(np.maximum(trailing, position.stop_price))

    def exits_anywhere(self, f: Columns, close: Values) -> Mask | None:
        """Where the exit rules fire over a history whatever is held, if none of them reads the
        position; None if one does (the stop, the target, the time limit or the strategy's own).

        A rule that reads no position fires at the same bars for every position: a replay marks
        them once, as it marks the entries, instead of reading ahead for each position. A
        trailing stop moves the position's stop at every bar, even one that only sizes the entry
        (`stop_exits` False): its bars are read ahead.
        """
        if self.trail_ranges is not None:
            return None
        probe = _Probe()
        rules = self.all_exit_rules(f, close, cast(Held, probe))
        return None if probe.read else fires(rules, len(close))

    def exit_ahead(self, position: Position, ahead: Ahead) -> int:
        """The first bar of `ahead` at which `exit` acts on `position`; len(ahead) if none."""
        hours = (ahead.time - position.opened_at) / 3600.0
        held = Held(position.entry_price, self.stops_ahead(position, ahead), hours)
        rules = self.all_exit_rules(ahead.features.T, ahead.close, held)
        mask = fires(rules, len(ahead))
        first = int(mask.argmax())
        return first if mask[first] else len(ahead)

    def catch_up(self, position: Position, ahead: Ahead, bars: int) -> None:
        """Do to `position` what `exit` did at the first `bars` bars of `ahead`."""
        if bars and self.trail_ranges is not None:
            position.stop_price = float(self.stops_ahead(position, ahead)[bars - 1])


class _Probe:
    """Stands in for `Held` to learn whether exit rules read the position at all."""

    read = False

    def _reads(self) -> float:
        self.read = True
        return math.nan

    entry = property(_reads)
    stop = property(_reads)
    hours = property(_reads)
