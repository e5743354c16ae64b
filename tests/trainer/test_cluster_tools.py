"""The tools in a cluster: a ModelPromotion is created and its phase reported as the outcome."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from krakenops.core.records import Action
from krakenops.trainer.approval import promote_command, rollback_command
from krakenops.trainer.cluster import promotion_manifest, request_promotion


class Cluster:
    """An API server holding ModelPromotions, and the phases an operator would write to them."""

    def __init__(self, phases: list[str], status: Mapping[str, Any] | None = None) -> None:
        self.phases = phases
        self.status = dict(status or {})
        self.objects: dict[str, dict[str, Any]] = {}
        self.gets = 0

    def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        created = copy.deepcopy(dict(body))
        created["metadata"] |= {"namespace": namespace, "uid": "u-1", "resourceVersion": "1"}
        self.objects[created["metadata"]["name"]] = created
        return copy.deepcopy(created)

    def get(self, namespace: str, name: str) -> Mapping[str, Any]:
        self.gets += 1
        return copy.deepcopy(self.objects[name])

    def watch(self, namespace: str, name: str, timeout_seconds: int) -> Iterator[Mapping[str, Any]]:
        while self.phases:
            phase = self.phases.pop(0)
            self.objects[name]["status"] = {**self.status, "phase": phase}
            yield copy.deepcopy(self.objects[name])


def test_the_manifest_carries_the_seeds_fields_and_a_fresh_name():
    first = promotion_manifest(
        "live-kraken-crypto-global", Action.PROMOTE, "model_x", "why", "yes-promote"
    )
    second = promotion_manifest(
        "live-kraken-crypto-global", Action.PROMOTE, "model_x", "why", "yes-promote"
    )
    assert first["apiVersion"] == "krakenops.io/v1alpha1" and first["kind"] == "ModelPromotion"
    assert first["spec"] == {
        "environment": "live-kraken-crypto-global",
        "action": "promote",
        "modelId": "model_x",
        "reason": "why",
        "confirm": "yes-promote",
    }
    assert first["metadata"]["name"] != second["metadata"]["name"]
    rollback = promotion_manifest("live-x", Action.ROLLBACK, None, "", None)
    assert "modelId" not in rollback["spec"] and rollback["spec"]["confirm"] == ""


def test_the_outcome_is_the_first_terminal_phase():
    cluster = Cluster(["Pending", "Validating", "AwaitingConfirmation", "Promoted", "Failed"])
    manifest = promotion_manifest("live-x", Action.PROMOTE, "model_x", "", "yes-promote")
    outcome = request_promotion(cluster, "trading", manifest, timeout_seconds=30)
    assert outcome.phase == "Promoted" and outcome.succeeded
    assert cluster.objects[outcome.name]["metadata"]["namespace"] == "trading"


def test_a_rejection_reports_the_operators_reason():
    status = {
        "conditions": [{"type": "Ready", "status": "False", "message": "validation failed"}],
        "validation": {"passed": False, "failures": ["oos_sharpe 0.1 < 0.5"]},
    }
    cluster = Cluster(["Validating", "Rejected"], status)
    manifest = promotion_manifest("live-x", Action.PROMOTE, "model_x", "", "yes-promote")
    outcome = request_promotion(cluster, "trading", manifest, timeout_seconds=30)
    assert (outcome.phase, outcome.succeeded, outcome.message) == (
        "Rejected",
        False,
        "validation failed",
    )


def test_waiting_stops_at_the_timeout_and_says_where_it_stood():
    ticks = iter([0.0, 0.0, 100.0, 100.0])
    cluster = Cluster(["Validating"])
    manifest = promotion_manifest("live-x", Action.PROMOTE, "model_x", "", "yes-promote")
    outcome = request_promotion(
        cluster, "trading", manifest, timeout_seconds=30, monotonic=lambda: next(ticks)
    )
    assert outcome.phase == "Validating" and not outcome.succeeded
    assert "still Validating after 30 s" in outcome.message


@pytest.mark.parametrize(("phase", "code"), [("Promoted", 0), ("Rejected", 1), ("Failed", 1)])
def test_the_command_exits_by_the_promotions_outcome(
    phase: str, code: int, capsys: pytest.CaptureFixture[str]
):
    cluster = Cluster(["Validating", phase])
    argv = ["--env", "live_kraken_crypto_global", "--model-id", "model_x"]
    argv += ["--confirm", "yes-promote", "--namespace", "trading"]
    assert promote_command(argv, api=cluster) == code
    (created,) = cluster.objects.values()
    assert created["spec"]["environment"] == "live-kraken-crypto-global"
    captured = capsys.readouterr()
    assert phase in (captured.out if code == 0 else captured.err)


def test_a_rollback_in_the_cluster_names_no_model():
    cluster = Cluster(["RolledBack"])
    argv = ["--env", "live-kraken-crypto-global", "--confirm", "yes-rollback", "--namespace", "t"]
    assert rollback_command(argv, api=cluster) == 0
    (created,) = cluster.objects.values()
    assert created["spec"]["action"] == "rollback" and "modelId" not in created["spec"]
