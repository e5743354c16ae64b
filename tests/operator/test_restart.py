"""An operator stopped at any step and started again converges: no second Job, no second promotion."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import GateThresholds, load_config
from krakenops.core.promotion import PromotionRequest, PromotionService
from krakenops.core.records import Action
from krakenops.operator.promotion_plan import request_id
from krakenops.operator.settings import OperatorSettings
from tests.conftest import PAPER_CONFIG
from tests.factories import candidate, report
from tests.operator.emulator import ApiServer
from tests.operator.harness import (
    DEPLOYMENTS,
    JOBS,
    close_abandoned_watch_streams,
    environment_status,
    eventually,
    finish_job,
    manifest,
    paused_kopf_generators,
    promotion_manifest,
    promotion_status,
    set_ready,
    start_operator,
)

pytestmark = pytest.mark.looptime

PAPER = "paper-kraken-crypto-global"
TRADER = f"{PAPER}-trader"
TRAIN_JOB = f"{PAPER}-train-20260205-0300"
MODEL = "model_20260205_abc123"


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 2, 5, hour, minute, tzinfo=UTC)


@pytest.fixture
def store(artifact_root: Path) -> ArtifactStore:
    config = load_config(PAPER_CONFIG).with_root(artifact_root)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    return store


def replicas(server: ApiServer) -> int | None:
    found = server.read(*DEPLOYMENTS, "default", TRADER)
    return None if found is None else found["spec"]["replicas"]


def phase(server: ApiServer) -> str | None:
    return environment_status(server, PAPER).get("phase")


async def test_window_flow_converges_across_a_restart_at_every_step(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
):
    apiserver.create(manifest(PAPER_CONFIG))
    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: replicas(apiserver) == 1)
    set_ready(apiserver, TRADER, 1)
    await running.stop()

    window_clock.set(at(3, 1))
    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: replicas(apiserver) == 0)
    await running.stop()
    assert apiserver.created(*JOBS) == 0, "the trader was still up"

    set_ready(apiserver, TRADER, 0)
    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: apiserver.read(*JOBS, "default", TRAIN_JOB))
    await running.stop()

    for _ in range(2):
        running = await start_operator(apiserver, settings, window_clock)
        await eventually(lambda: phase(apiserver) == "Downtime")
        await running.stop()
    assert apiserver.created(*JOBS) == 1

    finish_job(apiserver, TRAIN_JOB)
    window_clock.set(at(5, 1))
    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: replicas(apiserver) == 1 and phase(apiserver) == "Trading")
    await running.stop()
    assert apiserver.created(*JOBS) == 1
    assert apiserver.read(*JOBS, "default", TRAIN_JOB) is not None, (
        "a finished Job is not an overrun"
    )
    assert environment_status(apiserver, PAPER)["lastTraining"]["result"] == "Succeeded"


async def test_promotion_converges_across_a_restart_at_every_step(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    apiserver.create(manifest(PAPER_CONFIG))
    apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))

    running = await start_operator(apiserver, settings, window_clock)
    await eventually(
        lambda: promotion_status(apiserver, "promote-abc").get("phase") == "Validating"
    )
    await running.stop()

    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: apiserver.created(*JOBS, "promote-abc-validate") == 1)
    await running.stop()

    # The Job finishes while no operator runs.
    store.write_validation(report(MODEL, made.sha256))
    finish_job(apiserver, "promote-abc-validate")
    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: promotion_status(apiserver, "promote-abc").get("phase") == "Promoted")
    await running.stop()
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == MODEL and pointer.sha256 == made.sha256

    window_clock.advance(datetime(2026, 2, 6, tzinfo=UTC) - window_clock.now())
    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: phase(apiserver) is not None)
    await running.stop()
    assert store.read_pointer() == pointer, "a finished promotion is never acted on again"
    assert len(list(store.audit_records())) == 1
    assert apiserver.created(*JOBS, "promote-abc-validate") == 1


async def test_a_promotion_applied_just_before_a_crash_is_recorded_once(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    made = candidate(store, MODEL)
    store.write_validation(report(MODEL, made.sha256))
    apiserver.create(manifest(PAPER_CONFIG))
    body = apiserver.create(
        promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote")
    )
    # The operator wrote the pointer, then died before it could write the status.
    request = PromotionRequest(Action.PROMOTE, "yes-promote", request_id(body), MODEL, "test")
    PromotionService(store, window_clock, GateThresholds()).execute(request)
    written = store.read_pointer()

    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: promotion_status(apiserver, "promote-abc").get("phase") == "Promoted")
    await running.stop()
    assert store.read_pointer() == written
    assert len(list(store.audit_records())) == 1
    assert promotion_status(apiserver, "promote-abc")["model"] == MODEL


async def test_a_promotion_applied_before_a_crash_does_not_undo_one_made_while_it_was_down(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    store: ArtifactStore,
):
    first = candidate(store, MODEL)
    later = candidate(store, "model_20260205_later", payload=b"later")
    for made in (first, later):
        store.write_validation(report(made.model_id, made.sha256))
    apiserver.create(manifest(PAPER_CONFIG))
    body = apiserver.create(
        promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote")
    )
    service = PromotionService(store, window_clock, GateThresholds())
    # The operator wrote the pointer, then died before it could write the status ...
    service.execute(PromotionRequest(Action.PROMOTE, "yes-promote", request_id(body), MODEL))
    # ... and while it was down a person promoted another model with the CLI.
    later_request = PromotionRequest(Action.PROMOTE, "yes-promote", "cli-1", later.model_id)
    service.execute(later_request)

    running = await start_operator(apiserver, settings, window_clock)
    await eventually(lambda: promotion_status(apiserver, "promote-abc").get("phase") == "Promoted")
    await eventually(
        lambda: (environment_status(apiserver, PAPER).get("approvedModel") or {}).get("modelId")
    )
    await running.stop()
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == later.model_id
    assert [r.promotion for r in store.audit_records()] == [request_id(body), "cli-1"]
    status = promotion_status(apiserver, "promote-abc")
    assert status["model"] == MODEL
    assert status.get("previousModel") is None, "the first model replaced none"
    approved = environment_status(apiserver, PAPER)["approvedModel"]
    assert approved["modelId"] == later.model_id


async def test_an_operator_stopped_amid_events_leaves_no_watch_stream_open(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
):
    running = await start_operator(apiserver, settings, window_clock)
    for index in range(50):
        environment = manifest(PAPER_CONFIG)
        environment["metadata"]["name"] = f"env-{index:02d}"
        apiserver.create(environment)
    # Stopped while it hands fifty new objects to their workers, Kopf cancels a watcher between
    # two events of its stream, and leaves the stream paused.
    running.stop_flag.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(running.task, timeout=30)
    assert paused_kopf_generators(), "the case this test is about did not arise"
    await close_abandoned_watch_streams()
    assert [generator.__qualname__ for generator in paused_kopf_generators()] == [], (
        "the loop would close these at its end, in no order"
    )
