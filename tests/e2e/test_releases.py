"""Both releases installed: each environment reconciled, with a trader it owns that runs restricted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.cluster import DEPLOYMENT, TE, Cluster, eventually

ENVIRONMENTS = {"paper": "paper-kraken-crypto-global", "live": "live-kraken-crypto-global"}
# The operator's phase for each state of the window.
PHASE_OF_WINDOW = {"TRADING": "Trading", "TRANSITION": "Draining", "DOWNTIME": "Downtime"}


def reconciled(cluster: Cluster, name: str, within: float) -> dict[str, Any]:
    """The TradingEnvironment once its status speaks of its current generation."""

    def check() -> dict[str, Any] | None:
        found = cluster.get(TE, name)
        status = (found or {}).get("status") or {}
        current = (
            found is not None
            and status.get("observedGeneration") == found["metadata"]["generation"]
        )
        return found if current and status.get("conditions") else None

    environment: dict[str, Any] = eventually(check, within, f"{name} reconciled")
    return environment


def trader_of(cluster: Cluster, name: str, within: float) -> dict[str, Any]:
    deployment: dict[str, Any] = eventually(
        lambda: cluster.get(DEPLOYMENT, f"{name}-trader"), within, f"{name}'s trader Deployment"
    )
    return deployment


@pytest.mark.parametrize("release", ["paper", "live"])
def test_each_environment_reports_its_window_at_its_generation(
    cluster: Cluster, settle_seconds: float, release: str
):
    environment = reconciled(cluster, ENVIRONMENTS[release], settle_seconds)
    status = environment["status"]
    assert status["phase"] == PHASE_OF_WINDOW[status["window"]["state"]]
    assert status["window"]["start"] < status["window"]["end"]
    generation = environment["metadata"]["generation"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert set(conditions) == {"Ready", "Reconciling", "Stalled"}
    assert all(c["observedGeneration"] == generation for c in conditions.values())
    assert conditions["Stalled"]["status"] == "False"


@pytest.mark.parametrize("release", ["paper", "live"])
def test_each_trader_belongs_to_its_environment_and_runs_only_outside_downtime(
    cluster: Cluster, settle_seconds: float, release: str
):
    name = ENVIRONMENTS[release]
    environment = reconciled(cluster, name, settle_seconds)
    trader = trader_of(cluster, name, settle_seconds)
    (owner,) = trader["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "TradingEnvironment",
        name,
        environment["metadata"]["uid"],
        True,
    )
    status = environment["status"]
    assert trader["spec"]["replicas"] == status["trader"]["desiredReplicas"]
    assert trader["spec"]["replicas"] == (0 if status["phase"] == "Downtime" else 1)
    assert trader["spec"]["strategy"]["type"] == "Recreate", "never two traders at once"


def test_traders_run_restricted_on_the_shared_volume_and_only_live_holds_keys(
    cluster: Cluster, settle_seconds: float
):
    for release, name in ENVIRONMENTS.items():
        pod = (trader_of(cluster, name, settle_seconds))["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        volumes = pod["volumes"]
        claims = [
            v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v
        ]
        secrets = [v["secret"]["secretName"] for v in volumes if "secret" in v]
        assert claims == ["krakenops-artifacts"], release
        assert secrets == (["kraken-api"] if release == "live" else []), release
