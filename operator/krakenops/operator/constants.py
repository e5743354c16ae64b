"""Names the operator shares with its CRDs, its objects and its dashboards; those the pods and
the cluster tools share too (API group, kinds, the Secret's mount) come from `krakenops.core.api`."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from krakenops.core.api import (
    API_VERSION,
    CREDENTIALS_DIR,
    GROUP,
    MODEL_PROMOTIONS,
    PROMOTION_KIND,
    TRADING_ENVIRONMENT_KIND,
    TRADING_ENVIRONMENTS,
    VERSION,
)

__all__ = [
    "API_VERSION",
    "CONFIG_FILE",
    "CONFIG_KEY",
    "CONFIG_MOUNT",
    "CREDENTIALS_MOUNT",
    "GROUP",
    "HANDLER_ENVIRONMENT",
    "HANDLER_ENVIRONMENT_TIMER",
    "HANDLER_PROMOTION",
    "LABEL_COMPONENT",
    "LABEL_ENVIRONMENT",
    "LABEL_MANAGED_BY",
    "LABEL_NAME",
    "LABEL_PROMOTION",
    "LABEL_WINDOW",
    "MANAGER",
    "MODEL_PROMOTIONS",
    "PROMOTION_KIND",
    "TRADING_ENVIRONMENTS",
    "TRADING_ENVIRONMENT_KIND",
    "VERSION",
    "Component",
    "ConditionType",
    "EventReason",
    "Metric",
    "Reason",
]

MANAGER: Final = "krakenops-operator"

LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_ENVIRONMENT: Final = f"{GROUP}/environment"
LABEL_WINDOW: Final = f"{GROUP}/window"
LABEL_PROMOTION: Final = f"{GROUP}/promotion"

# Where the pods find their configuration and credentials; the trader and trainer read these paths.
CONFIG_MOUNT: Final = "/etc/krakenops"
CONFIG_KEY: Final = "environment.yaml"
CONFIG_FILE: Final = f"{CONFIG_MOUNT}/{CONFIG_KEY}"
CREDENTIALS_MOUNT: Final = str(CREDENTIALS_DIR)

HANDLER_ENVIRONMENT: Final = "environment"
HANDLER_ENVIRONMENT_TIMER: Final = "environment-window"
HANDLER_PROMOTION: Final = "promotion"


class Component(StrEnum):
    """The `app.kubernetes.io/component` of each object the operator owns."""

    CONFIG = "config"
    TRADER = "trader"
    TRAINER = "trainer"
    VALIDATION = "validation"


class ConditionType(StrEnum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"


class Reason(StrEnum):
    """CamelCase reasons of conditions; a dashboard or a human filters on these."""

    TRADING = "Trading"
    DRAINING = "Draining"
    STARTING_TRADER = "StartingTrader"
    STOPPING_TRADER = "StoppingTrader"
    TRAINER_RUNNING = "TrainerRunning"
    TRAINER_FINISHED = "TrainerFinished"
    TRAINER_SKIPPED = "TrainerSkipped"
    STOPPING_OVERRUN = "StoppingOverrun"
    SUSPENDED = "Suspended"
    INVALID_SPEC = "InvalidSpec"
    RECONCILE_FAILED = "ReconcileFailed"
    RECONCILED = "Reconciled"
    ENVIRONMENT_NOT_FOUND = "EnvironmentNotFound"
    VALIDATING = "Validating"
    VALIDATION_JOB_FAILED = "ValidationJobFailed"
    AWAITING_CONFIRMATION = "AwaitingConfirmation"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    REJECTED = "Rejected"


class EventReason(StrEnum):
    """Reasons of Kubernetes Events: what a human watching `kubectl get events` should see."""

    TRADER_SCALED = "TraderScaled"
    TRAINING_STARTED = "TrainingStarted"
    TRAINING_FINISHED = "TrainingFinished"
    TRAINING_SKIPPED = "TrainingSkipped"
    TRAINING_OVERRUN = "TrainingOverrun"
    VALIDATION_STARTED = "ValidationStarted"
    VALIDATION_REUSED = "ValidationReused"
    VALIDATION_FINISHED = "ValidationFinished"
    AWAITING_CONFIRMATION = "AwaitingConfirmation"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    REJECTED = "Rejected"
    FAILED = "Failed"
    INVALID_SPEC = "InvalidSpec"


class Metric(StrEnum):
    """Prometheus metric names, all prefixed with the project's name."""

    RECONCILES = "krakenops_operator_reconciles_total"
    RECONCILE_ERRORS = "krakenops_operator_reconcile_errors_total"
    TRANSITIONS = "krakenops_operator_window_transitions_total"
    JOBS_STARTED = "krakenops_operator_jobs_started_total"
    JOBS_FINISHED = "krakenops_operator_jobs_finished_total"
    JOBS_OVERRUN = "krakenops_operator_jobs_overrun_total"
    PROMOTIONS = "krakenops_operator_promotions_total"
    JOB_DURATION = "krakenops_operator_job_duration_seconds"
    ENVIRONMENT_PHASE = "krakenops_operator_environment_phase"
    NEXT_TRANSITION = "krakenops_operator_next_transition_timestamp_seconds"
    TRADER_REPLICAS = "krakenops_operator_trader_replicas"
