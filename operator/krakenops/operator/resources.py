"""A ModelPromotion as its handler parses it: who it is, what it asks, what it said last."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from krakenops.operator.constants import API_VERSION, PROMOTION_KIND
from krakenops.operator.objects import Owner
from krakenops.operator.specs import ModelPromotionSpec, PromotionPhase
from krakenops.operator.status import PromotionStatus

__all__ = ["ModelPromotion", "ObjectMeta"]


class ObjectMeta(BaseModel):
    """The metadata the operator reads; the API server's other fields are not its business."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    name: str
    namespace: str
    uid: str
    generation: int | None = None

    @property
    def request_id(self) -> str:
        """The pointer and the audit log name the exact object; a retry of it is recognised by this."""
        return f"{self.namespace}/{self.name}/{self.uid}"


class ModelPromotion(BaseModel):
    """The custom resource, typed as its CRD declares it."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    api_version: str = API_VERSION
    kind: str = PROMOTION_KIND
    metadata: ObjectMeta
    spec: ModelPromotionSpec
    status: PromotionStatus = Field(default_factory=PromotionStatus)

    @property
    def phase(self) -> PromotionPhase | None:
        """The phase the last step wrote; None before the first."""
        return PromotionPhase(self.status.phase) if self.status.phase else None

    def owner(self) -> Owner:
        """The promotion owns its validation Job: deleting it deletes the Job."""
        return Owner(self.api_version, self.kind, self.metadata.name, self.metadata.uid)
