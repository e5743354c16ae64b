"""Typed settings of the operator process, read from `KRAKENOPS_OPERATOR_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ENV_PREFIX", "OperatorSettings"]

ENV_PREFIX = "KRAKENOPS_OPERATOR_"


class OperatorSettings(BaseModel):
    """How the operator runs; every field has a unit and the reason for its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = Field(
        "default",
        min_length=1,
        description="The namespace watched; RBAC is namespaced, so the operator serves one.",
    )
    artifact_root: Path | None = Field(
        None,
        description=(
            "Where the operator finds the artifact root, overriding each environment's "
            "artifacts.root (the operator pod may mount the claim elsewhere; tests use a tmp dir)."
        ),
    )
    kubeconfig: Path | None = Field(
        None,
        description="Kubeconfig for the operator's own client; none means in-cluster, then KUBECONFIG.",
    )
    reconcile_interval_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description=(
            "Seconds between window reconciles of each environment; a window edge is acted on "
            "within this time, which is small against a downtime of hours."
        ),
    )
    job_poll_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Seconds between looks at a running validation Job while a promotion waits.",
    )
    metrics_port: int = Field(
        9090, ge=0, le=65535, description="Port of the Prometheus endpoint; 0 disables it."
    )
    liveness_port: int = Field(
        8080, ge=0, le=65535, description="Port of the /healthz liveness endpoint; 0 disables it."
    )
    service_account: str = Field(
        "krakenops-workload",
        description="Service account of the trader and the Jobs; the chart grants it no API access.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorSettings:
        """Build settings from `KRAKENOPS_OPERATOR_<FIELD>` variables; unknown ones are refused."""
        source = os.environ if environ is None else environ
        values = {
            key.removeprefix(ENV_PREFIX).lower(): value
            for key, value in source.items()
            if key.startswith(ENV_PREFIX)
        }
        return cls.model_validate(values)
