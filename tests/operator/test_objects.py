"""The objects the operator builds, compared with golden YAML and checked against Kubernetes' schemas."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.operator.objects import (
    Owner,
    config_map,
    dns_name,
    trader_deployment,
    trainer_job,
    validation_job,
)
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG

GOLDEN = Path(__file__).with_name("golden")
# Regenerate with KRAKENOPS_UPDATE_GOLDEN=1 after an intended change, and review the diff.
UPDATE = os.environ.get("KRAKENOPS_UPDATE_GOLDEN") == "1"
OWNER = Owner(
    "krakenops.io/v1alpha1", "TradingEnvironment", "env", "0f1e2d3c-0000-4000-8000-000000000001"
)
PROMOTION = Owner(
    "krakenops.io/v1alpha1", "ModelPromotion", "promote-abc", "0f1e2d3c-0000-4000-8000-000000000002"
)


def paper() -> EnvironmentConfig:
    return load_config(PAPER_CONFIG)


def live() -> EnvironmentConfig:
    return load_config(LIVE_CONFIG)


CASES = {
    "paper-configmap": lambda: config_map(paper(), "trading", OWNER),
    "paper-trader-deployment": lambda: trader_deployment(
        paper(), "trading", OWNER, 1, "krakenops-workload"
    ),
    "live-trader-deployment": lambda: trader_deployment(
        live(), "trading", OWNER, 0, "krakenops-workload"
    ),
    "paper-trainer-job": lambda: trainer_job(
        paper(),
        "trading",
        OWNER,
        window_id="20260205-0300",
        deadline_seconds=6870,
        service_account="krakenops-workload",
    ),
    "live-trainer-job": lambda: trainer_job(
        live(),
        "trading",
        OWNER,
        window_id="20260205-0300",
        deadline_seconds=6900,
        service_account="krakenops-workload",
    ),
    "validation-job": lambda: validation_job(
        live(),
        "trading",
        PROMOTION,
        model_id="model_20260205_abc123",
        deadline_seconds=3600,
        service_account="krakenops-workload",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_object_matches_its_golden_yaml(case: str):
    built: dict[str, Any] = CASES[case]()
    path = GOLDEN / f"{case}.yaml"
    if UPDATE:
        path.write_text(yaml.safe_dump(built, sort_keys=True))
    assert built == yaml.safe_load(path.read_text())


@pytest.mark.parametrize("case", sorted(CASES))
def test_object_is_valid_kubernetes(case: str):
    kubernetes_validate.validate(CASES[case](), "1.33", strict=True)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("case", [c for c in sorted(CASES) if c != "paper-configmap"])
def test_pods_meet_the_restricted_pod_security_standard(case: str):
    spec = pod_spec(CASES[case]())
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
    assert not any("hostPath" in volume for volume in spec["volumes"])


def test_only_the_live_trader_mounts_the_credentials_as_files():
    live_spec = pod_spec(CASES["live-trader-deployment"]())
    secret = next(v for v in live_spec["volumes"] if "secret" in v)["secret"]
    assert secret["secretName"] == "kraken-api"
    assert {i["key"] for i in secret["items"]} == {"api-key", "api-secret"}
    mounts = {m["mountPath"] for m in live_spec["containers"][0]["volumeMounts"]}
    assert "/var/run/secrets/krakenops/kraken" in mounts
    assert not any("env" in c for c in live_spec["containers"])
    for case in ("paper-trader-deployment", "live-trainer-job", "validation-job"):
        assert not any("secret" in v for v in pod_spec(CASES[case]())["volumes"])


def test_the_trader_is_recreated_never_rolled():
    assert CASES["paper-trader-deployment"]()["spec"]["strategy"] == {"type": "Recreate"}


def test_long_names_are_cut_to_a_dns_label_and_stay_distinct():
    first = dns_name("e" * 60, "train", "20260205-0300")
    second = dns_name("e" * 59 + "f", "train", "20260205-0300")
    assert len(first) <= 63 and len(second) <= 63
    assert first != second
