"""Kraken's two rate counters modelled client-side, so the client waits instead of being throttled.

The REST counter is per API key: +1 per call (+2 for ledger and trade history), decaying at a
tier rate; AddOrder and CancelOrder do not touch it. The trading counter is per pair: +1 per
AddOrder and a penalty on CancelOrder that is larger the younger the order, decaying faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from krakenops.core.clock import Clock

__all__ = [
    "TIERS",
    "DecayingCounter",
    "KrakenRateLimiter",
    "Tier",
    "cancel_penalty",
    "rest_cost",
]


@dataclass(frozen=True)
class Tier:
    """A verification tier's limits (Kraken's published REST and trading-engine tables)."""

    name: str
    rest_max: float
    rest_decay: float  # per second
    trading_max: float
    trading_decay: float  # per second, per pair


TIERS = {
    "starter": Tier("starter", 15, 0.33, 60, 1.0),
    "intermediate": Tier("intermediate", 20, 0.5, 125, 2.34),
    "pro": Tier("pro", 20, 1.0, 180, 3.75),
}

_TRADING_ENDPOINTS = frozenset({"AddOrder", "CancelOrder"})
_HISTORY_ENDPOINTS = frozenset({"TradesHistory", "Ledgers", "QueryLedgers"})
# Seconds an order has rested -> counter penalty for cancelling it (none after 300 s).
_CANCEL_PENALTIES = ((5.0, 8), (10.0, 6), (15.0, 5), (45.0, 4), (90.0, 2), (300.0, 1))


def rest_cost(endpoint: str) -> int:
    """What one private call adds to the REST counter."""
    if endpoint in _TRADING_ENDPOINTS:
        return 0
    return 2 if endpoint in _HISTORY_ENDPOINTS else 1


def cancel_penalty(resting_seconds: float) -> int:
    for below, penalty in _CANCEL_PENALTIES:
        if resting_seconds < below:
            return penalty
    return 0


class DecayingCounter:
    """A level that rises by each call's cost and falls linearly with time, never below zero."""

    def __init__(self, maximum: float, decay_per_second: float, now: datetime) -> None:
        self.maximum = maximum
        self.decay = decay_per_second
        self.level = 0.0
        self._at = now

    def settle(self, now: datetime) -> float:
        elapsed = max(0.0, (now - self._at).total_seconds())
        self.level = max(0.0, self.level - elapsed * self.decay)
        self._at = max(now, self._at)
        return self.level

    def wait_for(self, cost: float, now: datetime) -> float:
        """Seconds until `cost` fits under the maximum."""
        excess = self.settle(now) + cost - self.maximum
        return 0.0 if excess <= 0 else excess / self.decay

    def add(self, cost: float, now: datetime) -> None:
        self.settle(now)
        self.level += cost


class KrakenRateLimiter:
    """Waits on the injected clock before each call until both counters have room."""

    def __init__(
        self, tier: Tier, clock: Clock, margin: float = 1.0, start_spent: bool = True
    ) -> None:
        # `margin` keeps a little headroom: Kraken decays "every couple of seconds", not smoothly.
        self.tier = tier
        self.clock = clock
        self.margin = margin
        self.rest = DecayingCounter(tier.rest_max - margin, tier.rest_decay, clock.now())
        if start_spent:
            # A restarted process cannot know what its predecessor spent: assume all of it.
            self.rest.level = self.rest.maximum
        self._trading: dict[str, DecayingCounter] = {}
        self.waited_seconds = {"rest": 0.0, "trading": 0.0}

    def trading(self, pair: str) -> DecayingCounter:
        if pair not in self._trading:
            self._trading[pair] = DecayingCounter(
                self.tier.trading_max - self.margin, self.tier.trading_decay, self.clock.now()
            )
        return self._trading[pair]

    def acquire(
        self, endpoint: str, pair: str | None = None, resting_seconds: float = 0.0
    ) -> float:
        """Block until the call fits, count it, and return how long it waited."""
        waited = 0.0
        cost = rest_cost(endpoint)
        if cost:
            waited += self._wait(self.rest, cost, "rest")
            self.rest.add(cost, self.clock.now())
        if endpoint in _TRADING_ENDPOINTS and pair is not None:
            counter = self.trading(pair)
            charge = 1 if endpoint == "AddOrder" else cancel_penalty(resting_seconds)
            if charge:
                waited += self._wait(counter, charge, "trading")
                counter.add(charge, self.clock.now())
        return waited

    def _wait(self, counter: DecayingCounter, cost: float, kind: str) -> float:
        seconds = counter.wait_for(cost, self.clock.now())
        if seconds > 0:
            self.clock.sleep(seconds)
            self.waited_seconds[kind] += seconds
        return seconds
