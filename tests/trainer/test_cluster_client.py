"""The tools' cluster path through the real kubernetes client, against an API emulator."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import yaml
from kubernetes import client, config

from krakenops.core.records import Action
from krakenops.trainer.cluster import KubernetesPromotions, promotion_manifest, request_promotion

PLURAL = "krakenops.io/v1alpha1/modelpromotions"


@contextlib.contextmanager
def emulator() -> Iterator[Any]:
    """kmock's emulator served from a thread with a loop of its own, closed on the way out.

    A synchronous test keeps clear of pytest-asyncio's loops, whose leftovers fail later tests.
    """
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def serve() -> None:
        async with kmock.KubernetesEmulator() as emu, kmock.Server(emu):
            emu.resources[PLURAL] = kmock.ResourceInfo(
                kind="ModelPromotion",
                namespaced=True,
                verbs={"create", "get", "list", "watch", "patch"},
                subresources={"status"},
            )
            done = asyncio.Event()
            found.update(emu=emu, loop=asyncio.get_running_loop(), done=done)
            ready.set()
            await done.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10), "the emulator did not start"
    try:
        yield found["emu"]
    finally:
        found["loop"].call_soon_threadsafe(found["done"].set)
        thread.join(10)


def kubeconfig_for(url: str, path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emulator", "cluster": {"server": url}}],
                "users": [{"name": "tester", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "emulator", "context": {"cluster": "emulator", "user": "tester"}}
                ],
                "current-context": "emulator",
            }
        )
    )
    return path


def test_the_kubernetes_client_creates_the_promotion_and_follows_it_to_its_outcome(tmp_path: Path):
    with emulator() as emu:
        kubeconfig = kubeconfig_for(str(emu.url).rstrip("/"), tmp_path / "kubeconfig")
        manifest = promotion_manifest("live-x", Action.PROMOTE, "model_x", "why", "yes-promote")
        name = manifest["metadata"]["name"]

        def operator() -> None:
            """Answer as the operator would: Validating, then Promoted."""
            settings = client.Configuration()
            config.load_kube_config(config_file=str(kubeconfig), client_configuration=settings)
            api = client.CustomObjectsApi(client.ApiClient(settings))
            for _ in range(500):
                if any(key[-1] == name for key in emu.objects):
                    break
                time.sleep(0.01)
            for phase in ("Validating", "Promoted"):
                api.patch_namespaced_custom_object_status(
                    "krakenops.io",
                    "v1alpha1",
                    "trading",
                    "modelpromotions",
                    name,
                    {"status": {"phase": phase}},
                )

        answering = threading.Thread(target=operator)
        answering.start()
        outcome = request_promotion(
            KubernetesPromotions(str(kubeconfig)), "trading", manifest, timeout_seconds=20
        )
        answering.join(10)
        assert (outcome.name, outcome.phase, outcome.succeeded) == (name, "Promoted", True)
        (stored,) = [obj for key, obj in emu.objects.items() if key[-1] == name]
        assert stored["spec"]["modelId"] == "model_x"
        assert stored["metadata"]["namespace"] == "trading"
