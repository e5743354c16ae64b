"""Carry a ModelPromotion through validation and confirmation to the promotion service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.config import ConfigError, EnvironmentConfig, GateThresholds
from krakenops.core.gates import unmet_gates
from krakenops.core.promotion import PromotionOutcome, PromotionRequest, PromotionService
from krakenops.core.records import Action, ValidationReport
from krakenops.operator.conditions import Condition, timestamp
from krakenops.operator.constants import ConditionType, EventReason, Reason
from krakenops.operator.environment import Notice, approved_status
from krakenops.operator.metrics import environment_label, job_seconds
from krakenops.operator.objects import validation_job, validation_job_name
from krakenops.operator.runtime import ENVIRONMENTS, JOBS, Runtime, owner_of
from krakenops.operator.specs import TERMINAL_PHASES, ModelPromotionSpec, PromotionPhase
from krakenops.operator.workloads import JobState, observe_job

__all__ = [
    "PromotionReport",
    "StillValidating",
    "advance_promotion",
    "request_id",
    "validation_status",
]

# A validation Job replays the policy over the history; it is stopped if it takes longer than this.
VALIDATION_DEADLINE_SECONDS = 3600


class StillValidating(Exception):  # noqa: N818 - a state to wait in, not a failure
    """The validation Job runs; look again later."""


@dataclass
class PromotionReport:
    """The status to write and the Events to post, filled as the promotion advances."""

    phase: PromotionPhase | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    environment_notices: list[Notice] = field(default_factory=list)
    environment: dict[str, Any] | None = None
    outcome: str | None = None

    def set(self, phase: PromotionPhase, reason: Reason, message: str) -> None:
        self.phase = phase
        done = phase in TERMINAL_PHASES or phase is PromotionPhase.AWAITING_CONFIRMATION
        stalled = phase is PromotionPhase.FAILED
        self.conditions = [
            Condition(
                ConditionType.READY,
                phase in (PromotionPhase.PROMOTED, PromotionPhase.ROLLED_BACK),
                reason,
                message,
            ),
            Condition(ConditionType.RECONCILING, not done, reason, message),
            Condition(ConditionType.STALLED, stalled, reason, message),
        ]

    def fail(self, error: BaseException, previous: PromotionPhase | None) -> None:
        """An error is no outcome: the phase stays where it was, Stalled says why, Kopf retries."""
        message = f"{type(error).__name__}: {error}"
        self.phase = self.phase or previous or PromotionPhase.PENDING
        self.outcome = None
        reason = Reason.RECONCILE_FAILED
        self.conditions = [
            Condition(ConditionType.READY, False, reason, message),
            Condition(ConditionType.RECONCILING, False, reason, message),
            Condition(ConditionType.STALLED, True, reason, message),
        ]


def request_id(body: Mapping[str, Any]) -> str:
    """The pointer and the audit log name the exact object; a retry of it is recognised by this."""
    metadata = body["metadata"]
    return f"{metadata['namespace']}/{metadata['name']}/{metadata['uid']}"


async def advance_promotion(
    runtime: Runtime,
    body: Mapping[str, Any],
    report: PromotionReport,
    find_environment: Callable[[str, str], Mapping[str, Any] | None],
) -> None:
    """One step: raise StillValidating to be called again; otherwise `report` holds the result.

    `find_environment(namespace, name)` returns the TradingEnvironment's body, or None.
    """
    status = body.get("status") or {}
    if status.get("phase") in TERMINAL_PHASES:
        return
    try:
        spec = ModelPromotionSpec.model_validate(body.get("spec") or {})
    except ValidationError as error:
        report.set(PromotionPhase.FAILED, Reason.REJECTED, f"invalid spec: {error}")
        report.outcome = PromotionPhase.FAILED.value
        return
    namespace = body["metadata"]["namespace"]
    environment = find_environment(namespace, spec.environment)
    if environment is None:
        report.set(
            PromotionPhase.PENDING,
            Reason.ENVIRONMENT_NOT_FOUND,
            f"no TradingEnvironment {spec.environment}",
        )
        raise StillValidating(f"waiting for TradingEnvironment {spec.environment}")
    report.environment = dict(environment)
    try:
        config = runtime.environment(environment)
        store = runtime.store(config)
    except (ConfigError, ArtifactError) as error:
        report.set(PromotionPhase.FAILED, Reason.ENVIRONMENT_NOT_FOUND, str(error))
        report.outcome = PromotionPhase.FAILED.value
        return
    # Only a request that could be applied waits for a human; anything else goes to the
    # service now, which refuses it and records why.
    could_apply = True
    if spec.action is Action.PROMOTE:
        if _candidate_sha256(store, spec) is None:
            could_apply = False
        else:
            passed = await _validated(
                runtime, body, spec, store=store, config=config, report=report
            )
            if passed is None:
                return
            could_apply = passed
    if spec.confirm is None and could_apply:
        message = f"confirm with {spec.action.confirmation!r} in a new ModelPromotion to {spec.action.value}"
        if status.get("phase") != PromotionPhase.AWAITING_CONFIRMATION:
            report.notices.append(Notice(EventReason.AWAITING_CONFIRMATION, message))
        report.set(PromotionPhase.AWAITING_CONFIRMATION, Reason.AWAITING_CONFIRMATION, message)
        report.outcome = PromotionPhase.AWAITING_CONFIRMATION.value
        return
    request = PromotionRequest(
        action=spec.action,
        confirm=spec.confirm,
        request_id=request_id(body),
        model_id=spec.model_id,
        reason=spec.reason,
    )
    service = PromotionService(store, runtime.clock, config.spec.trainer.gates)
    # The service fsyncs several files; keep the event loop free meanwhile.
    outcome = await asyncio.to_thread(service.execute, request)
    _report_outcome(spec, outcome, report)
    if outcome.applied:
        approved = approved_status(outcome.pointer)
        await runtime.kube.merge_patch(
            ENVIRONMENTS,
            namespace,
            spec.environment,
            {"status": {"approvedModel": approved}},
            subresource="status",
        )


def _candidate_sha256(store: ArtifactStore, spec: ModelPromotionSpec) -> str | None:
    """The digest of an intact candidate; None lets the service refuse a missing or tampered one."""
    assert spec.model_id is not None
    try:
        return store.verify_candidate(spec.model_id)
    except ArtifactError:
        return None


async def _validated(
    runtime: Runtime,
    body: Mapping[str, Any],
    spec: ModelPromotionSpec,
    *,
    store: ArtifactStore,
    config: EnvironmentConfig,
    report: PromotionReport,
) -> bool | None:
    """Whether this exact candidate passed, once its report is in status.validation; None when
    the validation Job ended without a report (the promotion has failed)."""
    assert spec.model_id is not None
    sha = store.candidate_sha256(spec.model_id)
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    job_name = validation_job_name(name)
    # Once this promotion has started a Job, the Job decides: a report written meanwhile is its own.
    validating = (body.get("status") or {}).get("phase") == PromotionPhase.VALIDATING
    job = await runtime.kube.get(JOBS, namespace, job_name) if validating else None
    if job is None:
        existing, _ = _read_report(store, spec.model_id)
        if _passing_for(existing, sha, config.spec.trainer.gates):
            assert existing is not None
            if (body.get("status") or {}).get("validation") is None:
                reused = f"passing report for sha256 {sha[:12]} reused"
                report.notices.append(Notice(EventReason.VALIDATION_REUSED, reused))
            report.fields["validation"] = validation_status(store, existing, reused=True)
            return True
        manifest = validation_job(
            config,
            namespace,
            owner_of(body),
            model_id=spec.model_id,
            deadline_seconds=VALIDATION_DEADLINE_SECONDS,
            service_account=runtime.settings.service_account,
        )
        # None: the Job exists already (a status write was lost); it is looked at next time.
        if await runtime.kube.create(JOBS, namespace, manifest) is not None:
            runtime.metrics.jobs_started.labels(
                environment=environment_label(spec.environment), component="validation"
            ).inc()
            report.notices.append(
                Notice(EventReason.VALIDATION_STARTED, f"{job_name} validates {spec.model_id}")
            )
        report.set(PromotionPhase.VALIDATING, Reason.VALIDATING, f"{job_name} started")
        raise StillValidating(job_name)
    observed = observe_job(job)
    if observed.state is JobState.RUNNING:
        report.set(PromotionPhase.VALIDATING, Reason.VALIDATING, f"{job_name} running")
        raise StillValidating(job_name)
    runtime.metrics.jobs_finished.labels(
        environment=environment_label(spec.environment),
        component="validation",
        result=observed.state.value,
    ).inc()
    seconds = job_seconds(job)
    if seconds is not None:
        runtime.metrics.job_duration.labels(
            environment=environment_label(spec.environment), component="validation"
        ).observe(seconds)
    fresh, damage = _read_report(store, spec.model_id)
    if fresh is None or fresh.sha256 != sha:
        message = damage or (
            f"{job_name} {observed.state.value.lower()} without a report for sha256 {sha[:12]}"
        )
        report.notices.append(Notice(EventReason.FAILED, message, warning=True))
        report.set(PromotionPhase.FAILED, Reason.VALIDATION_JOB_FAILED, message)
        report.outcome = PromotionPhase.FAILED.value
        return None
    report.fields["validation"] = validation_status(store, fresh, reused=False)
    verdict = "passed" if fresh.passed else f"failed: {', '.join(fresh.failures)}"
    report.notices.append(
        Notice(
            EventReason.VALIDATION_FINISHED, f"{spec.model_id} {verdict}", warning=not fresh.passed
        )
    )
    return _passing_for(fresh, sha, config.spec.trainer.gates)


def _read_report(store: ArtifactStore, model_id: str) -> tuple[ValidationReport | None, str]:
    """The candidate's report, or None and why: a damaged one is validated again, not trusted."""
    try:
        return store.read_validation(model_id), ""
    except ArtifactError as error:
        return None, str(error)


def _passing_for(report: ValidationReport | None, sha: str, gates: GateThresholds) -> bool:
    """Whether `report` lets this environment promote the candidate of digest `sha`: one made
    under looser thresholds, or another environment's, is validated again under these gates."""
    return (
        report is not None
        and report.passed
        and not report.failures
        and report.sha256 == sha
        and not unmet_gates(report, gates)
    )


def validation_status(
    store: ArtifactStore, report: ValidationReport, *, reused: bool
) -> dict[str, Any]:
    """The report as status.validation: each check with its value and threshold."""
    if report.gates:
        checks = [
            {
                "name": g.name,
                "value": float(g.value),
                "threshold": _number(g.threshold),
                "passed": g.passed,
            }
            for g in report.gates
        ]
    else:
        checks = [
            {"name": k, "value": float(v), "threshold": None, "passed": None}
            for k, v in report.checks.items()
        ]
    return {
        "passed": report.passed,
        "sha256": report.sha256,
        "validatedAt": timestamp(report.validated_at) if report.validated_at else None,
        "checks": checks,
        "failures": list(report.failures),
        "report": str(store.validation_path(report.model_id)),
        "reused": reused,
    }


def _number(value: float | bool | None) -> float | None:
    return None if value is None else float(value)


def _report_outcome(
    spec: ModelPromotionSpec, outcome: PromotionOutcome, report: PromotionReport
) -> None:
    change = outcome.change
    if outcome.applied and outcome.pointer is not None and change is not None:
        # What this request changed; a retry of it reports the same, whatever came since.
        previous = change.from_model
        report.fields["model"] = change.to_model
        report.fields["sha256"] = change.sha256
        report.fields["previousModel"] = previous
        report.fields["completedAt"] = timestamp(change.timestamp)
        if spec.action is Action.PROMOTE:
            phase, reason, event = PromotionPhase.PROMOTED, Reason.PROMOTED, EventReason.PROMOTED
        else:
            phase, reason, event = (
                PromotionPhase.ROLLED_BACK,
                Reason.ROLLED_BACK,
                EventReason.ROLLED_BACK,
            )
        message = (
            f"{spec.environment} now trades {change.to_model} (was {previous or 'none'})"
            if outcome.pointer.promotion == change.promotion
            else f"{spec.environment} took {change.to_model} (was {previous or 'none'}); "
            f"{outcome.pointer.model_id} has been approved since"
        )
        report.set(phase, reason, message)
        report.notices.append(Notice(event, message))
        report.environment_notices.append(Notice(event, message))
        report.outcome = phase.value
        return
    refusals = [r.value for r in outcome.refusals]
    message = outcome.explain()
    report.fields["refusals"] = refusals
    report.set(PromotionPhase.REJECTED, Reason.REJECTED, message)
    report.notices.append(Notice(EventReason.REJECTED, message, warning=True))
    report.outcome = PromotionPhase.REJECTED.value
