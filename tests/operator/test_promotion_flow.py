"""ModelPromotion on the emulator: validation, confirmation, the pointer, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import load_config
from krakenops.core.promotion import PromotionService
from krakenops.operator.constants import Metric
from krakenops.operator.kube import Kube, KubeError
from krakenops.operator.metrics import OperatorMetrics
from krakenops.operator.settings import OperatorSettings
from tests.conftest import PAPER_CONFIG
from tests.factories import candidate, report, shadow_report
from tests.operator.emulator import ApiServer
from tests.operator.harness import (
    JOBS,
    environment_status,
    event_reasons,
    eventually,
    finish_job,
    manifest,
    operator_running,
    promotion_manifest,
    promotion_status,
)

pytestmark = pytest.mark.looptime

PAPER = "paper-kraken-crypto-global"
MODEL = "model_20260205_abc123"


@pytest.fixture
def store(artifact_root: Path) -> ArtifactStore:
    config = load_config(PAPER_CONFIG).with_root(artifact_root)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    return store


def phase_of(server: ApiServer, name: str) -> str | None:
    return promotion_status(server, name).get("phase")


def stalled_conditions(server: ApiServer, name: str) -> dict[str, dict[str, Any]] | None:
    """The conditions by type once Stalled is True, else None."""
    conditions = {c["type"]: c for c in promotion_status(server, name).get("conditions", [])}
    stalled = conditions.get("Stalled", {}).get("status") == "True"
    return conditions if stalled else None


async def promoted_until_stalled(
    server: ApiServer, settings: OperatorSettings, clock: ManualClock, store: ArtifactStore
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], OperatorMetrics]:
    """Promote a validated candidate until its status says Stalled: its conditions, status and
    the operator's metrics then."""
    store.write_validation(report(MODEL, candidate(store, MODEL).sha256))
    async with operator_running(server, settings, clock) as running:
        server.create(manifest(PAPER_CONFIG))
        server.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        # Until the environment is indexed the promotion may wait as Pending, not stalled.
        conditions = await eventually(lambda: stalled_conditions(server, "promote-abc"))
    return conditions, promotion_status(server, "promote-abc"), running.runtime.metrics


async def settled(server: ApiServer, name: str, phase: str) -> dict[str, Any]:
    await eventually(lambda: phase_of(server, name) == phase)
    return promotion_status(server, name)


async def test_promotion_with_a_passing_report_writes_the_pointer(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    store.write_validation(report(MODEL, made.sha256))
    async with operator_running(apiserver, settings, window_clock) as running:
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        status = await settled(apiserver, "promote-abc", "Promoted")
        approved = await eventually(
            lambda: environment_status(apiserver, PAPER).get("approvedModel")
        )
        outcome = running.runtime.metrics.value(
            Metric.PROMOTIONS, environment=PAPER, action="promote", outcome="Promoted"
        )
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == MODEL and pointer.sha256 == made.sha256
    assert pointer.promotion.startswith("default/promote-abc/")
    assert status["validation"]["passed"] is True and status["validation"]["reused"] is True
    assert status["model"] == MODEL and status["sha256"] == made.sha256
    assert approved["modelId"] == MODEL
    assert [r.model_id for r in store.audit_records()] == [MODEL]
    assert apiserver.objects(*JOBS) == [], "a passing report for the same sha256 is reused"
    assert "Promoted" in event_reasons(apiserver, "promote-abc")
    assert "Promoted" in event_reasons(apiserver, PAPER)
    assert outcome == 1


async def test_promotion_runs_a_validation_job_and_copies_its_report(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await settled(apiserver, "promote-abc", "Validating")
        job = apiserver.read(*JOBS, "default", "promote-abc-validate")
        assert job is not None
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[-2:] == ["--model-id", MODEL]
        assert store.read_pointer() is None

        written = report(MODEL, made.sha256)
        store.write_validation(written)
        finish_job(apiserver, "promote-abc-validate")
        status = await settled(apiserver, "promote-abc", "Promoted")
    assert status["validation"]["reused"] is False
    assert {c["name"] for c in status["validation"]["checks"]} == {
        "integrity",
        "oos_sharpe",
        "max_drawdown",
        "tail_loss",
        "annual_turnover",
    }
    copied = {c["name"]: c["value"] for c in status["validation"]["checks"]}
    assert copied == {name: float(value) for name, value in written.checks.items()}
    assert status["validation"]["passed"] is True and status["validation"]["failures"] == []
    assert status["validation"]["sha256"] == made.sha256
    assert status["validation"]["report"] == str(store.validation_path(MODEL))
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == MODEL
    assert event_reasons(apiserver, "promote-abc")[:1] == ["ValidationStarted"]


async def awaiting_confirmation(
    apiserver: ApiServer, settings: OperatorSettings, clock: ManualClock
) -> dict[str, Any]:
    """The status of an unconfirmed promotion of MODEL, once it waits for a human."""
    async with operator_running(apiserver, settings, clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL))
        return await settled(apiserver, "promote-abc", "AwaitingConfirmation")


async def test_a_promotion_shows_how_its_candidate_did_in_shadow_beside_the_champion(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    store.write_validation(report(MODEL, candidate(store, MODEL).sha256))
    store.write_shadow_report(shadow_report(store, MODEL))
    shadow = (await awaiting_confirmation(apiserver, settings, window_clock))["shadow"]
    assert shadow["report"] == str(store.shadow_report_path(MODEL))
    assert (shadow["daysInShadow"], shadow["steps"], shadow["restarts"]) == (4.875, 98, 0)
    assert shadow["start"] == "2026-01-31T05:00:00Z" and shadow["end"] == "2026-02-05T01:00:00Z"
    assert shadow["shadow"]["pnlUsd"] == 150.0 and shadow["shadow"]["sharpe"] == 1.9
    assert shadow["champion"]["pnlUsd"] == -50.0 and shadow["champion"]["maxDrawdown"] == 0.03
    assert (shadow["championModel"], shadow["championSource"]) == ("rules-only", "live_records")


async def test_a_promotion_of_a_candidate_never_in_shadow_shows_no_shadow(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    store.write_validation(report(MODEL, candidate(store, MODEL).sha256))
    status = await awaiting_confirmation(apiserver, settings, window_clock)
    assert status["validation"]["passed"] is True
    assert "shadow" not in status


async def test_a_report_passed_under_looser_thresholds_is_not_reused_but_validated_again(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    loose = report(MODEL, made.sha256)
    store.write_validation(loose.model_copy(update={"checks": loose.checks | {"tail_loss": 0.3}}))
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await settled(apiserver, "promote-abc", "Validating")
        assert apiserver.read(*JOBS, "default", "promote-abc-validate") is not None
        assert store.read_pointer() is None
        # The Job, under this environment's gates, measures the same tail loss.
        store.write_validation(
            loose.model_copy(
                update={
                    "passed": False,
                    "failures": ["tail_loss 0.3 > 0.05"],
                    "checks": loose.checks | {"tail_loss": 0.3},
                }
            )
        )
        finish_job(apiserver, "promote-abc-validate")
        status = await settled(apiserver, "promote-abc", "Rejected")
    assert store.read_pointer() is None
    assert "GatesUnmet" in status["refusals"]


async def test_a_damaged_report_is_validated_again_and_a_damaged_fresh_one_fails_naming_it(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    candidate(store, MODEL)
    path = store.validation_path(MODEL)
    path.write_bytes(b'{"model_id": "model_20260205_abc123", "passed": tr')
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await settled(apiserver, "promote-abc", "Validating")
        finish_job(apiserver, "promote-abc-validate")  # it left the report as damaged as it was
        status = await settled(apiserver, "promote-abc", "Failed")
    assert store.read_pointer() is None
    message = next(c["message"] for c in status["conditions"] if c["type"] == "Stalled")
    assert str(path) in message and "not a valid ValidationReport" in message


async def test_promotion_rejected_when_validation_fails(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await settled(apiserver, "promote-abc", "Validating")
        store.write_validation(report(MODEL, made.sha256, passed=False))
        finish_job(apiserver, "promote-abc-validate")
        status = await settled(apiserver, "promote-abc", "Rejected")
    assert store.read_pointer() is None
    assert status["refusals"] == ["ValidationFailed", "GatesUnmet"]
    assert status["validation"]["passed"] is False
    assert status["validation"]["failures"] == ["oos_sharpe 0.1 < 0.5"]


async def test_promotion_fails_when_the_validation_job_leaves_no_report(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    candidate(store, MODEL)
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await settled(apiserver, "promote-abc", "Validating")
        finish_job(apiserver, "promote-abc-validate", succeeded=False)
        status = await settled(apiserver, "promote-abc", "Failed")
    assert store.read_pointer() is None
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "ValidationJobFailed"


async def test_promotion_waits_for_confirmation_then_a_confirmed_request_reuses_the_report(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("review-abc", PAPER, "promote", MODEL))
        await settled(apiserver, "review-abc", "Validating")
        store.write_validation(report(MODEL, made.sha256))
        finish_job(apiserver, "review-abc-validate")
        waiting = await settled(apiserver, "review-abc", "AwaitingConfirmation")
        assert store.read_pointer() is None
        assert waiting["validation"]["passed"] is True

        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await settled(apiserver, "promote-abc", "Promoted")
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == MODEL
    assert len(apiserver.objects(*JOBS)) == 1, "the confirmed request reused the report"
    assert "AwaitingConfirmation" in event_reasons(apiserver, "review-abc")


async def test_promotion_refused_when_the_candidate_was_tampered_with(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    store.write_validation(report(MODEL, made.sha256))
    (made.path / "model.skops").write_bytes(b"other weights")
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        status = await settled(apiserver, "promote-abc", "Rejected")
    assert store.read_pointer() is None
    assert "CandidateTampered" in status["refusals"]
    assert apiserver.objects(*JOBS) == [], "a tampered candidate is not worth validating"


async def test_rollback_restores_the_previous_pointer(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    first, second = "model_20260204_first", "model_20260205_second"
    for model_id in (first, second):
        store.write_validation(
            report(model_id, candidate(store, model_id, payload=model_id.encode()).sha256)
        )
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(
            promotion_manifest("promote-first", PAPER, "promote", first, "yes-promote")
        )
        await settled(apiserver, "promote-first", "Promoted")
        apiserver.create(
            promotion_manifest("promote-second", PAPER, "promote", second, "yes-promote")
        )
        promoted = await settled(apiserver, "promote-second", "Promoted")
        assert promoted["previousModel"] == first

        apiserver.create(promotion_manifest("rollback", PAPER, "rollback", confirm="yes-rollback"))
        rolled = await settled(apiserver, "rollback", "RolledBack")
        await eventually(
            lambda: environment_status(apiserver, PAPER)["approvedModel"]["modelId"] == first
        )
    assert rolled["model"] == first and rolled["previousModel"] == second
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == first
    assert [r.action.value for r in store.audit_records()] == ["promote", "promote", "rollback"]


async def test_rollback_without_a_previous_model_is_rejected(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        apiserver.create(promotion_manifest("rollback", PAPER, "rollback", confirm="yes-rollback"))
        status = await settled(apiserver, "rollback", "Rejected")
    assert status["refusals"] == ["NoPreviousModel"]
    assert store.read_pointer() is None


async def test_a_promotion_that_errors_says_so_in_its_status_and_is_tried_again(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
    monkeypatch: pytest.MonkeyPatch,
):
    def disk_full(*_: Any, **__: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(PromotionService, "execute", disk_full)
    conditions, status, metrics = await promoted_until_stalled(
        apiserver, settings, window_clock, store
    )
    assert status["phase"] == "Pending", "an error is not an outcome: the promotion is retried"
    assert status["observedGeneration"] == 1
    assert conditions["Stalled"]["reason"] == "ReconcileFailed"
    assert "No space left on device" in conditions["Stalled"]["message"]
    assert conditions["Ready"]["status"] == "False"
    assert store.read_pointer() is None
    assert metrics.value(Metric.RECONCILE_ERRORS, kind="ModelPromotion") >= 1


async def test_a_promotion_whose_environment_status_write_fails_stays_promoted_and_counted(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
    monkeypatch: pytest.MonkeyPatch,
):
    merge_patch = Kube.merge_patch

    async def refuse_the_approved_model(self: Kube, *args: Any, **kwargs: Any) -> Any:
        body = args[3]
        if set(body.get("status") or {}) == {"approvedModel"}:
            raise KubeError(503, "the API server is busy")
        return await merge_patch(self, *args, **kwargs)

    monkeypatch.setattr(Kube, "merge_patch", refuse_the_approved_model)
    conditions, status, metrics = await promoted_until_stalled(
        apiserver, settings, window_clock, store
    )
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == MODEL, "the pointer was written"
    assert status["phase"] == "Promoted" and status["model"] == MODEL
    assert "the API server is busy" in conditions["Stalled"]["message"]
    promoted = {"environment": PAPER, "action": "promote", "outcome": "Promoted"}
    assert metrics.value(Metric.PROMOTIONS, **promoted) == 1
