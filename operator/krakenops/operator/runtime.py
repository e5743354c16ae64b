"""What the start-up handler builds and keeps on Kopf's memo: settings, clock, client, metrics, locks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig, parse_manifest
from krakenops.operator.constants import (
    API_VERSION,
    MODEL_PROMOTIONS,
    TRADING_ENVIRONMENTS,
)
from krakenops.operator.kube import Kube, Ref
from krakenops.operator.metrics import OperatorMetrics
from krakenops.operator.settings import OperatorSettings

__all__ = [
    "CONFIG_MAPS",
    "DEPLOYMENTS",
    "ENVIRONMENTS",
    "JOBS",
    "PROMOTIONS",
    "Runtime",
    "plain",
]

CONFIG_MAPS = Ref("v1", "configmaps")
DEPLOYMENTS = Ref("apps/v1", "deployments")
JOBS = Ref("batch/v1", "jobs")
ENVIRONMENTS = Ref(API_VERSION, TRADING_ENVIRONMENTS)
PROMOTIONS = Ref(API_VERSION, MODEL_PROMOTIONS)


def plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists: Kopf hands bodies over as read-only views."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass
class Runtime:
    """One operator run's shared parts; handlers find it on `memo.runtime`."""

    settings: OperatorSettings
    clock: Clock
    kube: Kube
    metrics: OperatorMetrics
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, key: str) -> asyncio.Lock:
        """One reconcile at a time per object: the timer and the change handlers share it."""
        return self._locks.setdefault(key, asyncio.Lock())

    def environment(self, body: Mapping[str, Any]) -> EnvironmentConfig:
        """The typed environment of a TradingEnvironment body, as declared: what its pods get."""
        metadata = body.get("metadata") or {}
        source = f"{TRADING_ENVIRONMENTS}/{metadata.get('namespace')}/{metadata.get('name')}"
        return parse_manifest(dict(body), source)

    def store(self, config: EnvironmentConfig) -> ArtifactStore:
        """The environment's artifacts where this process finds them: the operator's artifact
        root when set (its own mount of the claim), never written into the pods' config."""
        root = self.settings.artifact_root
        local = config.with_root(root) if root is not None else config
        store = ArtifactStore(local.spec.artifacts, local.env_id)
        store.verify_isolation()
        return store
