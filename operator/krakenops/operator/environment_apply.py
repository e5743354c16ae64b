"""Apply the window plan of a TradingEnvironment: observe its objects, plan, act, report status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kopf

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.config import ConfigError, EnvironmentConfig, Mode
from krakenops.core.records import ApprovedPointer, CandidateMetadata
from krakenops.operator.conditions import Condition, merge_conditions
from krakenops.operator.constants import (
    LABEL_COMPONENT,
    LABEL_ENVIRONMENT,
    ConditionType,
    EventReason,
    Reason,
)
from krakenops.operator.environment_plan import Observed, plan_environment
from krakenops.operator.events import Notice
from krakenops.operator.metrics import job_seconds
from krakenops.operator.objects import (
    TEMPLATE_HASH_ANNOTATION,
    Owner,
    config_map,
    config_map_name,
    trader_deployment,
    trader_name,
    trainer_job,
)
from krakenops.operator.resources import TradingEnvironment
from krakenops.operator.runtime import CONFIG_MAPS, DEPLOYMENTS, JOBS, Runtime
from krakenops.operator.status import EnvironmentPhase, TradingEnvironmentStatus
from krakenops.operator.workloads import observe_job, ready_replicas

__all__ = ["EnvironmentReport", "reconcile_environment"]


@dataclass
class EnvironmentReport:
    """What one reconcile ends with, errors included: the status to write and Events to post."""

    status: TradingEnvironmentStatus = field(default_factory=TradingEnvironmentStatus)
    conditions: list[Condition] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def fail(self, reason: Reason, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}"
        self.conditions = [
            Condition(ConditionType.READY, False, reason, message),
            Condition(ConditionType.RECONCILING, False, reason, message),
            Condition(ConditionType.STALLED, True, reason, message),
        ]

    def final_status(self, body: Mapping[str, Any], now: datetime) -> TradingEnvironmentStatus:
        previous = body.get("status") or {}
        generation = (body.get("metadata") or {}).get("generation")
        status = self.status.model_copy()
        if "observed_generation" not in status.model_fields_set:
            status.observed_generation = generation
        status.conditions = merge_conditions(
            self.conditions, previous.get("conditions"), generation, now
        )
        return status


async def reconcile_environment(
    runtime: Runtime,
    environment: TradingEnvironment,
    report: EnvironmentReport,
    logger: kopf.Logger,
) -> None:
    """Bring the trader and the trainer Job in line with the window; fill `report` as it goes."""
    metadata = environment.metadata
    namespace, name = metadata.namespace, metadata.name
    try:
        config = runtime.environment(environment.manifest)
    except ConfigError as error:
        report.status = TradingEnvironmentStatus(phase=EnvironmentPhase.ERROR)
        report.notices.append(Notice(EventReason.INVALID_SPEC, str(error), warning=True))
        report.fail(Reason.INVALID_SPEC, error)
        return
    kube, owner, settings = runtime.kube, environment.owner(), runtime.settings
    store = runtime.store(config)
    now = runtime.clock.now()

    wanted_config = config_map(config, namespace, owner)
    existing_config = await kube.get(CONFIG_MAPS, namespace, config_map_name(name))
    if existing_config is None:
        await kube.create(CONFIG_MAPS, namespace, wanted_config)
    elif existing_config.get("data") != wanted_config["data"]:
        await kube.merge_patch(
            CONFIG_MAPS, namespace, config_map_name(name), {"data": wanted_config["data"]}
        )

    deployment = await kube.get(DEPLOYMENTS, namespace, trader_name(name))
    selector = f"{LABEL_ENVIRONMENT}={name},{LABEL_COMPONENT}=trainer"
    job_bodies = await kube.list_labelled(JOBS, namespace, selector)
    jobs = tuple(observe_job(job) for job in job_bodies)
    window = config.spec.downtime.window()
    opened, _ = window.window_at_or_after(now)
    seen = Observed(
        config=config,
        now=now,
        generation=metadata.generation,
        trader_replicas=(deployment or {}).get("spec", {}).get("replicas") if deployment else None,
        trader_ready=ready_replicas(deployment),
        jobs=jobs,
        pointer=_read_pointer(store, logger),
        previous_status=environment.status,
        new_candidate=_newest_candidate(store, since=opened)
        if config.spec.mode is Mode.PAPER
        else None,
    )
    plan = plan_environment(seen)
    report.status = plan.status
    report.conditions = plan.conditions
    report.notices.extend(plan.notices)

    for job_name in plan.stop_jobs:
        await kube.delete(JOBS, namespace, job_name)
        runtime.metrics.jobs_overrun.labels(environment=name).inc()
    for job_name in plan.prune_jobs:
        await kube.delete(JOBS, namespace, job_name)
    if plan.replicas is not None:
        await _apply_trader(
            runtime, config, namespace, owner, deployment=deployment, replicas=plan.replicas
        )
    if plan.create_job is not None:
        window_id = window.window_id(now)
        job = trainer_job(
            config,
            namespace,
            owner,
            window_id=window_id,
            deadline_seconds=plan.job_deadline_seconds,
            service_account=settings.service_account,
        )
        if await kube.create(JOBS, namespace, job) is not None:
            runtime.metrics.jobs_started.labels(environment=name, component="trainer").inc()
    for finished in _newly_finished(seen, plan.status):
        runtime.metrics.jobs_finished.labels(
            environment=name, component="trainer", result=finished
        ).inc()
        finished_job = plan.status.last_training.job if plan.status.last_training else None
        seconds = next(
            (job_seconds(j) for j in job_bodies if j["metadata"]["name"] == finished_job), None
        )
        if seconds is not None:
            runtime.metrics.job_duration.labels(environment=name, component="trainer").observe(
                seconds
            )
    if plan.transition:
        runtime.metrics.transitions.labels(environment=name, phase=str(plan.status.phase)).inc()
    runtime.metrics.observe_environment(name, plan.status)


async def _apply_trader(
    runtime: Runtime,
    config: EnvironmentConfig,
    namespace: str,
    owner: Owner,
    *,
    deployment: Mapping[str, Any] | None,
    replicas: int,
) -> None:
    kube, name = runtime.kube, trader_name(config.name)
    account = runtime.settings.service_account
    wanted = trader_deployment(config, namespace, owner, replicas, account)
    if deployment is None:
        await kube.create(DEPLOYMENTS, namespace, wanted)
        return
    patch: dict[str, Any] = {}
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    if (
        annotations.get(TEMPLATE_HASH_ANNOTATION)
        != wanted["metadata"]["annotations"][TEMPLATE_HASH_ANNOTATION]
    ):
        patch["metadata"] = {"annotations": wanted["metadata"]["annotations"]}
        patch["spec"] = {"template": wanted["spec"]["template"]}
    if (deployment.get("spec") or {}).get("replicas") != replicas:
        patch.setdefault("spec", {})["replicas"] = replicas
    if patch:
        await kube.merge_patch(DEPLOYMENTS, namespace, name, patch)


def _read_pointer(store: ArtifactStore, logger: kopf.Logger) -> ApprovedPointer | None:
    try:
        return store.read_pointer()
    except ArtifactError as error:
        # The trader refuses an unreadable pointer on its own; the status then shows no model.
        logger.warning(f"approved pointer unreadable: {error}")
        return None


def _newest_candidate(store: ArtifactStore, since: datetime) -> str | None:
    newest: tuple[datetime, str] | None = None
    for model_id in store.candidate_ids():
        path = store.candidates / model_id / "metadata.json"
        try:
            created = CandidateMetadata.model_validate_json(path.read_bytes()).created_at
        except (OSError, ValueError):
            continue
        if created >= since and (newest is None or (created, model_id) > newest):
            newest = (created, model_id)
    return newest[1] if newest else None


def _newly_finished(seen: Observed, status: TradingEnvironmentStatus) -> list[str]:
    before, after = seen.previous_status.last_training, status.last_training
    if after is None:
        return []
    changed = before is None or (before.job, before.result) != (after.job, after.result)
    return [after.result] if changed and after.result in ("Succeeded", "Failed") else []
