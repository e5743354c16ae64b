"""Prometheus metrics of the Kraken adapter; labels name endpoints and outcomes, never credentials."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

__all__ = ["KrakenMetrics"]


class KrakenMetrics:
    """The adapter's metrics on one registry (the process default unless a test passes its own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else REGISTRY
        self.requests = Counter(
            "krakenops_kraken_requests",
            "Private and public Kraken API calls, by endpoint and outcome.",
            ["endpoint", "outcome"],
            registry=registry,
        )
        self.rate_limit_wait = Counter(
            "krakenops_kraken_rate_limit_wait_seconds",
            "Seconds the client waited for Kraken's rate counters, by counter (rest, trading).",
            ["counter"],
            registry=registry,
        )
        self.order_lookups = Counter(
            "krakenops_kraken_order_lookups",
            "Orders looked up after an ambiguous outcome, by what the lookup found.",
            ["found"],
            registry=registry,
        )
        self.orders = Counter(
            "krakenops_kraken_orders",
            "Orders by final outcome of submit (accepted, rejected, refused).",
            ["outcome"],
            registry=registry,
        )
        self.halted = Gauge(
            "krakenops_kraken_trading_halted",
            "1 when the adapter failed closed and refuses to trade until restarted.",
            registry=registry,
        )
        # Zero series from the start, so that a dashboard shows them and an increase() sees the first.
        for counter in ("rest", "trading"):
            self.rate_limit_wait.labels(counter)
        for found in ("yes", "no"):
            self.order_lookups.labels(found)
        for outcome in ("accepted", "rejected", "refused"):
            self.orders.labels(outcome)
