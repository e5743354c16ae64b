"""The cluster the e2e suite runs on: the kind cluster `make e2e` set up, or else the emulator.

`make e2e` installs both releases in a kind cluster and runs this suite against it with
KRAKENOPS_E2E_CONTEXT (the kube context) and KRAKENOPS_E2E_NAMESPACE set. Without them, as in
`make test`, each test gets an emulator of its own with the same chart applied and the operator
running.
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

CONTEXT = os.environ.get("KRAKENOPS_E2E_CONTEXT", "")
NAMESPACE = os.environ.get("KRAKENOPS_E2E_NAMESPACE", "krakenops")


def pytest_report_header() -> str:
    target = f"kube context {CONTEXT}" if CONTEXT else "the emulator"
    return f"e2e cluster: {target}, namespace {NAMESPACE}"


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    if CONTEXT:
        with contextlib.closing(config.new_client_from_config(context=CONTEXT)) as api:
            yield Cluster(api, NAMESPACE)
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
    return 180.0 if CONTEXT else 30.0
