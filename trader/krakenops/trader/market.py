"""The market as the trader reads it: closed hourly bars, an hour of them at a time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from krakenops.core.marketdata import Bars

__all__ = ["Bar", "HourBars", "KnownFeatures", "aligned_steps"]


# Per-bar records are slotted but not frozen: a frozen dataclass's __init__ stores each field
# through object.__setattr__, several times the cost of a plain one, and these are built for
# every symbol every bar. Nothing mutates them.
@dataclass(slots=True)
class Bar:
    """One closed hourly bar; `time` is its open, as in Kraken's OHLC."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def close_time(self) -> int:
        return self.time + 3600


HourBars = tuple[int, dict[str, Bar]]  # an hour's open time, and its bars by symbol

# A replay computes every bar's features ahead: by symbol, the vector and whether it is warm.
KnownFeatures = Mapping[str, tuple[tuple[float, ...], bool]]


def aligned_steps(bars: Mapping[str, Bars]) -> Iterator[HourBars]:
    """Every hour at least one symbol has a bar, with the bars of that hour by symbol.

    Kraken writes no bar for an hour without trades: such a symbol is absent from that step and
    is neither re-marked nor traded until its next bar.
    """
    series = [(symbol, b) for symbol, b in bars.items() if len(b)]
    if not series:
        return
    times = np.unique(np.concatenate([b.time for _, b in series]))
    # Built symbol by symbol, each bar straight into its hour's slot: one pass per series
    # instead of a merge that looks at every symbol every hour. A series' times increase
    # strictly (marketdata refuses anything else), so each slot gets a symbol at most once,
    # and symbols go in each hour's dict in the order of `bars`, as a merge would put them.
    steps: list[dict[str, Bar]] = [{} for _ in range(len(times))]
    for symbol, b in series:
        slots = np.searchsorted(times, b.time).tolist()
        made = map(
            Bar,
            b.time.tolist(),
            b.open.tolist(),
            b.high.tolist(),
            b.low.tolist(),
            b.close.tolist(),
            b.volume.tolist(),
        )
        for slot, bar in zip(slots, made, strict=True):
            steps[slot][symbol] = bar
    yield from zip(times.tolist(), steps, strict=True)
