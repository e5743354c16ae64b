"""The cluster the e2e suite runs on: the local control plane or the kind cluster `make e2e` set
up, or else the emulator.

`make e2e` installs both releases and runs this suite with KRAKENOPS_E2E_NAMESPACE and either
KRAKENOPS_E2E_KUBECONFIG (the local control plane of `make cluster-up`, whose operator this suite
runs here under its ServiceAccount's token) or KRAKENOPS_E2E_CONTEXT (a kind context, whose
operator runs in its pod). Without them, as in `make test`, each test gets an emulator of its own
with the same chart applied and the operator running, and the tests marked `local_cluster` (Jobs
that run, helm, kubectl) are deselected, as the run's header says.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config
from kubernetes.config import kube_config

from tests.e2e.cluster import Cluster
from tests.e2e.emulated import emulated_releases
from tests.e2e.local import LocalCluster, local_operator

CONTEXT = os.environ.get("KRAKENOPS_E2E_CONTEXT", "")
KUBECONFIG = os.environ.get("KRAKENOPS_E2E_KUBECONFIG", "")
ARTIFACTS = os.environ.get("KRAKENOPS_E2E_ARTIFACTS", "")
NAMESPACE = os.environ.get("KRAKENOPS_E2E_NAMESPACE", "krakenops")


def pytest_report_header() -> str:
    if KUBECONFIG:
        target = f"the local control plane ({KUBECONFIG})"
    elif CONTEXT:
        target = f"kube context {CONTEXT}"
    else:
        target = "the emulator; tests marked local_cluster need `make e2e` and are deselected"
    return f"e2e cluster: {target}, namespace {NAMESPACE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if KUBECONFIG:
        return
    needs_local = [item for item in items if item.get_closest_marker("local_cluster")]
    if needs_local:
        config.hook.pytest_deselected(items=needs_local)
        items[:] = [item for item in items if item not in needs_local]


@pytest.fixture(scope="session")
def local() -> LocalCluster:
    """The local control plane with its kubectl and helm; only tests marked local_cluster ask."""
    assert KUBECONFIG and ARTIFACTS, "set by `make e2e` on the local control plane"
    return LocalCluster(Path(KUBECONFIG), NAMESPACE, Path(ARTIFACTS))


@pytest.fixture(scope="session")
def real_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster | None]:
    """The cluster `make e2e` installed, with its operator running; None on the emulator."""
    if CONTEXT:
        with contextlib.closing(config.new_client_from_config(context=CONTEXT)) as api:
            yield Cluster(api, NAMESPACE)
    elif KUBECONFIG:
        local: LocalCluster = request.getfixturevalue("local")
        with contextlib.closing(config.new_client_from_config(config_file=KUBECONFIG)) as api:
            cluster = Cluster(api, NAMESPACE)
            with local_operator(local, cluster, tmp_path_factory.mktemp("operator")):
                yield cluster
    else:
        yield None


@pytest.fixture
def cluster(
    real_cluster: Cluster | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cluster]:
    if real_cluster is not None:
        yield real_cluster
        return
    # Kopf's login reads $KUBECONFIG as on a workstation; the client caches the variable when
    # it is imported, so its cached copy is pointed at the file too.
    kubeconfig = tmp_path / "kubeconfig"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    with emulated_releases(tmp_path, NAMESPACE) as emulated:
        assert emulated.kubeconfig == kubeconfig
        api = k8s.ApiClient(k8s.Configuration(host=emulated.url))
        with contextlib.closing(api):
            yield Cluster(api, NAMESPACE)
        # A refused write's exception holds its response, and so a connection, in a reference
        # cycle: until that is collected the server counts the connection open, and the
        # operator's stop would wait out Kopf's five-second grace for its handler.
        gc.collect()


@pytest.fixture
def settle_seconds() -> float:
    """How long the operator may take to act: on kind, pods start for real."""
    return 180.0 if CONTEXT else 60.0 if KUBECONFIG else 30.0
