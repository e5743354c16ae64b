"""Fixtures of the operator tests: the emulator with the CRDs, a kubeconfig, settings, a clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import kmock
import pytest
from kubernetes.config import kube_config

from krakenops.core.clock import ManualClock
from krakenops.operator.settings import OperatorSettings
from tests.operator.emulator import ApiServer
from tests.operator.harness import install_crds, write_kubeconfig


@pytest.fixture
async def apiserver() -> AsyncIterator[ApiServer]:
    async with ApiServer() as server, kmock.Server(server):
        install_crds(server)
        yield server


@pytest.fixture
def kubeconfig(apiserver: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_kubeconfig(tmp_path / "kubeconfig", str(apiserver.url).rstrip("/"))
    # Kopf's own login reads $KUBECONFIG as on a workstation; the client caches the variable
    # when it is imported, so its cached copy is pointed at the file too.
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    return path


@pytest.fixture
def artifact_root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(kubeconfig: Path, artifact_root: Path) -> OperatorSettings:
    return OperatorSettings(
        artifact_root=artifact_root,
        kubeconfig=kubeconfig,
        reconcile_interval_seconds=5,
        # Kopf times a retry by the wall clock, not the loop's, so it stays short in real time.
        job_poll_seconds=0.1,
        metrics_port=0,
        liveness_port=0,
    )


@pytest.fixture
def window_clock() -> ManualClock:
    """Trading hours on the day of the fixtures: the 03:00-05:00 window is hours away."""
    return ManualClock(datetime(2026, 2, 5, 1, 0, tzinfo=UTC))


# cel-python logs every evaluation step at DEBUG; quiet it so debug runs stay readable.
logging.getLogger("celpy").setLevel(logging.WARNING)


def pytest_configure(config: pytest.Config) -> None:
    """Say once, before any test, that the main thread has no event loop set.

    looptime's plugin asks the policy for a loop in every synchronous test; before anything is
    set, the policy makes one that nobody closes, and its ResourceWarning would surface later as
    an error in whichever test runs then. With the loop explicitly unset, the policy answers
    with an error instead, which the plugin expects; pytest-asyncio sets its own loops as usual.
    """
    asyncio.set_event_loop(None)
