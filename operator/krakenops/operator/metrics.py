"""The operator's Prometheus metrics, on a registry of its own made at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter

from krakenops.operator.constants import Metric

__all__ = ["OperatorMetrics"]


@dataclass
class OperatorMetrics:
    """Counters by environment (and kind, outcome); created per operator run, never at import."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.reconciles = Counter(
            Metric.RECONCILES, "Reconciles of a custom resource.", ["kind"], registry=r
        )
        self.reconcile_errors = Counter(
            Metric.RECONCILE_ERRORS, "Reconciles that ended in an error.", ["kind"], registry=r
        )
        self.transitions = Counter(
            Metric.TRANSITIONS,
            "Phase changes of an environment.",
            ["environment", "phase"],
            registry=r,
        )
        self.jobs_started = Counter(
            Metric.JOBS_STARTED, "Jobs created.", ["environment", "component"], registry=r
        )
        self.jobs_finished = Counter(
            Metric.JOBS_FINISHED,
            "Jobs seen finished.",
            ["environment", "component", "result"],
            registry=r,
        )
        self.jobs_overrun = Counter(
            Metric.JOBS_OVERRUN,
            "Trainer Jobs stopped at the end of a window.",
            ["environment"],
            registry=r,
        )
        self.promotions = Counter(
            Metric.PROMOTIONS,
            "ModelPromotions by final outcome.",
            ["environment", "action", "outcome"],
            registry=r,
        )

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent); for tests and the dashboard's smoke checks."""
        found = self.registry.get_sample_value(name, labels)
        return float(found) if found is not None else 0.0
