"""ModelPromotions applied as a user would: the API server refuses malformed ones, the operator
refuses what it cannot verify, and the environment keeps the model it had."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import UnprocessibleEntityError

from tests.e2e.cluster import MP, Cluster, eventually
from tests.e2e.test_releases import ENVIRONMENTS, reconciled

LIVE = ENVIRONMENTS["live"]
NEVER_TRAINED = "model_20260101_nevertrained"


def promotion(name: str, **spec: str) -> dict[str, Any]:
    return {
        "apiVersion": "krakenops.io/v1alpha1",
        "kind": "ModelPromotion",
        "metadata": {"name": name},
        "spec": {"environment": LIVE, "reason": "e2e", **spec},
    }


def refusal(error: UnprocessibleEntityError) -> str:
    """The API server's message for a refused write."""
    assert error.body, f"{error.status} without a body"
    body = json.loads(error.body)
    message: str = body["message"]
    return message


@pytest.fixture
def made(cluster: Cluster, settle_seconds: float) -> Iterator[list[str]]:
    """Names of the ModelPromotions a test made, deleted after it: a kind cluster outlives a run.

    Each is gone once the operator has let go of it (its finalizer removed).
    """
    names: list[str] = []
    yield names
    for name in names:
        cluster.delete(MP, name)
        eventually(partial(_absent, cluster, name), settle_seconds, f"{name} deleted")


def _absent(cluster: Cluster, name: str) -> bool:
    return cluster.get(MP, name) is None


def test_the_api_server_refuses_a_confirmation_for_the_other_action(
    cluster: Cluster, made: list[str]
):
    made.append("e2e-crossed-confirmation")
    with pytest.raises(UnprocessibleEntityError) as refused:
        cluster.create(
            promotion(
                "e2e-crossed-confirmation",
                action="promote",
                modelId=NEVER_TRAINED,
                confirm="yes-rollback",
            )
        )
    assert "confirm must be yes-promote for promote" in refusal(refused.value)
    assert cluster.get(MP, "e2e-crossed-confirmation") is None


def test_a_promotion_cannot_be_changed_once_made(cluster: Cluster, made: list[str]):
    made.append("e2e-immutable")
    cluster.create(
        promotion("e2e-immutable", action="promote", modelId=NEVER_TRAINED, confirm="yes-promote")
    )
    with pytest.raises(UnprocessibleEntityError) as refused:
        cluster.merge_patch(MP, "e2e-immutable", {"spec": {"modelId": "model_20260101_other"}})
    assert "spec is immutable" in refusal(refused.value)
    kept = cluster.get(MP, "e2e-immutable")
    assert kept is not None
    assert kept["spec"]["modelId"] == NEVER_TRAINED


def test_a_model_never_trained_is_rejected_and_the_environment_keeps_its_model(
    cluster: Cluster, settle_seconds: float, made: list[str]
):
    before = (reconciled(cluster, LIVE, settle_seconds))["status"].get("approvedModel")
    made.append("e2e-never-trained")
    created = cluster.create(
        promotion(
            "e2e-never-trained", action="promote", modelId=NEVER_TRAINED, confirm="yes-promote"
        )
    )

    def settled() -> dict[str, Any] | None:
        found = cluster.get(MP, "e2e-never-trained")
        status = (found or {}).get("status") or {}
        return status if status.get("phase") == "Rejected" else None

    status = eventually(settled, settle_seconds, "the promotion rejected")
    assert status["refusals"] == ["CandidateMissing"]
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert NEVER_TRAINED in ready["message"]
    events = cluster.events_about("e2e-never-trained", created["metadata"]["uid"])
    assert [e["reason"] for e in events if e["type"] == "Warning"] == ["Rejected"]
    after = (reconciled(cluster, LIVE, settle_seconds))["status"].get("approvedModel")
    assert after == before
