"""The window flow on the emulator: the operator scales the trader and runs the trainer Job."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from krakenops.core.clock import ManualClock
from krakenops.operator.constants import Metric
from krakenops.operator.settings import OperatorSettings
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG
from tests.factories import candidate
from tests.operator.emulator import ApiServer
from tests.operator.harness import (
    DEPLOYMENTS,
    JOBS,
    TE,
    event_reasons,
    eventually,
    finish_job,
    manifest,
    operator_running,
    set_ready,
)

pytestmark = pytest.mark.looptime

PAPER = "paper-kraken-crypto-global"
LIVE = "live-kraken-crypto-global"
TRADER = f"{PAPER}-trader"
TRAIN_JOB = f"{PAPER}-train-20260205-0300"


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 2, 5, hour, minute, second, tzinfo=UTC)


def replicas(server: ApiServer, name: str = TRADER) -> int | None:
    found = server.read(*DEPLOYMENTS, "default", name)
    return None if found is None else found["spec"]["replicas"]


def status(server: ApiServer, name: str = PAPER) -> dict[str, Any]:
    found = server.read(*TE, "default", name)
    return (found or {}).get("status") or {}


async def test_downtime_stops_the_trader_before_the_trainer_job_starts(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock, artifact_root: Path
):
    async with operator_running(apiserver, settings, window_clock) as running:
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(lambda: replicas(apiserver) == 1)
        set_ready(apiserver, TRADER, 1)
        await eventually(lambda: status(apiserver).get("phase") == "Trading")

        window_clock.set(at(3, 0, 30))
        await eventually(lambda: replicas(apiserver) == 0)
        await eventually(lambda: status(apiserver).get("phase") == "Downtime")
        assert apiserver.read(*JOBS, "default", TRAIN_JOB) is None, "the trader is still up"

        set_ready(apiserver, TRADER, 0)
        job = await eventually(lambda: apiserver.read(*JOBS, "default", TRAIN_JOB))
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == [
            "krakenops",
            "train",
            "--config",
            "/etc/krakenops/environment.yaml",
        ]
        # The pods get the environment as declared; the operator's own artifact root (where it
        # mounts the claim) must not leak into their config.
        config_map = apiserver.read("v1", "configmaps", "default", f"{PAPER}-environment")
        assert config_map is not None
        declared = yaml.safe_load(config_map["data"]["environment.yaml"])
        assert declared["spec"]["artifacts"]["root"] == "/data" != str(settings.artifact_root)
        # 05:00 minus the 300 s margin, counted from 03:00:30.
        assert job["spec"]["activeDeadlineSeconds"] == 2 * 3600 - 30 - 300
        assert job["metadata"]["ownerReferences"][0]["kind"] == "TradingEnvironment"

        environment = apiserver.read(*TE, "default", PAPER)
        assert environment is not None
        store = running.runtime.store(running.runtime.environment(environment))
        candidate(store, "model_20260205_fresh")
        finish_job(apiserver, TRAIN_JOB)
        await eventually(
            lambda: status(apiserver).get("lastTraining", {}).get("result") == "Succeeded"
        )
        assert status(apiserver)["lastTraining"]["candidate"] == "model_20260205_fresh"

        window_clock.set(at(5, 0, 5))
        await eventually(lambda: replicas(apiserver) == 1)
        await eventually(lambda: status(apiserver).get("phase") == "Trading")
        metrics = running.runtime.metrics
        assert metrics.value(Metric.JOBS_STARTED, environment=PAPER, component="trainer") == 1
        assert (
            metrics.value(
                Metric.JOBS_FINISHED, environment=PAPER, component="trainer", result="Succeeded"
            )
            == 1
        )
        assert metrics.value(Metric.TRANSITIONS, environment=PAPER, phase="Downtime") == 1
        assert metrics.value(Metric.TRANSITIONS, environment=PAPER, phase="Trading") == 1
    reasons = event_reasons(apiserver, PAPER)
    assert reasons.count("TrainingStarted") == 1
    assert "TrainingFinished" in reasons
    assert apiserver.objects(*JOBS) and len(apiserver.objects(*JOBS)) == 1


async def test_an_overrunning_job_is_stopped_when_the_window_closes(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
):
    async with operator_running(apiserver, settings, window_clock) as running:
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(lambda: replicas(apiserver) == 1)
        window_clock.set(at(3, 1))
        await eventually(lambda: apiserver.read(*JOBS, "default", TRAIN_JOB))

        window_clock.set(at(5, 0, 1))
        await eventually(lambda: apiserver.read(*JOBS, "default", TRAIN_JOB) is None)
        await eventually(lambda: replicas(apiserver) == 1)
        assert status(apiserver)["lastTraining"] == {
            "job": TRAIN_JOB,
            "window": "20260205-0300",
            "result": "Overrun",
        }
        assert running.runtime.metrics.value(Metric.JOBS_OVERRUN, environment=PAPER) == 1
    assert "TrainingOverrun" in event_reasons(apiserver, PAPER)


async def test_live_validates_the_approved_model_and_never_trains(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
):
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(LIVE_CONFIG))
        await eventually(lambda: replicas(apiserver, f"{LIVE}-trader") == 1)
        window_clock.set(at(3, 0))
        job = await eventually(
            lambda: apiserver.read(*JOBS, "default", f"{LIVE}-validate-20260205-0300")
        )
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == [
        "krakenops",
        "validate",
        "--config",
        "/etc/krakenops/environment.yaml",
        "--approved",
    ]
    assert not [j for j in apiserver.objects(*JOBS) if "train" in j["metadata"]["name"]]


async def test_suspend_pauses_scaling_and_jobs(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
):
    async with operator_running(apiserver, settings, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(lambda: replicas(apiserver) == 1)
        apiserver.merge_patch(*TE, "default", PAPER, {"spec": {"suspend": True}})
        await eventually(lambda: status(apiserver).get("phase") == "Suspended")

        window_clock.set(at(3, 0, 30))
        await eventually(lambda: status(apiserver).get("window", {}).get("state") == "DOWNTIME")
        assert replicas(apiserver) == 1
        assert apiserver.objects(*JOBS) == []

        apiserver.merge_patch(*TE, "default", PAPER, {"spec": {"suspend": False}})
        await eventually(lambda: apiserver.read(*JOBS, "default", TRAIN_JOB))
        assert replicas(apiserver) == 0


async def test_too_late_in_the_window_no_job_is_started(
    apiserver: ApiServer, settings: OperatorSettings
):
    clock = ManualClock(at(4, 55))
    async with operator_running(apiserver, settings, clock):
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(
            lambda: status(apiserver).get("lastTraining", {}).get("result") == "Skipped"
        )
        assert replicas(apiserver) == 0
        assert apiserver.objects(*JOBS) == []
    assert event_reasons(apiserver, PAPER).count("TrainingSkipped") == 1


async def test_status_reports_the_error_of_a_failed_reconcile(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock, artifact_root: Path
):
    # A forbidden marker in the artifact root: the store refuses to open, the reconcile fails.
    bad = settings.model_copy(update={"artifact_root": artifact_root / "swing"})
    async with operator_running(apiserver, bad, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        stalled = await eventually(
            lambda: next(
                (
                    c
                    for c in status(apiserver).get("conditions", [])
                    if c["type"] == "Stalled" and c["status"] == "True"
                ),
                None,
            )
        )
    assert stalled["reason"] == "ReconcileFailed"
    assert "swing" in stalled["message"]
    assert stalled["observedGeneration"] == 1
