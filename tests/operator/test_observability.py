"""What a cluster sees of the operator: its Prometheus endpoint and the /healthz liveness probe."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.parser import text_string_to_metric_families

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import load_config
from krakenops.operator.command import liveness_endpoint
from krakenops.operator.constants import Metric
from krakenops.operator.settings import OperatorSettings
from tests.conftest import PAPER_CONFIG
from tests.factories import candidate, report
from tests.operator.emulator import ApiServer
from tests.operator.harness import (
    TE,
    eventually,
    manifest,
    operator_running,
    promotion_manifest,
    promotion_status,
    set_ready,
)

pytestmark = pytest.mark.looptime

PAPER = "paper-kraken-crypto-global"
TRADER = f"{PAPER}-trader"
MODEL = "model_20260205_abc123"


def free_port() -> int:
    """A port nothing listens on, as the kernel hands them out."""
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        port: int = probe.getsockname()[1]
        return port


def http_server_threads() -> set[threading.Thread]:
    """Threads serving HTTP from this process: prometheus_client runs one per metrics server."""
    return {thread for thread in threading.enumerate() if "serve_forever" in thread.name}


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def can_listen_on(port: int) -> bool:
    """Whether a new server may take the port, as a restarted operator's would (reusing the
    address, as prometheus_client's and aiohttp's servers do)."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def families(exposition: str) -> dict[str, Family]:
    return {family.name: family for family in text_string_to_metric_families(exposition)}


def sample(found: dict[str, Family], name: str, **labels: str) -> float | None:
    """The value of one sample of a counter, by its full name (`..._total`) and its labels."""
    family = found.get(name.removesuffix("_total"))
    if family is None:
        return None
    values = [s.value for s in family.samples if s.name == name and s.labels == labels]
    return values[0] if values else None


def environment_phase(server: ApiServer) -> str | None:
    found = server.read(*TE, "default", PAPER)
    phase: str | None = ((found or {}).get("status") or {}).get("phase")
    return phase


async def test_the_metrics_endpoint_serves_what_the_operator_counted(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    artifact_root: Path,
) -> None:
    store = ArtifactStore(
        load_config(PAPER_CONFIG).with_root(artifact_root).spec.artifacts,
        "paper_kraken_crypto_global",
    )
    store.ensure_layout()
    store.write_validation(report(MODEL, candidate(store, MODEL).sha256))
    port = free_port()
    before = http_server_threads()
    observed = settings.model_copy(update={"metrics_port": port})
    async with operator_running(apiserver, observed, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(lambda: apiserver.read("apps/v1", "deployments", "default", TRADER))
        set_ready(apiserver, TRADER, 1)
        await eventually(lambda: environment_phase(apiserver) == "Trading")
        apiserver.create(promotion_manifest("promote-abc", PAPER, "promote", MODEL, "yes-promote"))
        await eventually(
            lambda: promotion_status(apiserver, "promote-abc").get("phase") == "Promoted"
        )
        window_clock.set(datetime(2026, 2, 5, 3, 0, 30, tzinfo=UTC))
        await eventually(lambda: environment_phase(apiserver) == "Downtime")

        serving = http_server_threads() - before
        code, text = await get(f"http://127.0.0.1:{port}/metrics")
    assert code == 200
    found = families(text)
    assert (
        sample(found, Metric.PROMOTIONS, environment=PAPER, action="promote", outcome="Promoted")
        == 1
    )
    assert sample(found, Metric.TRANSITIONS, environment=PAPER, phase="Downtime") == 1
    assert sample(found, Metric.TRANSITIONS, environment=PAPER, phase="Trading") is None, (
        "the first phase an environment takes is not a transition"
    )
    # Each phase seen on the environment was written by a reconcile of its own.
    assert (sample(found, Metric.RECONCILES, kind="TradingEnvironment") or 0) >= 2
    assert (sample(found, Metric.RECONCILES, kind="ModelPromotion") or 0) >= 1
    assert sample(found, Metric.RECONCILE_ERRORS, kind="TradingEnvironment") == 0
    assert sample(found, Metric.RECONCILE_ERRORS, kind="ModelPromotion") == 0
    assert {name for name in found if not name.startswith("krakenops_operator_")} == set(), (
        "the endpoint serves the operator's own registry, not the process-wide default one"
    )
    assert len(serving) == 1, "one metrics server while the operator runs"

    # A stopped operator leaves nothing behind: a restarted one can take the port again.
    for thread in serving:
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert refuses_connections(port)
    assert can_listen_on(port)


async def test_the_metrics_server_stops_without_holding_up_the_event_loop(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
) -> None:
    port = free_port()
    observed = settings.model_copy(update={"metrics_port": port})
    loop = asyncio.get_running_loop()
    answered = threading.Event()
    answered_during_shutdown: list[bool] = []
    async with operator_running(apiserver, observed, window_clock) as running:
        server = running.memo["metrics_server"]
        shutdown = server.shutdown

        def shutdown_once_the_loop_answers() -> None:
            # Called on the loop's own thread, this would hold the loop until the wait ran out.
            loop.call_soon_threadsafe(answered.set)
            answered_during_shutdown.append(answered.wait(timeout=5))
            shutdown()

        server.shutdown = shutdown_once_the_loop_answers
    assert answered_during_shutdown == [True], (
        "the event loop runs other work while the metrics server stops"
    )
    assert refuses_connections(port)
    assert can_listen_on(port)


async def test_metrics_port_zero_starts_no_metrics_server(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
) -> None:
    assert settings.metrics_port == 0
    before = http_server_threads()
    async with operator_running(apiserver, settings, window_clock) as running:
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(lambda: apiserver.read("apps/v1", "deployments", "default", TRADER))
        assert http_server_threads() - before == set(), "no thread serves metrics"
        assert "metrics_server" not in running.memo


async def test_liveness_answers_on_healthz_with_the_operators_clock(
    apiserver: ApiServer, settings: OperatorSettings, window_clock: ManualClock
) -> None:
    port = free_port()
    probed = settings.model_copy(update={"liveness_port": port})
    endpoint = liveness_endpoint(probed)
    assert endpoint == f"http://0.0.0.0:{port}/healthz", "as `krakenops operator` configures it"
    async with operator_running(apiserver, probed, window_clock, liveness_endpoint=endpoint):
        await eventually(lambda: not refuses_connections(port))
        code, body = await get(f"http://127.0.0.1:{port}/healthz")
    assert code == 200
    assert json.loads(body) == {"clock": "2026-02-05T01:00:00+00:00"}, "the probe's answer"
    assert refuses_connections(port), "the probe endpoint closes with the operator"


def test_liveness_port_zero_disables_the_endpoint(settings: OperatorSettings) -> None:
    assert settings.liveness_port == 0
    assert liveness_endpoint(settings) is None
