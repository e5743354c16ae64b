from __future__ import annotations

import yaml
from tests.conftest import PAPER_CONFIG
from tests.operator.harness import eventually, operator_running


async def test_smoke(apiserver, settings, window_clock):
    async with operator_running(settings, window_clock):
        apiserver.create(yaml.safe_load(PAPER_CONFIG.read_text()))
        dep = await eventually(
            lambda: apiserver.read(
                "apps/v1", "deployments", "default", "paper-kraken-crypto-global-trader"
            ),
            timeout=10,
        )
        print(dep)
        te = await eventually(
            lambda: (
                apiserver.read(
                    "krakenops.io/v1alpha1",
                    "tradingenvironments",
                    "default",
                    "paper-kraken-crypto-global",
                )
                or {}
            ).get("status"),
            timeout=10,
        )
        print(te)
