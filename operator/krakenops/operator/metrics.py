"""The operator's Prometheus metrics, on a registry of its own made at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from krakenops.operator.constants import PROMOTION_KIND, TRADING_ENVIRONMENT_KIND, Metric
from krakenops.operator.status import TradingEnvironmentStatus

__all__ = ["OperatorMetrics", "environment_label", "job_seconds"]

PHASES = ("Trading", "Draining", "Downtime", "Suspended", "Error")
JOB_RESULTS = ("Succeeded", "Failed")
PROMOTION_OUTCOMES = {
    "promote": ("Promoted", "Rejected", "Failed"),
    "rollback": ("RolledBack", "Rejected", "Failed"),
}
# Trainer Jobs run for most of a two-hour window; validations take minutes.
JOB_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 5400.0, 7200.0)


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
        self.job_duration = Histogram(
            Metric.JOB_DURATION,
            "From a Job's start to its completion or failure.",
            ["environment", "component"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.phase = Gauge(
            Metric.ENVIRONMENT_PHASE,
            "1 for the phase an environment is in (Trading, Draining, Downtime, Suspended, Error).",
            ["environment", "phase"],
            registry=r,
        )
        self.next_transition = Gauge(
            Metric.NEXT_TRANSITION,
            "When the environment's window next changes phase (Unix time).",
            ["environment"],
            registry=r,
        )
        self.trader_replicas = Gauge(
            Metric.TRADER_REPLICAS,
            "The trader Deployment's replicas, desired (0 in downtime) and ready.",
            ["environment", "state"],
            registry=r,
        )
        # Alerts on increase() see the first error only if the series exists before it.
        for kind in (TRADING_ENVIRONMENT_KIND, PROMOTION_KIND):
            self.reconciles.labels(kind=kind)
            self.reconcile_errors.labels(kind=kind)

    def observe_environment(self, environment: str, status: TradingEnvironmentStatus) -> None:
        """Export what a reconcile wrote to an environment's status, and its zero counters."""
        for phase in PHASES:
            self.phase.labels(environment, phase).set(1.0 if status.phase == phase else 0.0)
        if status.window is not None:
            self.next_transition.labels(environment).set(_unix(status.window.next_transition))
        trader = status.trader
        self.trader_replicas.labels(environment, "desired").set(
            trader.desired_replicas if trader else 0
        )
        self.trader_replicas.labels(environment, "ready").set(
            trader.ready_replicas if trader else 0
        )
        self.jobs_overrun.labels(environment)
        for component in ("trainer", "validation"):
            self.jobs_started.labels(environment, component)
            self.job_duration.labels(environment, component)
            for result in JOB_RESULTS:
                self.jobs_finished.labels(environment, component, result)
        for action, outcomes in PROMOTION_OUTCOMES.items():
            for outcome in outcomes:
                self.promotions.labels(environment, action, outcome)

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent); for tests and the dashboard's smoke checks."""
        found = self.registry.get_sample_value(name, labels)
        return float(found) if found is not None else 0.0


def environment_label(name: str) -> str:
    """The environment as its TradingEnvironment is named: a promotion may spell it with `_`."""
    return name.replace("_", "-")


def job_seconds(job: Mapping[str, Any]) -> float | None:
    """How long a finished Job ran, from its start to its completion or its last condition."""
    status = job.get("status") or {}
    ended = status.get("completionTime") or max(
        (c.get("lastTransitionTime") or "" for c in status.get("conditions") or ()), default=""
    )
    if not status.get("startTime") or not ended:
        return None
    return max(0.0, _unix(ended) - _unix(status["startTime"]))


def _unix(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
