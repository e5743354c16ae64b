"""Apply a ModelPromotion step: read the validation Job and report, start a Job, call the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.config import ConfigError, EnvironmentConfig
from krakenops.core.promotion import PromotionRequest, PromotionService
from krakenops.core.records import Action, ValidationReport
from krakenops.operator.constants import EventReason, Reason
from krakenops.operator.environment_plan import approved_status
from krakenops.operator.events import Notice
from krakenops.operator.metrics import environment_label, job_seconds
from krakenops.operator.objects import validation_job, validation_job_name
from krakenops.operator.promotion_plan import (
    PromotionReport,
    StillValidating,
    passing_for,
    report_outcome,
    validation_status,
)
from krakenops.operator.resources import ModelPromotion
from krakenops.operator.runtime import ENVIRONMENTS, JOBS, Runtime
from krakenops.operator.shadowstatus import shadow_status
from krakenops.operator.specs import ModelPromotionSpec, PromotionPhase
from krakenops.operator.workloads import JobState, observe_job

__all__ = ["VALIDATION_DEADLINE_SECONDS", "advance_promotion"]

# A validation Job replays the policy over the history; it is stopped if it takes longer than this.
VALIDATION_DEADLINE_SECONDS = 3600


async def advance_promotion(
    runtime: Runtime,
    promotion: ModelPromotion,
    report: PromotionReport,
    find_environment: Callable[[str, str], Mapping[str, Any] | None],
) -> None:
    """One step: raise StillValidating to be called again; otherwise `report` holds the result.

    `find_environment(namespace, name)` returns the TradingEnvironment's body, or None.
    """
    spec = promotion.spec
    namespace = promotion.metadata.namespace
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
            passed = await _validated(runtime, promotion, store=store, config=config, report=report)
            if passed is None:
                return
            could_apply = passed
    if spec.confirm is None and could_apply:
        message = f"confirm with {spec.action.confirmation!r} in a new ModelPromotion to {spec.action.value}"
        if promotion.phase is not PromotionPhase.AWAITING_CONFIRMATION:
            report.notices.append(Notice(EventReason.AWAITING_CONFIRMATION, message))
        report.set(PromotionPhase.AWAITING_CONFIRMATION, Reason.AWAITING_CONFIRMATION, message)
        report.outcome = PromotionPhase.AWAITING_CONFIRMATION.value
        return
    request = PromotionRequest(
        action=spec.action,
        confirm=spec.confirm,
        request_id=promotion.metadata.request_id,
        model_id=spec.model_id,
        reason=spec.reason,
    )
    service = PromotionService(store, runtime.clock, config.spec.trainer.gates)
    # The service fsyncs several files; keep the event loop free meanwhile.
    outcome = await asyncio.to_thread(service.execute, request)
    report_outcome(spec, outcome, report)
    if outcome.applied:
        approved = approved_status(outcome.pointer)
        await runtime.kube.merge_patch(
            ENVIRONMENTS,
            namespace,
            spec.environment,
            {"status": {"approvedModel": approved.render() if approved else None}},
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
    promotion: ModelPromotion,
    *,
    store: ArtifactStore,
    config: EnvironmentConfig,
    report: PromotionReport,
) -> bool | None:
    """Whether this exact candidate passed, once its report is in status.validation; None when
    the validation Job ended without a report (the promotion has failed)."""
    spec = promotion.spec
    assert spec.model_id is not None
    sha = store.candidate_sha256(spec.model_id)
    namespace, name = promotion.metadata.namespace, promotion.metadata.name
    job_name = validation_job_name(name)
    # Once this promotion has started a Job, the Job decides: a report written meanwhile is its own.
    validating = promotion.phase is PromotionPhase.VALIDATING
    job = await runtime.kube.get(JOBS, namespace, job_name) if validating else None
    if job is None:
        existing, _ = _read_report(store, spec.model_id)
        if passing_for(store, existing, sha, config.spec.trainer.gates):
            assert existing is not None
            if promotion.status.validation is None:
                reused = f"passing report for sha256 {sha[:12]} reused"
                report.notices.append(Notice(EventReason.VALIDATION_REUSED, reused))
            report.found.validation = validation_status(store, existing, reused=True)
            report.found.shadow = shadow_status(store, spec.model_id)
            return True
        manifest = validation_job(
            config,
            namespace,
            promotion.owner(),
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
    report.found.validation = validation_status(store, fresh, reused=False)
    report.found.shadow = shadow_status(store, spec.model_id)
    verdict = "passed" if fresh.passed else f"failed: {', '.join(fresh.failures)}"
    report.notices.append(
        Notice(
            EventReason.VALIDATION_FINISHED, f"{spec.model_id} {verdict}", warning=not fresh.passed
        )
    )
    return passing_for(store, fresh, sha, config.spec.trainer.gates)


def _read_report(store: ArtifactStore, model_id: str) -> tuple[ValidationReport | None, str]:
    """The candidate's report, or None and why: a damaged one is validated again, not trusted."""
    try:
        return store.read_validation(model_id), ""
    except ArtifactError as error:
        return None, str(error)
