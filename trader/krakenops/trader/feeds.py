"""Market data feeds behind one interface: replay of recorded bars, or Kraken's public OHLC polled live."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from krakenops.core.jsonlog import event
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.universe import Universe
from krakenops.trader.market import Bar, HourBars, aligned_steps

__all__ = ["KrakenOHLCFeed", "MarketFeed", "ReplayFeed"]

log = logging.getLogger(__name__)

# Kraken answers at most 720 bars a call: thirty days of hours, more than the features' warm-up.
KRAKEN_MAX_BARS = 720


class MarketFeed(Protocol):
    """Closed hourly bars, each delivered once, oldest first."""

    def poll(self, now: datetime) -> list[HourBars]:
        """Every step whose bars have all closed by `now` and were not delivered before."""
        ...


class ReplayFeed:
    """Recorded bars released as a (simulated) clock passes each bar's close; gaps stay gaps."""

    def __init__(self, bars: Mapping[str, Bars]) -> None:
        self._steps: Iterator[HourBars] = aligned_steps(bars)
        self._next: HourBars | None = next(self._steps, None)

    @property
    def exhausted(self) -> bool:
        return self._next is None

    def poll(self, now: datetime) -> list[HourBars]:
        limit = now.timestamp()
        ready: list[HourBars] = []
        while self._next is not None and self._next[0] + BAR_SECONDS <= limit:
            ready.append(self._next)
            self._next = next(self._steps, None)
        return ready


class KrakenOHLCFeed:
    """Polls Kraken's public OHLC endpoint through a ccxt `kraken` exchange; no keys needed.

    Kraken's answer ends with the hour still in progress; it is left out until it has closed.
    A symbol whose request fails is skipped for that poll (and so not traded) and retried on
    the next, from where it left off.
    """

    def __init__(self, exchange: Any, symbols: tuple[str, ...]) -> None:
        self.exchange = exchange
        self.symbols = symbols
        self._last: dict[str, int] = {}  # open time of the newest bar delivered, by symbol
        self.failures = 0

    def poll(self, now: datetime) -> list[HourBars]:
        import ccxt

        limit = int(now.timestamp())
        steps: dict[int, dict[str, Bar]] = {}
        for symbol in self.symbols:
            last = self._last.get(symbol)
            since = (
                last + BAR_SECONDS if last is not None else limit - KRAKEN_MAX_BARS * BAR_SECONDS
            ) * 1000
            try:
                rows = self.exchange.fetch_ohlcv(
                    Universe.resolve(symbol).ccxt_symbol, "1h", since=since
                )
            except ccxt.BaseError as error:
                self.failures += 1
                event(
                    log,
                    logging.WARNING,
                    "market_data_failed",
                    f"OHLC for {symbol} failed: {error}",
                    symbol=symbol,
                    error=type(error).__name__,
                )
                continue
            for row in rows:
                t = int(row[0]) // 1000
                if (last is not None and t <= last) or t + BAR_SECONDS > limit:
                    continue
                o, h, lo, c, v = (float(x) for x in row[1:6])
                if min(o, h, lo, c) <= 0:
                    continue  # a bar without a price is no bar; the features must not see it
                steps.setdefault(t, {})[symbol] = Bar(t, o, h, lo, c, v)
                self._last[symbol] = max(t, self._last.get(symbol, t))
        return sorted(steps.items())
