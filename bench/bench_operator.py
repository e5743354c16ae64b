"""Operator on the emulator: promotion latency against a bare Kopf handler, a 50-environment window
transition, and the operator's memory with 200 resources."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kmock
import kopf
from kubernetes.config import kube_config

from bench.figures import Figure
from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import load_config
from krakenops.operator.settings import OperatorSettings
from tests.factories import candidate, report
from tests.operator.emulator import ApiServer
from tests.operator.harness import (
    DEPLOYMENTS,
    JOBS,
    MP,
    TE,
    install_crds,
    promotion_manifest,
    start_operator,
    write_kubeconfig,
)

PROJECT = Path(__file__).resolve().parents[1]
PAPER = load_config(PROJECT / "config" / "paper.kraken.crypto.global.yaml")
PROMOTIONS = 60


class OffsetClock:
    """Wall time shifted to a chosen instant, so a window edge arrives in real seconds."""

    def __init__(self, now: datetime) -> None:
        self._offset = now - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def environment(name: str) -> dict[str, Any]:
    spec = PAPER.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "apiVersion": "krakenops.io/v1alpha1",
        "kind": "TradingEnvironment",
        "metadata": {"name": name},
        "spec": spec,
    }


async def wait_for(check: Any, step: float = 0.002, within: float = 60.0) -> None:
    deadline = time.perf_counter() + within
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not reached within {within}s")
        await asyncio.sleep(step)


def phase(server: ApiServer, name: str, namespace: str = "default") -> str | None:
    found = server.read(*MP, namespace, name) or {}
    value: str | None = (found.get("status") or {}).get("phase")
    return value


def written(store: ArtifactStore, promotion: str) -> bool:
    pointer = store.read_pointer()
    return pointer is not None and f"/{promotion}/" in pointer.promotion


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def promotion_latencies(
    server: ApiServer, settings: OperatorSettings, root: Path
) -> list[float]:
    store = ArtifactStore(PAPER.with_root(root).spec.artifacts, PAPER.env_id)
    store.ensure_layout()
    models = [f"model_20260205_b{i:03d}" for i in range(PROMOTIONS)]
    for model_id in models:
        store.write_validation(
            report(model_id, candidate(store, model_id, payload=model_id.encode()).sha256)
        )
    running = await start_operator(
        server, settings, ManualClock(datetime(2026, 2, 5, 12, tzinfo=UTC))
    )
    server.create(environment(PAPER.name))
    samples = []
    try:
        for index, model_id in enumerate(models):
            name = f"promote-{index}"
            started = time.perf_counter()
            server.create(promotion_manifest(name, PAPER.name, "promote", model_id, "yes-promote"))
            await wait_for(lambda n=name: written(store, n))
            samples.append(time.perf_counter() - started)
            # Untimed: let the rest of this promotion (status, Events) finish before the next.
            await wait_for(lambda n=name: phase(server, n) == "Promoted")
    finally:
        await running.stop()
    return samples


async def bare_kopf_latencies(server: ApiServer, settings: OperatorSettings) -> list[float]:
    bare = kopf.OperatorRegistry()
    # The same login as the default registry's: through the official client and the kubeconfig.
    kopf.on.login(registry=bare)(kopf.login_via_client)

    @kopf.on.create("krakenops.io", "v1alpha1", "modelpromotions", registry=bare)
    async def seen(patch: kopf.Patch, **_: Any) -> None:
        patch.status["phase"] = "Pending"

    running = await start_operator(
        server,
        settings,
        ManualClock(datetime(2026, 2, 5, 12, tzinfo=UTC)),
        registry=bare,
        watches=(MP,),
    )
    samples = []
    try:
        for index in range(PROMOTIONS):
            name = f"bare-{index}"
            started = time.perf_counter()
            server.create(
                promotion_manifest(
                    name, PAPER.name, "promote", "model_20260205_bare", "yes-promote"
                ),
                "bare",
            )
            await wait_for(
                lambda n=name: (server.read(*MP, "bare", n) or {}).get("status", {}).get("phase")
            )
            samples.append(time.perf_counter() - started)
    finally:
        await running.stop()
    return samples


async def window_transition(
    server: ApiServer, settings: OperatorSettings, count: int = 50
) -> float:
    """Seconds from the window opening to every trader scaled to 0 and every trainer Job created."""
    head_start = 20.0
    edge = datetime(2026, 2, 5, 3, 0, tzinfo=UTC)
    clock = OffsetClock(edge - timedelta(seconds=head_start))
    opens_at = time.perf_counter() + head_start
    names = [f"env-{i:02d}" for i in range(count)]
    running = await start_operator(server, settings, clock)
    try:
        for name in names:
            server.create(environment(name), "window")
        await wait_for(
            lambda: all(
                (server.read(*TE, "window", n) or {}).get("status", {}).get("phase") == "Trading"
                for n in names
            ),
            step=0.05,
        )
        if time.perf_counter() > opens_at:
            raise RuntimeError("set-up took longer than the head start")

        def transitioned() -> bool:
            scaled = all(
                (server.read(*DEPLOYMENTS, "window", f"{n}-trader") or {})
                .get("spec", {})
                .get("replicas")
                == 0
                for n in names
            )
            return scaled and len(server.objects(*JOBS, "window")) == count

        await wait_for(lambda: time.perf_counter() >= opens_at, step=0.001)
        await wait_for(transitioned, step=0.01)
        return time.perf_counter() - opens_at
    finally:
        await running.stop()


async def operator_rss(server: ApiServer, kubeconfig: Path, root: Path, count: int = 200) -> float:
    """Resident memory of a `krakenops operator` process serving `count` environments."""
    env = dict(os.environ)
    env.update(
        KUBECONFIG=str(kubeconfig),
        KRAKENOPS_OPERATOR_KUBECONFIG=str(kubeconfig),
        KRAKENOPS_OPERATOR_ARTIFACT_ROOT=str(root),
        KRAKENOPS_OPERATOR_METRICS_PORT="0",
        KRAKENOPS_OPERATOR_LIVENESS_PORT="0",
        KRAKENOPS_OPERATOR_RECONCILE_INTERVAL_SECONDS="30",
        KRAKENOPS_OPERATOR_NAMESPACE="memory",
    )
    names = [f"mem-{i:03d}" for i in range(count)]
    for name in names:
        server.create(environment(name), "memory")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from krakenops.core.cli import main; sys.exit(main(['operator']))",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for(
            lambda: all((server.read(*TE, "memory", n) or {}).get("status") for n in names),
            step=0.1,
            within=120,
        )
        await asyncio.sleep(2)
        status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
        kilobytes = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
        return kilobytes / 1024
    finally:
        process.terminate()
        await process.wait()


async def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # One emulator for every part; each part has a namespace (and an operator) of its own.
        async with ApiServer() as server, kmock.Server(server):
            install_crds(server)
            for namespace in ("bare", "window", "memory"):
                server.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
                )
            kubeconfig = write_kubeconfig(root / "kubeconfig", str(server.url).rstrip("/"))
            os.environ["KUBECONFIG"] = str(kubeconfig)
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(kubeconfig)
            settings = OperatorSettings(
                artifact_root=root / "data",
                kubeconfig=kubeconfig,
                metrics_port=0,
                liveness_port=0,
                reconcile_interval_seconds=10,
                job_poll_seconds=0.2,
            )
            promotion = await promotion_latencies(server, settings, root / "data")
            bare = await bare_kopf_latencies(
                server, settings.model_copy(update={"namespace": "bare"})
            )
            transition = await window_transition(
                server, settings.model_copy(update={"namespace": "window"})
            )
            rss = await operator_rss(server, kubeconfig, root / "data")
    p50 = statistics.median(promotion)
    return [
        Figure("promotion_latency_p50_s", p50, "s", 0.25, "max"),
        Figure("promotion_latency_p99_s", percentile(promotion, 0.99), "s", 1.0, "max"),
        Figure("promotion_vs_bare_kopf", p50 / statistics.median(bare), "x", 3.0, "max"),
        Figure("window_transition_50_envs_s", transition, "s", 5.0, "max"),
        Figure("operator_rss_mb_200", rss, "MB", 150.0, "max"),
    ]


def run() -> list[Figure]:
    return asyncio.run(measure())
