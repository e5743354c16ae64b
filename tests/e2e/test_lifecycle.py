"""The whole lifecycle on a real control plane, driven with kubectl as a user drives it: a downtime
window opens by the wall clock, the traders go to zero, the paper trainer Job trains a candidate
(its command really runs), ModelPromotions validate, wait for confirmation, promote and roll back,
and the live pointer follows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.config import load_config
from tests.conftest import LIVE_CONFIG
from tests.e2e.cluster import DEPLOYMENT, MP, TE, Cluster, eventually
from tests.e2e.local import LocalCluster
from tests.e2e.test_promotions import promotion
from tests.e2e.test_releases import ENVIRONMENTS, reconciled

pytestmark = pytest.mark.local_cluster

PAPER, LIVE = ENVIRONMENTS["paper"], ENVIRONMENTS["live"]
PROJECT = Path(__file__).resolve().parents[2]
# Training on the embedded bars takes well under a minute; the Job gets what is left of this.
WINDOW_MINUTES = 10
JOB_SECONDS = 240.0
# The embedded bars are too few for any candidate to meet the shipped gates (the demo shows that
# refusal); this run opens live's gates, as an operator may, to see a promotion go through.
LIFECYCLE_PROMOTIONS = ("e2e-review", "e2e-promote-first", "e2e-promote-second", "e2e-rollback")
OPEN_GATES = {"minOosSharpe": -1000, "maxDrawdown": 1, "maxTailLoss": 1, "maxTurnover": 1e9}


def kubectl_apply(local: LocalCluster, document: dict[str, Any]) -> None:
    local.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(document))


def patch(local: LocalCluster, kind: str, name: str, spec: dict[str, Any]) -> None:
    local.kubectl("patch", kind, name, "--type", "merge", "-p", json.dumps({"spec": spec}))


def window(start: datetime, minutes: int) -> dict[str, str]:
    return {"start": f"{start:%H:%M}", "end": f"{start + timedelta(minutes=minutes):%H:%M}"}


def opening_now() -> datetime:
    """The start of a window opened this minute (the next one if this one is nearly over)."""
    now = datetime.now(UTC)
    if now.second > 50:
        time.sleep(61 - now.second)
        now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0)


def trading_hours() -> dict[str, str]:
    """A window hours away, whatever the time of day the run starts: trading hours now."""
    return window(datetime.now(UTC) + timedelta(hours=6), 120)


def next_minute() -> None:
    """Wait for the next wall-clock minute, so that a window opened now has a new id."""
    now = datetime.now(UTC)
    time.sleep(60.5 - now.second - now.microsecond / 1e6)


def running_one_trader(cluster: Cluster, environment: str) -> bool:
    return trader_replicas(cluster, environment) == (1, 1)


def trader_replicas(cluster: Cluster, environment: str) -> tuple[int, int]:
    deployment = cluster.get(DEPLOYMENT, f"{environment}-trader") or {}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return int(spec.get("replicas") or 0), int(status.get("readyReplicas") or 0)


def live_store(local: LocalCluster) -> ArtifactStore:
    """The live environment's artifacts in the claim's folder, as the operator reads them."""
    config = load_config(LIVE_CONFIG).with_root(local.artifacts)
    return ArtifactStore(config.spec.artifacts, config.env_id)


def candidates(local: LocalCluster) -> set[str]:
    return set(live_store(local).candidate_ids())


def live_pointer(local: LocalCluster) -> str | None:
    approved = live_store(local).read_pointer()
    return approved.model_id if approved is not None else None


def approved_model(cluster: Cluster, environment: str) -> str | None:
    status = (cluster.get(TE, environment) or {}).get("status") or {}
    model: str | None = (status.get("approvedModel") or {}).get("modelId")
    return model


def train_in_a_window(local: LocalCluster, cluster: Cluster) -> str:
    """Open a paper window now and return the candidate its trainer Job made."""
    before = candidates(local)
    start = opening_now()
    downtime = window(start, WINDOW_MINUTES)
    patch(local, "te", PAPER, {"downtime": downtime, "trainer": {"deadlineMarginSeconds": 60}})
    eventually(
        lambda: trader_replicas(cluster, PAPER) == (0, 0), 60, "the paper trader scaled to 0"
    )
    job_name = f"{PAPER}-train-{start:%Y%m%d-%H%M}"

    def job_finished() -> dict[str, Any] | None:
        found = cluster.get(("batch/v1", "Job"), job_name)
        conditions = ((found or {}).get("status") or {}).get("conditions") or []
        done = {c["type"] for c in conditions if c["status"] == "True"} & {"Complete", "Failed"}
        return found if done else None

    job = eventually(job_finished, JOB_SECONDS, f"{job_name} finished", step=1.0)
    types = {c["type"] for c in job["status"]["conditions"] if c["status"] == "True"}
    assert "Complete" in types, f"{job_name}: {job['status']}"
    assert 0 < job["spec"]["activeDeadlineSeconds"] <= WINDOW_MINUTES * 60 - 60
    made = candidates(local) - before
    assert len(made) == 1, made
    status = reconciled(cluster, PAPER, 30)["status"]
    assert status["phase"] == "Downtime"
    return made.pop()


def settled(cluster: Cluster, name: str, phases: set[str]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status = ((cluster.get(MP, name) or {}).get("status")) or {}
        return status if status.get("phase") in phases else None

    status: dict[str, Any] = eventually(check, JOB_SECONDS, f"{name} in {phases}", step=0.5)
    return status


def absent(cluster: Cluster, name: str) -> bool:
    return cluster.get(MP, name) is None


@pytest.fixture
def lifecycle_names(local: LocalCluster, cluster: Cluster) -> Iterator[None]:
    """The ModelPromotions of an earlier run are deleted first (a spec is immutable); both
    environments trade now, whatever the hour (their shipped window may be open); and their
    windows and live's gates are put back afterwards: the cluster outlives the run."""
    specs = {name: (cluster.get(TE, name) or {}).get("spec") or {} for name in (PAPER, LIVE)}
    for name in LIFECYCLE_PROMOTIONS:
        cluster.delete(MP, name)
    for name in LIFECYCLE_PROMOTIONS:
        eventually(partial(absent, cluster, name), 60, f"{name} deleted")
    for name in (PAPER, LIVE):
        patch(local, "te", name, {"downtime": trading_hours()})
    yield
    for name, spec in specs.items():
        patch(local, "te", name, {"downtime": spec.get("downtime"), "trainer": spec.get("trainer")})


@pytest.mark.usefixtures("lifecycle_names")
def test_a_window_trains_candidates_that_are_validated_promoted_and_rolled_back(
    local: LocalCluster, cluster: Cluster, settle_seconds: float
):
    for environment in (PAPER, LIVE):
        reconciled(cluster, environment, settle_seconds)
        eventually(
            partial(running_one_trader, cluster, environment),
            settle_seconds,
            f"{environment}'s trader running",
        )
    patch(local, "te", LIVE, {"trainer": {"gates": OPEN_GATES}})
    approved_before = live_pointer(local)

    first = train_in_a_window(local, cluster)
    next_minute()
    second = train_in_a_window(local, cluster)

    # Review first: without confirm the request validates and stops there.
    kubectl_apply(local, promotion("e2e-review", action="promote", modelId=first))
    review = settled(cluster, "e2e-review", {"AwaitingConfirmation", "Rejected", "Failed"})
    assert review["phase"] == "AwaitingConfirmation", review
    assert review["validation"]["passed"] is True
    assert live_pointer(local) == approved_before

    for name, model in (("e2e-promote-first", first), ("e2e-promote-second", second)):
        kubectl_apply(
            local, promotion(name, action="promote", modelId=model, confirm="yes-promote")
        )
        status = settled(cluster, name, {"Promoted", "Rejected", "Failed"})
        assert status["phase"] == "Promoted", status
        assert live_pointer(local) == model
    eventually(lambda: approved_model(cluster, LIVE) == second, settle_seconds, "live status")

    kubectl_apply(local, promotion("e2e-rollback", action="rollback", confirm="yes-rollback"))
    status = settled(cluster, "e2e-rollback", {"RolledBack", "Rejected", "Failed"})
    assert status["phase"] == "RolledBack", status
    assert live_pointer(local) == first
    eventually(
        lambda: approved_model(cluster, LIVE) == first,
        settle_seconds,
        "live's status names the model rolled back to",
    )

    # What kubectl shows a user: the printer columns and the Events.
    table = local.kubectl("get", "te,mp")
    assert {"PHASE", "MODEL"} <= set(table.split()), table
    rolled_back = cluster.get(MP, "e2e-rollback")
    assert rolled_back is not None
    events = cluster.events_about("e2e-rollback", rolled_back["metadata"]["uid"])
    assert "RolledBack" in [e["reason"] for e in events], events
    assert "RolledBack" in local.kubectl("get", "mp", "e2e-rollback")

    # Closing the window brings the paper trader back.
    patch(local, "te", PAPER, {"downtime": trading_hours()})
    eventually(
        lambda: trader_replicas(cluster, PAPER) == (1, 1), settle_seconds, "paper trader back"
    )


def test_every_shipped_object_passes_the_api_servers_own_validation(local: LocalCluster):
    shipped = [PROJECT / "crds", *sorted((PROJECT / "config").rglob("*.yaml"))]
    for path in shipped:
        local.kubectl("apply", "--dry-run=server", "-f", str(path))
    chart = PROJECT / "helm" / "krakenops"
    for release in ("paper", "live"):
        rendered = local.helm(
            "template", release, str(chart), "-f", str(chart / f"values-{release}.yaml")
        )
        local.kubectl("apply", "--dry-run=server", "-f", "-", stdin=rendered)
