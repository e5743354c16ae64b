"""`kopf run -m krakenops.operator`, as the README says, run by Kopf's own test runner."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kopf.testing import KopfRunner

from tests.conftest import PAPER_CONFIG
from tests.operator.emulator import ApiServer
from tests.operator.harness import DEPLOYMENTS, environment_status, eventually, manifest

PAPER = "paper-kraken-crypto-global"


async def test_kopf_run_of_the_package_reconciles_an_environment(
    apiserver: ApiServer, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The operator's settings come from its variables, as in its pod.
    for key, value in {
        "KUBECONFIG": str(kubeconfig),
        "ARTIFACT_ROOT": str(tmp_path / "data"),
        "METRICS_PORT": "0",
        "LIVENESS_PORT": "0",
    }.items():
        monkeypatch.setenv(f"KRAKENOPS_OPERATOR_{key}", value)
    runner = KopfRunner(
        ["run", "--standalone", "--namespace", "default", "-m", "krakenops.operator"], timeout=60
    )
    # The runner's thread has a loop of its own; this loop serves the emulator meanwhile.
    runner.__enter__()
    try:
        apiserver.create(manifest(PAPER_CONFIG))
        status = await eventually(lambda: environment_status(apiserver, PAPER).get("conditions"))
        trader = await eventually(
            lambda: apiserver.read(*DEPLOYMENTS, "default", f"{PAPER}-trader")
        )
    finally:
        await asyncio.to_thread(runner.__exit__, None, None, None)
    assert runner.exit_code == 0
    assert {c["type"] for c in status} == {"Ready", "Reconciling", "Stalled"}
    assert trader["metadata"]["ownerReferences"][0]["name"] == PAPER
