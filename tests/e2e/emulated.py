"""`make e2e` on the emulator: a cluster in a thread of its own, the chart's CRDs and both releases
applied over HTTP as Helm applies them, and the operator run with the settings the chart gives
its pod."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import helm_python
import kmock
import yaml
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient

from krakenops.core.clock import ManualClock
from krakenops.operator.settings import OperatorSettings
from tests.e2e.cluster import operator_environment
from tests.operator.emulator import ApiServer
from tests.operator.harness import PROJECT, start_operator, write_kubeconfig

__all__ = ["RELEASES", "EmulatedCluster", "chart_operator_settings", "rendered_release"]

CHART = PROJECT / "helm" / "krakenops"
# In the order `make e2e` installs them: paper brings the operator and the shared volume.
RELEASES = ("paper", "live")
# Trading hours: the emulated operator's clock stands still, so every run sees the same window.
TRADING_HOURS = datetime(2026, 2, 5, 1, 0, tzinfo=UTC)
STARTUP_SECONDS = 60.0


def rendered_release(
    chart: helm_python.Chart, release: str, namespace: str
) -> list[dict[str, Any]]:
    """The objects `helm install <release> -f values-<release>.yaml` creates."""
    values = yaml.safe_load((CHART / f"values-{release}.yaml").read_text())
    rendered = chart.render(values, name=release, namespace=namespace)
    return [
        document
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def chart_operator_settings(
    objects: list[dict[str, Any]], namespace: str, kubeconfig: Path, artifact_root: Path
) -> OperatorSettings:
    """The settings the chart's operator container reads from its environment.

    The namespace comes from the downward API there; the artifact root, the kubeconfig and the
    ports are this process's own (port 0: no listener, so runs cannot collide on a port).
    """
    (deployment,) = [
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator")
    ]
    return OperatorSettings.from_env(operator_environment(deployment, namespace)).model_copy(
        update={
            "artifact_root": artifact_root,
            "kubeconfig": kubeconfig,
            "metrics_port": 0,
            "liveness_port": 0,
        }
    )


class EmulatedCluster:
    """The emulator and the operator on an event loop in a thread, as a cluster runs apart from
    its clients; `install` applies both releases over HTTP, then starts the operator.

    The operator starts and stops from the thread's one long-lived task: Kopf treats every task
    begun after its start as its own, and would wait on a task that waits on Kopf to stop.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._settings: OperatorSettings | None = None
        self._proceed: asyncio.Event | None = None  # set once to start the operator, then to stop
        self._reached = threading.Event()  # the thread reached its next stage, or failed
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="emulated-cluster", daemon=True)

    def __enter__(self) -> EmulatedCluster:
        self._thread.start()
        try:
            self._await_stage("serving")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread.is_alive():
            self._signal()
            self._thread.join(STARTUP_SECONDS)
        if self._thread.is_alive():
            raise RuntimeError(f"the emulated cluster did not stop within {STARTUP_SECONDS:g} s")
        if self._failure is not None:
            raise RuntimeError("the emulated cluster failed") from self._failure

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def install(self, namespace: str) -> None:
        """Create the namespace, the chart's CRDs and both releases, then start the operator."""
        api = k8s.ApiClient(k8s.Configuration(host=self.url))
        # closing drops the idle keep-alive connections that would hold the server's shutdown
        with contextlib.closing(api):
            dynamic = DynamicClient(api)

            def apply(document: dict[str, Any]) -> None:
                resource = dynamic.resources.get(
                    api_version=document["apiVersion"], kind=document["kind"]
                )
                resource.create(body=document, namespace=namespace if resource.namespaced else None)

            apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            chart = helm_python.Chart.load(CHART)
            for crd in chart.crds:
                apply(yaml.safe_load(crd["data"]))
            releases = {
                release: rendered_release(chart, release, namespace) for release in RELEASES
            }
            for objects in releases.values():
                for document in objects:
                    apply(document)
        self._settings = chart_operator_settings(
            releases["paper"], namespace, self.kubeconfig, self.root / "artifacts"
        )
        self._signal()
        self._await_stage("operating")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # handed to the test's thread, raised there in __exit__
            self._failure = error
        finally:
            self._reached.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._proceed = asyncio.Event()
        async with ApiServer() as server, kmock.Server(server):
            self.url = str(server.url).rstrip("/")
            write_kubeconfig(self.kubeconfig, self.url)
            if not await self._stage_reached():  # stopped before anything was installed
                return
            assert self._settings is not None
            running = await start_operator(server, self._settings, ManualClock(TRADING_HOURS))
            try:
                await self._stage_reached()
            finally:
                await running.stop()

    async def _stage_reached(self) -> bool:
        """Tell the test's thread, and wait for its word; False when it asks to stop early."""
        assert self._proceed is not None
        self._reached.set()
        await self._proceed.wait()
        self._proceed.clear()
        return self._settings is not None

    def _signal(self) -> None:
        if self._loop is None or self._proceed is None:
            return  # the thread never got going: its failure says why
        self._reached.clear()
        # A loop that has closed since ended with its thread, whose failure says why.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._proceed.set)

    def _await_stage(self, stage: str) -> None:
        if not self._reached.wait(STARTUP_SECONDS) or self._failure is not None:
            raise RuntimeError(f"the emulated cluster did not reach {stage}") from self._failure


@contextlib.contextmanager
def emulated_releases(root: Path, namespace: str) -> Iterator[EmulatedCluster]:
    with EmulatedCluster(root) as cluster:
        cluster.install(namespace)
        yield cluster
