"""The local control plane: start-up on a warm build cache, the e2e lifecycle on it, and the time
from a ModelPromotion applied to the pointer written against the real kube-apiserver."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from kubernetes import config

from bench.figures import Figure
from krakenops.core.artifacts import ArtifactStore
from krakenops.core.config import load_config
from tests.e2e.cluster import Cluster
from tests.e2e.local import LocalCluster, local_operator
from tests.factories import candidate, report
from tests.operator.harness import promotion_manifest

PROJECT = Path(__file__).resolve().parents[1]
CLUSTER = PROJECT / "tests" / "cluster"
LIVE = load_config(PROJECT / "config" / "live.kraken.crypto.global.yaml")
NAMESPACE = "krakenops"
# Away from `make cluster-up`'s ports, so a cluster a developer has running is left alone.
PORT_BASE = "27400"
PROMOTIONS = 12


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="krakenops-bench-cluster-") as folder:
        directory = Path(folder)
        environment = os.environ | {"CLUSTER_DIR": str(directory), "CLUSTER_PORT_BASE": PORT_BASE}
        subprocess.run(["bash", str(CLUSTER / "build.sh")], check=True, capture_output=True)
        with cluster_up(directory, environment) as up_seconds:
            subprocess.run(
                ["bash", str(CLUSTER / "install.sh")],
                check=True,
                capture_output=True,
                env=environment | {"NAMESPACE": NAMESPACE},
            )
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e"],
                check=True,
                cwd=PROJECT,
                env=environment
                | {
                    "KRAKENOPS_E2E_KUBECONFIG": str(directory / "kubeconfig"),
                    "KRAKENOPS_E2E_ARTIFACTS": str(directory / "artifacts"),
                    "KRAKENOPS_E2E_NAMESPACE": NAMESPACE,
                },
            )
            lifecycle = time.perf_counter() - started
            latencies = promotion_latencies(directory)
    return [
        Figure("e2e_cluster_up_s", up_seconds, "s", 60.0, "max"),
        Figure("e2e_lifecycle_s", lifecycle, "s", 600.0, "max"),
        Figure("promotion_latency_real_p50_s", statistics.median(latencies), "s", 1.0, "max"),
    ]


@contextlib.contextmanager
def cluster_up(directory: Path, environment: dict[str, str]) -> Iterator[float]:
    """Start the control plane (binaries already built) and yield how long that took."""
    started = time.perf_counter()
    try:
        subprocess.run(["bash", str(CLUSTER / "up.sh")], check=True, env=environment)
        yield time.perf_counter() - started
    finally:
        subprocess.run(["bash", str(CLUSTER / "down.sh")], check=False, env=environment)


def promotion_latencies(directory: Path) -> list[float]:
    """Promote candidates whose passing reports are present, one at a time, timing each from the
    ModelPromotion's create to the pointer naming its model."""
    local = LocalCluster(directory / "kubeconfig", NAMESPACE, directory / "artifacts")
    store = ArtifactStore(LIVE.with_root(local.artifacts).spec.artifacts, LIVE.env_id)
    store.ensure_layout()
    models = [f"model_20260205_r{i:03d}" for i in range(PROMOTIONS)]
    for model_id in models:
        written = candidate(store, model_id, payload=model_id.encode())
        store.write_validation(report(model_id, written.sha256))
    samples = []
    with contextlib.closing(config.new_client_from_config(str(local.kubeconfig))) as api:
        cluster = Cluster(api, NAMESPACE)
        with local_operator(local, cluster, directory):
            for index, model_id in enumerate(models):
                name = f"bench-promote-{index}"
                manifest = promotion_manifest(name, LIVE.name, "promote", model_id, "yes-promote")
                started = time.perf_counter()
                cluster.create(manifest)
                while not pointer_names(store, model_id):
                    if time.perf_counter() - started > 30:
                        raise RuntimeError(f"{name}: the pointer did not move within 30 s")
                    time.sleep(0.005)
                samples.append(time.perf_counter() - started)
                # Untimed: let the promotion's status and Events settle before the next.
                while (cluster.get(("krakenops.io/v1alpha1", "ModelPromotion"), name) or {}).get(
                    "status", {}
                ).get("phase") != "Promoted":
                    time.sleep(0.05)
    return samples


def pointer_names(store: ArtifactStore, model_id: str) -> bool:
    approved = store.read_pointer()
    return approved is not None and approved.model_id == model_id
