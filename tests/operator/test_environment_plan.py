"""The window plan as a plain function: no Kubernetes, just what is seen and what is decided."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.operator.environment_plan import Observed, Plan, plan_environment
from krakenops.operator.status import TradingEnvironmentStatus
from krakenops.operator.workloads import JobState, ObservedJob, observe_job
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG

PAPER = load_config(PAPER_CONFIG)
JOB = "paper-kraken-crypto-global-train-20260205-0300"


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 2, 5, hour, minute, tzinfo=UTC)


def plan(
    now: datetime,
    *,
    config: EnvironmentConfig = PAPER,
    replicas: int | None = 1,
    ready: int = 0,
    jobs: tuple[ObservedJob, ...] = (),
    previous: dict[str, Any] | None = None,
) -> Plan:
    status = TradingEnvironmentStatus.model_validate(previous or {})
    seen = Observed(config, now, 1, replicas, ready, jobs, None, status)
    return plan_environment(seen)


def test_trading_hours_want_one_trader_and_no_job():
    decided = plan(at(12, 0), replicas=0)
    assert decided.replicas == 1 and decided.create_job is None
    assert decided.status.phase == "Trading"


def test_downtime_waits_for_the_trader_to_stop_before_the_job():
    decided = plan(at(3, 0), ready=1)
    assert decided.replicas == 0 and decided.create_job is None


def test_downtime_job_deadline_ends_before_the_window_closes():
    decided = plan(at(3, 30), replicas=0, ready=0)
    assert decided.create_job == JOB
    assert decided.job_deadline_seconds == 90 * 60 - 300


def test_an_existing_job_is_never_created_again():
    running = ObservedJob(JOB, "20260205-0300", JobState.RUNNING)
    decided = plan(at(4, 0), replicas=0, jobs=(running,))
    assert decided.create_job is None
    training = decided.status.last_training
    assert training is not None and training.result == "Running"


def test_a_job_still_running_after_the_window_is_stopped_before_the_trader_returns():
    running = ObservedJob(JOB, "20260205-0300", JobState.RUNNING)
    decided = plan(at(5, 0), replicas=0, jobs=(running,))
    assert decided.stop_jobs == [JOB] and decided.overruns == 1
    assert decided.replicas == 0
    training = decided.status.last_training
    assert training is not None and training.result == "Overrun"


def test_a_window_across_midnight_is_downtime_on_both_sides():
    config = PAPER.model_copy(
        update={
            "spec": PAPER.spec.model_copy(
                update={
                    "downtime": PAPER.spec.downtime.model_copy(
                        update={"start": "23:30", "end": "00:30"}
                    )
                }
            )
        }
    )
    before = plan(datetime(2026, 2, 5, 23, 45, tzinfo=UTC), config=config, replicas=0)
    after = plan(datetime(2026, 2, 6, 0, 15, tzinfo=UTC), config=config, replicas=0)
    assert before.create_job == after.create_job == "paper-kraken-crypto-global-train-20260205-2330"


def test_live_runs_a_validation_job_named_for_the_window():
    decided = plan(at(3, 0), config=load_config(LIVE_CONFIG), replicas=0)
    assert decided.create_job == "live-kraken-crypto-global-validate-20260205-0300"


def test_suspended_environment_is_left_alone():
    config = PAPER.model_copy(update={"spec": PAPER.spec.model_copy(update={"suspend": True})})
    decided = plan(at(3, 0), config=config)
    assert decided.replicas is None and decided.create_job is None and decided.stop_jobs == []


def test_old_finished_jobs_are_pruned_beyond_the_last_three():
    jobs = tuple(
        ObservedJob(f"job-{day}", f"202602{day:02d}-0300", JobState.SUCCEEDED)
        for day in range(1, 6)
    )
    decided = plan(at(12, 0), jobs=jobs)
    assert decided.prune_jobs == ["job-1", "job-2"]


def test_a_job_reads_as_finished_from_its_conditions():
    job = {
        "metadata": {"name": "j"},
        "status": {"conditions": [{"type": "Failed", "status": "True"}]},
    }
    assert observe_job(job).state is JobState.FAILED
