"""Buy-and-hold as a yardstick: what the trader's equity would be had it bought the universe and sat."""

from __future__ import annotations

from collections.abc import Mapping

from krakenops.trader.market import Bar

__all__ = ["BuyAndHold"]


class BuyAndHold:
    """Equal parts of `equity` in every symbol, each bought at the first close the trader saw."""

    def __init__(self, equity: float) -> None:
        self.start_equity = equity
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def mark(self, bars: Mapping[str, Bar]) -> None:
        for symbol, bar in bars.items():
            if bar.close > 0:
                self._first.setdefault(symbol, bar.close)
                self._last[symbol] = bar.close

    def equity(self) -> float:
        """The held basket's value now; the starting equity until a price has been seen."""
        if not self._first:
            return self.start_equity
        growth = [self._last[s] / self._first[s] for s in self._first]
        return self.start_equity * sum(growth) / len(growth)
