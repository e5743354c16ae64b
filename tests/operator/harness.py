"""Run the real operator in-process against the emulator, as `kopf run` would, and stop it again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import AsyncGeneratorType
from typing import Any

import kopf
import yaml
from kopf._cogs.clients.watching import infinite_watch

from krakenops.core.clock import Clock
from krakenops.operator.runtime import Runtime
from krakenops.operator.settings import OperatorSettings
from tests.operator.emulator import ApiServer

PROJECT = Path(__file__).resolve().parents[2]
CRDS = PROJECT / "crds"


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig that points Kopf's login and the operator's client at the emulator."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": {"server": server}}],
        "users": [{"name": "operator", "user": {"token": "emulator-token"}}],
        "contexts": [
            {
                "name": "emulator",
                "context": {"cluster": "emulator", "user": "operator", "namespace": "default"},
            }
        ],
        "current-context": "emulator",
    }
    path.write_text(yaml.safe_dump(document))
    return path


def install_crds(server: ApiServer) -> None:
    for path in sorted(CRDS.glob("*.yaml")):
        server.create(yaml.safe_load(path.read_text()))


@dataclass
class RunningOperator:
    """One run of the operator; `stop()` is a clean shutdown, as on SIGTERM."""

    memo: kopf.Memo
    task: asyncio.Task[None]
    stop_flag: asyncio.Event
    registry: kopf.OperatorRegistry = field(repr=False)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.memo["runtime"]
        return runtime

    async def stop(self) -> None:
        self.stop_flag.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, timeout=30)
        await close_abandoned_watch_streams()


async def close_abandoned_watch_streams() -> None:
    """Close what a stopped Kopf left of its watch-streams, each stream before what it holds.

    Kopf stops a watcher by cancelling it wherever it is. Cancelled between two events (while it
    spawns a worker), it leaves its stream's async generators paused at a `yield`, kept alive by
    the stream's inactivity timer until the loop ends. The loop then closes them all at once and
    in no order: the generator behind the stream's `async with streaming_block(...)` can go
    first, and the stream's own exit fails with "generator didn't stop after athrow()".
    """
    paused = paused_kopf_generators()
    # A stream's exit closes its `async with` as written; the rest are only `async for`-nested,
    # so their order does not matter.
    paused.sort(key=lambda generator: generator.ag_code is not infinite_watch.__code__)
    for generator in paused:
        await generator.aclose()


def paused_kopf_generators() -> list[AsyncGeneratorType[Any, Any]]:
    """Kopf's async generators paused at a `yield`: once the operator stops, nothing resumes them."""
    loop = asyncio.get_running_loop()
    # The async generators the loop closes when it ends; asyncio has no public accessor for them.
    live: Iterable[AsyncGeneratorType[Any, Any]] = loop._asyncgens  # type: ignore[attr-defined]
    return [
        generator
        for generator in live
        if generator.ag_frame is not None
        and generator.ag_await is None
        and generator.ag_frame.f_globals["__name__"].startswith("kopf.")
    ]


async def start_operator(
    server: ApiServer,
    settings: OperatorSettings,
    clock: Clock,
    registry: kopf.OperatorRegistry | None = None,
    watches: tuple[tuple[str, str], ...] = (),
    liveness_endpoint: str | None = None,
) -> RunningOperator:
    """Start the operator and wait until it watches both kinds: a stop before that would catch
    Kopf in its first discovery of the API."""
    memo = kopf.Memo(settings=settings, clock=clock)
    stop_flag, ready_flag = asyncio.Event(), asyncio.Event()
    chosen = registry or kopf.get_default_registry()
    task = asyncio.create_task(
        kopf.operator(
            registry=chosen,
            namespaces=[settings.namespace],
            clusterwide=False,
            standalone=True,
            liveness_endpoint=liveness_endpoint,
            memo=memo,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )
    )
    await asyncio.wait_for(ready_flag.wait(), timeout=30)
    kinds = watches or (TE, MP)
    await eventually(lambda: all(server.watched(*kind) for kind in kinds), within=30)
    return RunningOperator(memo=memo, task=task, stop_flag=stop_flag, registry=chosen)


async def eventually(check: Callable[[], Any], within: float = 60.0, step: float = 0.05) -> Any:
    """Wait until `check()` returns something truthy (or an awaitable of it); return that."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {within}s: {check}")
        await asyncio.sleep(step)


@contextlib.asynccontextmanager
async def operator_running(
    server: ApiServer,
    settings: OperatorSettings,
    clock: Clock,
    liveness_endpoint: str | None = None,
) -> AsyncIterator[RunningOperator]:
    running = await start_operator(server, settings, clock, liveness_endpoint=liveness_endpoint)
    try:
        yield running
    finally:
        await running.stop()


logging.getLogger("kopf").setLevel(logging.INFO)


TE = ("krakenops.io/v1alpha1", "tradingenvironments")
MP = ("krakenops.io/v1alpha1", "modelpromotions")
DEPLOYMENTS = ("apps/v1", "deployments")
JOBS = ("batch/v1", "jobs")
EVENTS = ("v1", "events")


def manifest(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def event_reasons(server: ApiServer, name: str) -> list[str]:
    """Reasons of the Events about the object called `name`, oldest first."""
    events = server.objects(*EVENTS)
    return [e["reason"] for e in events if e.get("involvedObject", {}).get("name") == name]


def finish_job(
    server: ApiServer, name: str, *, succeeded: bool = True, namespace: str = "default"
) -> None:
    """Play the Job controller: mark the Job complete or failed."""
    condition = {"type": "Complete" if succeeded else "Failed", "status": "True"}
    status = {"conditions": [condition], "succeeded" if succeeded else "failed": 1}
    server.merge_patch(*JOBS, namespace, name, {"status": status}, subresource="status")


def set_ready(server: ApiServer, deployment: str, ready: int, namespace: str = "default") -> None:
    """Play the Deployment controller: report how many trader pods are ready."""
    server.merge_patch(
        *DEPLOYMENTS,
        namespace,
        deployment,
        {"status": {"readyReplicas": ready}},
        subresource="status",
    )


def promotion_manifest(
    name: str,
    environment: str,
    action: str,
    model_id: str | None = None,
    confirm: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"environment": environment, "action": action, "reason": f"test {name}"}
    if model_id is not None:
        spec["modelId"] = model_id
    if confirm is not None:
        spec["confirm"] = confirm
    return {
        "apiVersion": "krakenops.io/v1alpha1",
        "kind": "ModelPromotion",
        "metadata": {"name": name},
        "spec": spec,
    }


def promotion_status(server: ApiServer, name: str) -> dict[str, Any]:
    found = server.read(*MP, "default", name)
    status: dict[str, Any] = (found or {}).get("status") or {}
    return status


def environment_status(server: ApiServer, name: str) -> dict[str, Any]:
    found = server.read(*TE, "default", name)
    status: dict[str, Any] = (found or {}).get("status") or {}
    return status
