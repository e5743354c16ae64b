"""Exchange faults the fake injects, and schedules that decide which call gets which."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Fault", "FaultSchedule", "RandomFaults", "ScriptedFaults"]


class Fault(StrEnum):
    LATENCY = "latency"  # slow, but within the client's timeout
    TIMEOUT_AFTER_ACCEPT = (
        "timeout_after_accept"  # AddOrder placed, the answer never arrives in time
    )
    LATE_ARRIVAL = "late_arrival"  # AddOrder reaches the engine only after the client gave up
    SERVER_ERROR = "server_error"  # 5xx before anything happened
    SERVER_ERROR_AFTER_ACCEPT = "server_error_after_accept"  # AddOrder placed, then a 502
    RATE_LIMIT = "rate_limit"  # EAPI:Rate limit exceeded
    INVALID_NONCE = "invalid_nonce"  # EAPI:Invalid nonce
    INSUFFICIENT_FUNDS = "insufficient_funds"  # EOrder:Insufficient funds
    PARTIAL_FILL = "partial_fill"  # the order fills in several trades across bars


ORDER_ONLY = frozenset(
    {
        Fault.TIMEOUT_AFTER_ACCEPT,
        Fault.LATE_ARRIVAL,
        Fault.SERVER_ERROR_AFTER_ACCEPT,
        Fault.INSUFFICIENT_FUNDS,
        Fault.PARTIAL_FILL,
    }
)


@dataclass
class FaultSchedule:
    """Decides the fault (or none) for each private call; counts what it injected."""

    injected: Counter[Fault] = field(default_factory=Counter)
    next_orders: list[Fault] = field(default_factory=list)  # forced on the next AddOrders, in order

    def pick(self, endpoint: str) -> Fault | None:
        forced = endpoint == "AddOrder" and bool(self.next_orders)
        fault = self.next_orders.pop(0) if forced else self._choose(endpoint)
        if fault is not None:
            self.injected[fault] += 1
        return fault

    def _choose(self, endpoint: str) -> Fault | None:
        return None


@dataclass
class ScriptedFaults(FaultSchedule):
    """Faults queued per endpoint, taken in order: for tests that pin one behaviour down."""

    script: dict[str, list[Fault]] = field(default_factory=dict)

    def _choose(self, endpoint: str) -> Fault | None:
        queue = self.script.get(endpoint)
        return queue.pop(0) if queue else None


@dataclass
class RandomFaults(FaultSchedule):
    """Each private call draws a fault with probability `rate`; AddOrder draws from all kinds."""

    rng: random.Random = field(default_factory=random.Random)
    rate: float = 0.2

    def _choose(self, endpoint: str) -> Fault | None:
        if self.rng.random() >= self.rate:
            return None
        kinds = list(Fault) if endpoint == "AddOrder" else [f for f in Fault if f not in ORDER_ONLY]
        return self.rng.choice(kinds)
