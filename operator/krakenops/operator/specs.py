"""The ModelPromotion custom resource as typed models: its spec and its phases."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from krakenops.core.records import Action, ModelId

__all__ = ["TERMINAL_PHASES", "ModelPromotionSpec", "PromotionPhase"]


class PromotionPhase(StrEnum):
    PENDING = "Pending"
    VALIDATING = "Validating"
    AWAITING_CONFIRMATION = "AwaitingConfirmation"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    REJECTED = "Rejected"
    FAILED = "Failed"


# Once here, a ModelPromotion is never acted on again: a new request is a new object.
TERMINAL_PHASES = frozenset(
    {
        PromotionPhase.PROMOTED,
        PromotionPhase.ROLLED_BACK,
        PromotionPhase.REJECTED,
        PromotionPhase.FAILED,
    }
)


class ModelPromotionSpec(BaseModel):
    """What a human asks for; immutable once created (the CRD's CEL rule says so too)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    environment: str = Field(
        min_length=1, max_length=63, description="The TradingEnvironment, in the same namespace."
    )
    action: Action = Field(description="promote a candidate, or roll back to the previous model.")
    model_id: ModelId | None = Field(None, description="The candidate to promote (promote only).")
    reason: str = Field("", max_length=1024, description="Why; kept in the audit log.")
    confirm: str | None = Field(
        None,
        description="yes-promote or yes-rollback; without it the promotion waits for a human.",
    )

    @model_validator(mode="after")
    def _model_for_promote(self) -> ModelPromotionSpec:
        if self.action is Action.PROMOTE and self.model_id is None:
            raise ValueError("promote needs modelId")
        if self.action is Action.ROLLBACK and self.model_id is not None:
            raise ValueError("rollback takes no modelId: it restores the previous pointer")
        return self
