"""The custom resources as their handlers parse them: who each is, what it asks, what it said last."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from krakenops.operator.constants import API_VERSION, PROMOTION_KIND, TRADING_ENVIRONMENT_KIND
from krakenops.operator.objects import Owner
from krakenops.operator.specs import ModelPromotionSpec, PromotionPhase
from krakenops.operator.status import PromotionStatus, TradingEnvironmentStatus

__all__ = ["ModelPromotion", "ObjectMeta", "TradingEnvironment"]


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


class _Resource(BaseModel):
    """What every custom resource of ours has; it owns the objects made for it."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    api_version: str = API_VERSION
    kind: str
    metadata: ObjectMeta

    def owner(self) -> Owner:
        """Kubernetes deletes what this object owns with it."""
        return Owner(self.api_version, self.kind, self.metadata.name, self.metadata.uid)


class ModelPromotion(_Resource):
    """The custom resource, typed as its CRD declares it; it owns its validation Job."""

    kind: str = PROMOTION_KIND
    spec: ModelPromotionSpec
    status: PromotionStatus = Field(default_factory=PromotionStatus)

    @property
    def phase(self) -> PromotionPhase | None:
        """The phase the last step wrote; None before the first."""
        return self.status.phase


class TradingEnvironment(_Resource):
    """The custom resource, typed as its CRD declares it; its spec is core's EnvironmentConfig,
    parsed from `manifest` by the reconcile so that an invalid one is reported, not raised."""

    kind: str = TRADING_ENVIRONMENT_KIND
    status: TradingEnvironmentStatus = Field(default_factory=TradingEnvironmentStatus)
    # The body as declared: what the pods get as their configuration.
    manifest: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> TradingEnvironment:
        return cls.model_validate({**body, "manifest": dict(body)})
