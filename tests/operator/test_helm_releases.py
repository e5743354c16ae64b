"""Both Helm releases, rendered by Helm's own code, reconciled by the operator on the emulator."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import parse_manifest
from krakenops.operator.settings import OperatorSettings
from tests.factories import candidate, report
from tests.operator.emulator import ApiServer
from tests.operator.harness import (
    DEPLOYMENTS,
    PROJECT,
    eventually,
    operator_running,
    promotion_manifest,
    promotion_status,
)

pytestmark = pytest.mark.looptime

CHART = PROJECT / "helm" / "krakenops"
MODEL = "model_20260205_helm01"


def release_environment(release: str) -> dict[str, Any]:
    values = yaml.safe_load((CHART / f"values-{release}.yaml").read_text())
    rendered = helm_python.Chart.load(CHART).render(values, name=release, namespace="default")
    documents = yaml.safe_load_all(rendered["krakenops/templates/tradingenvironment.yaml"])
    environments: list[dict[str, Any]] = [d for d in documents if d]
    (environment,) = environments
    return environment


def store_of(environment: dict[str, Any], root: Path) -> ArtifactStore:
    config = parse_manifest(environment, "chart").with_root(root)
    return ArtifactStore(config.spec.artifacts, config.env_id)


async def test_chart_environments_get_traders_and_only_live_gets_the_promotion(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock, artifact_root: Path
):
    paper, live = release_environment("paper"), release_environment("live")
    live_store, paper_store = store_of(live, artifact_root), store_of(paper, artifact_root)
    live_store.ensure_layout()
    made = candidate(live_store, MODEL)
    live_store.write_validation(report(MODEL, made.sha256))

    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(paper)
        apiserver.create(live)
        for name in ("paper-kraken-crypto-global", "live-kraken-crypto-global"):
            await eventually(partial(apiserver.read, *DEPLOYMENTS, "default", f"{name}-trader"))
        live_pod = apiserver.read(*DEPLOYMENTS, "default", "live-kraken-crypto-global-trader")
        assert live_pod is not None
        volumes = live_pod["spec"]["template"]["spec"]["volumes"]
        assert any(v.get("secret", {}).get("secretName") == "kraken-api" for v in volumes)
        assert any(
            v.get("persistentVolumeClaim", {}).get("claimName") == "krakenops-artifacts"
            for v in volumes
        )

        apiserver.create(
            promotion_manifest(
                "to-live", "live-kraken-crypto-global", "promote", MODEL, "yes-promote"
            )
        )
        await eventually(lambda: promotion_status(apiserver, "to-live").get("phase") == "Promoted")

    pointer = live_store.read_pointer()
    assert pointer is not None
    assert (pointer.model_id, pointer.sha256) == (MODEL, made.sha256)
    assert paper_store.read_pointer() is None
