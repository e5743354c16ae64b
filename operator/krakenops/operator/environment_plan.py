"""The window plan of a TradingEnvironment, a plain function: what is observed -> what to do."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from krakenops.core.config import EnvironmentConfig
from krakenops.core.records import ApprovedPointer
from krakenops.core.window import WindowPhase
from krakenops.operator.conditions import Condition, timestamp
from krakenops.operator.constants import ConditionType, EventReason, Reason
from krakenops.operator.events import Notice
from krakenops.operator.objects import trainer_job_name
from krakenops.operator.status import (
    ApprovedModelStatus,
    EnvironmentPhase,
    TraderStatus,
    TradingEnvironmentStatus,
    TrainingStatus,
    WindowStatus,
)
from krakenops.operator.workloads import JobState, ObservedJob

__all__ = [
    "FINISHED_JOBS_KEPT",
    "MIN_TRAINING_SECONDS",
    "Observed",
    "Plan",
    "approved_status",
    "plan_environment",
]

# A Job that would get less than this before its deadline is not started: it could not finish.
MIN_TRAINING_SECONDS = 60
# Finished trainer Jobs kept per environment for `kubectl logs`; older ones are deleted.
FINISHED_JOBS_KEPT = 3


@dataclass(frozen=True)
class Observed:
    """Everything the reconcile looks at, gathered before it decides."""

    config: EnvironmentConfig
    now: datetime
    generation: int | None
    trader_replicas: int | None
    trader_ready: int
    jobs: tuple[ObservedJob, ...]
    pointer: ApprovedPointer | None
    previous_status: TradingEnvironmentStatus
    # The newest candidate written since the current window opened (paper environments).
    new_candidate: str | None = None


@dataclass
class Plan:
    """What the reconcile does, and the status it reports."""

    replicas: int | None = None
    create_job: str | None = None
    job_deadline_seconds: int = 0
    stop_jobs: list[str] = field(default_factory=list)
    prune_jobs: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    overruns: int = 0
    transition: bool = False
    status: TradingEnvironmentStatus = field(default_factory=TradingEnvironmentStatus)
    conditions: list[Condition] = field(default_factory=list)


def approved_status(pointer: ApprovedPointer | None) -> ApprovedModelStatus | None:
    if pointer is None:
        return None
    return ApprovedModelStatus(
        model_id=pointer.model_id,
        sha256=pointer.sha256,
        promoted_at=timestamp(pointer.promoted_at),
        promotion=pointer.promotion,
    )


def plan_environment(seen: Observed) -> Plan:
    """Decide the trader's replicas and the trainer Job for the window at `seen.now`."""
    spec = seen.config.spec
    window = spec.downtime.window()
    state = window.status(seen.now)
    window_id = window.window_id(seen.now)
    plan = Plan()
    last_training = _last_training(seen)
    if spec.suspend:
        phase = EnvironmentPhase.SUSPENDED
        plan.conditions = _conditions(True, Reason.SUSPENDED, "reconciliation is suspended")
    elif state.in_downtime:
        phase = EnvironmentPhase.DOWNTIME
        last_training = _downtime(seen, plan, window_id, state.window_end, last_training)
    else:
        draining = state.phase is WindowPhase.TRANSITION
        phase = EnvironmentPhase.DRAINING if draining else EnvironmentPhase.TRADING
        last_training = _trading(seen, plan, last_training, draining)
    plan.prune_jobs = _prunable(seen.jobs, keep=plan.stop_jobs)
    previous_phase = seen.previous_status.phase
    plan.transition = previous_phase is not None and previous_phase != phase
    desired = plan.replicas if plan.replicas is not None else seen.trader_replicas
    plan.status = TradingEnvironmentStatus(
        phase=phase,
        window=WindowStatus(
            state=state.phase.value,
            current=window_id,
            start=timestamp(state.window_start),
            end=timestamp(state.window_end),
            next_transition=timestamp(state.next_transition),
        ),
        trader=TraderStatus(desired_replicas=desired or 0, ready_replicas=seen.trader_ready),
        last_training=last_training,
        approved_model=approved_status(seen.pointer),
        observed_generation=seen.generation,
    )
    return plan


def _downtime(
    seen: Observed,
    plan: Plan,
    window_id: str,
    window_end: datetime,
    last_training: TrainingStatus | None,
) -> TrainingStatus | None:
    spec = seen.config.spec
    plan.replicas = 0
    if seen.trader_replicas != 0:
        plan.notices.append(Notice(EventReason.TRADER_SCALED, "downtime: trader scaled to 0"))
    name = trainer_job_name(seen.config.name, spec.mode, window_id)
    job = next((j for j in seen.jobs if j.name == name), None)
    if job is not None:
        return _report_job(seen, plan, job)
    if last_training is not None and last_training.job == name:
        # Recorded but gone: skipped, or stopped and deleted; never start a second one.
        plan.conditions = _conditions(
            True, Reason.TRAINER_FINISHED, f"{name}: {last_training.result}"
        )
        return last_training
    if seen.trader_ready > 0:
        plan.conditions = _conditions(
            False, Reason.STOPPING_TRADER, f"waiting for {seen.trader_ready} trader pod(s) to stop"
        )
        return last_training
    margin = spec.trainer.deadline_margin_seconds
    deadline = math.floor((window_end - seen.now).total_seconds()) - margin
    if deadline < MIN_TRAINING_SECONDS:
        plan.notices.append(
            Notice(
                EventReason.TRAINING_SKIPPED,
                f"{name} not started: {deadline}s left before the window's deadline",
                warning=True,
            )
        )
        plan.conditions = _conditions(
            True, Reason.TRAINER_SKIPPED, f"{name} skipped: too late in the window"
        )
        return TrainingStatus(job=name, window=window_id, result="Skipped")
    plan.create_job = name
    plan.job_deadline_seconds = deadline
    what = "training a candidate" if spec.mode.value == "paper" else "validating the approved model"
    plan.notices.append(
        Notice(EventReason.TRAINING_STARTED, f"{name} started ({what}), deadline {deadline}s")
    )
    plan.conditions = _conditions(False, Reason.TRAINER_RUNNING, f"{name} started")
    return TrainingStatus(job=name, window=window_id, result=JobState.RUNNING.value)


def _report_job(seen: Observed, plan: Plan, job: ObservedJob) -> TrainingStatus:
    result = job.state.value
    record = TrainingStatus(job=job.name, window=job.window, result=result)
    if job.state is JobState.SUCCEEDED and seen.new_candidate:
        record.candidate = seen.new_candidate
    if job.state.finished:
        recorded = seen.previous_status.last_training
        before = recorded.result if recorded and recorded.job == job.name else None
        if before != result:
            plan.notices.append(
                Notice(
                    EventReason.TRAINING_FINISHED,
                    f"{job.name}: {result}",
                    warning=job.state is JobState.FAILED,
                )
            )
        plan.conditions = _conditions(True, Reason.TRAINER_FINISHED, f"{job.name}: {result}")
    else:
        plan.conditions = _conditions(False, Reason.TRAINER_RUNNING, f"{job.name} running")
    return record


def _trading(
    seen: Observed, plan: Plan, last_training: TrainingStatus | None, draining: bool
) -> TrainingStatus | None:
    running = [j for j in seen.jobs if j.state is JobState.RUNNING and not j.deleting]
    for job in running:
        # The window closed with the Job still running: stop it, keep the approved model.
        plan.stop_jobs.append(job.name)
        plan.overruns += 1
        plan.notices.append(
            Notice(
                EventReason.TRAINING_OVERRUN,
                f"{job.name} still running when the window closed: stopped; the approved model stays",
                warning=True,
            )
        )
        if last_training is None or job.window >= last_training.window:
            last_training = TrainingStatus(job=job.name, window=job.window, result="Overrun")
    if running or any(j.deleting for j in seen.jobs if j.state is JobState.RUNNING):
        plan.replicas = 0
        plan.conditions = _conditions(False, Reason.STOPPING_OVERRUN, "stopping an overrunning Job")
        return last_training
    plan.replicas = 1
    if seen.trader_replicas != 1:
        plan.notices.append(Notice(EventReason.TRADER_SCALED, "trading: trader scaled to 1"))
    if seen.trader_ready >= 1:
        # Draining: the trader runs but places no new orders before the window opens.
        reason = Reason.DRAINING if draining else Reason.TRADING
        plan.conditions = _conditions(True, reason, "trader running")
    else:
        plan.conditions = _conditions(
            False, Reason.STARTING_TRADER, "waiting for the trader to be ready"
        )
    return last_training


def _last_training(seen: Observed) -> TrainingStatus | None:
    """The newest of the recorded training and the trainer Jobs still present."""
    last = seen.previous_status.last_training
    newest = max(seen.jobs, key=lambda j: j.window, default=None)
    if newest is None:
        return last
    if last is None or newest.window > last.window:
        return TrainingStatus(job=newest.name, window=newest.window, result=newest.state.value)
    if newest.name == last.job and last.result not in ("Overrun", "Skipped"):
        # The same Job, looked at again: its state may have moved on (a restart missed it).
        return last.model_copy(update={"result": newest.state.value})
    return last


def _prunable(jobs: tuple[ObservedJob, ...], keep: list[str]) -> list[str]:
    finished = sorted(
        (j for j in jobs if j.state.finished and not j.deleting), key=lambda j: j.window
    )
    old = finished[:-FINISHED_JOBS_KEPT] if len(finished) > FINISHED_JOBS_KEPT else []
    return [j.name for j in old if j.name not in keep]


def _conditions(ready: bool, reason: Reason, message: str) -> list[Condition]:
    return [
        Condition(ConditionType.READY, ready, reason, message),
        Condition(ConditionType.RECONCILING, not ready, reason, message),
        Condition(ConditionType.STALLED, False, Reason.RECONCILED, ""),
    ]
