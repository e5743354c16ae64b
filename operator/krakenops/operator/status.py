"""The status of each custom resource as typed models, rendered as the CRDs declare it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from krakenops.operator.specs import PromotionPhase

__all__ = [
    "ApprovedModelStatus",
    "ConditionStatus",
    "EnvironmentPhase",
    "PromotionStatus",
    "TraderStatus",
    "TradingEnvironmentStatus",
    "TrainingStatus",
    "WindowStatus",
]


class EnvironmentPhase(StrEnum):
    TRADING = "Trading"
    DRAINING = "Draining"
    DOWNTIME = "Downtime"
    SUSPENDED = "Suspended"
    ERROR = "Error"


class _Status(BaseModel):
    """camelCase on the wire; only what was set is rendered, so a merge patch leaves the rest."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, validate_assignment=True
    )

    def render(self) -> dict[str, Any]:
        # A field set to None is rendered as null on purpose: the merge patch then clears it.
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ConditionStatus(_Status):
    """One entry of `status.conditions` in the Kubernetes convention."""

    type: str
    status: Literal["True", "False"]
    reason: str
    message: str
    last_transition_time: str
    observed_generation: int | None


class WindowStatus(_Status):
    """The downtime window at the time of the reconcile, by the operator's clock."""

    state: str
    current: str
    start: str
    end: str
    next_transition: str


class TraderStatus(_Status):
    desired_replicas: int
    ready_replicas: int


class TrainingStatus(_Status):
    """The newest trainer Job: its window, its result, and the candidate it wrote (paper)."""

    job: str
    window: str
    result: str
    candidate: str | None = None


class ApprovedModelStatus(_Status):
    """The approved pointer as the environment reports it."""

    model_id: str
    sha256: str
    promoted_at: str
    promotion: str


class TradingEnvironmentStatus(_Status):
    """What a TradingEnvironment's reconcile ends with, errors included."""

    phase: EnvironmentPhase | None = None
    window: WindowStatus | None = None
    trader: TraderStatus | None = None
    last_training: TrainingStatus | None = None
    approved_model: ApprovedModelStatus | None = None
    observed_generation: int | None = None
    conditions: list[ConditionStatus] = Field(default_factory=list)


class PromotionStatus(_Status):
    """What a ModelPromotion step ends with, errors included."""

    phase: PromotionPhase | None = None
    observed_generation: int | None = None
    started_at: str | None = None
    # The validation report as copied from the artifact store: each check, failures, location.
    validation: dict[str, Any] | None = None
    # How the candidate did in the live environment's shadow, beside the champion.
    shadow: dict[str, Any] | None = None
    model: str | None = None
    sha256: str | None = None
    previous_model: str | None = None
    completed_at: str | None = None
    refusals: list[str] | None = None
    conditions: list[ConditionStatus] = Field(default_factory=list)
