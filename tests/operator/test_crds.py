"""The CRDs on the emulator: samples accepted, malformed bodies refused with the field named, CEL rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from krakenops.core.config import TradingEnvironmentSpec
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG
from tests.operator.emulator import ApiError, ApiServer
from tests.operator.harness import MP, TE, manifest, promotion_manifest

PROJECT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((PROJECT / "config" / "samples").glob("modelpromotion-*.yaml"))


def refusal(server: ApiServer, body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        server.create(body)
    assert caught.value.code == 422
    return caught.value


def fields_named(error: ApiError) -> set[str]:
    return {cause["field"] for cause in error.details["causes"]}


async def test_shipped_environments_and_samples_are_accepted(apiserver: ApiServer):
    apiserver.create(manifest(PAPER_CONFIG))
    apiserver.create(manifest(LIVE_CONFIG))
    for sample in SAMPLES:
        apiserver.create(manifest(sample))
    assert len(apiserver.objects(*MP)) == len(SAMPLES) == 3


async def test_defaults_fill_what_a_minimal_environment_leaves_out(apiserver: ApiServer):
    body = {
        "apiVersion": "krakenops.io/v1alpha1",
        "kind": "TradingEnvironment",
        "metadata": {"name": "mini"},
        "spec": {"mode": "paper"},
    }
    stored = apiserver.create(body)
    typed = TradingEnvironmentSpec.model_validate(stored["spec"])
    assert typed == TradingEnvironmentSpec(mode="paper")
    assert stored["spec"]["downtime"] == {"start": "03:00", "end": "05:00", "drainSeconds": 0}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda s: s.update(mode="demo"), "spec.mode", "Unsupported value"),
        (lambda s: s.pop("mode"), "spec.mode", "Required value"),
        (
            lambda s: s["risk"].update(maxDailyLoss="two"),
            "spec.risk.maxDailyLoss",
            "must be of type number",
        ),
        (lambda s: s["risk"].update(maxDailyLoss=1.5), "spec.risk.maxDailyLoss", "less than 1"),
        (lambda s: s["downtime"].update(start="3am"), "spec.downtime.start", "should match"),
        (
            lambda s: s["universe"].update(symbols=["BTC", "SHIB"]),
            "spec.universe.symbols[1]",
            "Unsupported value",
        ),
        (
            lambda s: s["trader"].update(metricsPort=80),
            "spec.trader.metricsPort",
            "greater than or equal to 1024",
        ),
    ],
)
async def test_malformed_environment_refused_with_the_field_named(
    apiserver: ApiServer, change: Any, field: str, words: str
):
    body = manifest(PAPER_CONFIG)
    change(body["spec"])
    error = refusal(apiserver, body)
    assert field in fields_named(error)
    assert words in error.message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda s: s["downtime"].update(start="04:00", end="04:00"),
            "spec.downtime",
            "the window needs a length",
        ),
        (lambda s: s.pop("credentials"), "spec", "live mode needs credentials.secretName"),
        (
            lambda s: s["risk"].update(maxSymbolRisk=0.5, maxPortfolioHeat=0.1),
            "spec.risk",
            "maxSymbolRisk exceeds maxPortfolioHeat",
        ),
    ],
)
async def test_environment_cel_rules_refuse(
    apiserver: ApiServer, change: Any, field: str, words: str
):
    body = manifest(LIVE_CONFIG)
    change(body["spec"])
    error = refusal(apiserver, body)
    assert field in fields_named(error)
    assert words in error.message


@pytest.mark.parametrize(
    ("action", "model_id", "confirm", "field", "words"),
    [
        (
            "promote",
            "model_20260205_abc",
            "yes-rollback",
            "spec.confirm",
            "confirm must be yes-promote",
        ),
        ("rollback", None, "yes-promote", "spec.confirm", "yes-rollback for rollback"),
        ("promote", None, "yes-promote", "spec.modelId", "promote needs modelId"),
        (
            "rollback",
            "model_20260205_abc",
            "yes-rollback",
            "spec.modelId",
            "rollback takes no modelId",
        ),
        ("promote", "Model-1", "yes-promote", "spec.modelId", "should match"),
        ("deploy", "model_20260205_abc", None, "spec.action", "Unsupported value"),
        ("promote", "model_20260205_abc", "yes", "spec.confirm", "Unsupported value"),
    ],
)
async def test_malformed_promotion_refused_with_the_field_named(
    apiserver: ApiServer,
    action: str,
    model_id: str | None,
    confirm: str | None,
    field: str,
    words: str,
):
    error = refusal(apiserver, promotion_manifest("bad", "paper", action, model_id, confirm))
    assert field in fields_named(error)
    assert words in error.message


async def test_promotion_spec_cannot_change_once_created(apiserver: ApiServer):
    apiserver.create(promotion_manifest("review", "paper", "promote", "model_20260205_abc"))
    with pytest.raises(ApiError) as caught:
        apiserver.merge_patch(
            *MP, "default", "review", {"spec": {"modelId": "model_20260205_other"}}
        )
    assert caught.value.code == 422
    assert "spec is immutable" in caught.value.message
    # Status and metadata stay writable: the rule guards the request, not its record.
    apiserver.merge_patch(
        *MP, "default", "review", {"status": {"phase": "Pending"}}, subresource="status"
    )
    apiserver.merge_patch(*MP, "default", "review", {"metadata": {"labels": {"team": "quant"}}})


async def test_an_environment_spec_may_change(apiserver: ApiServer):
    apiserver.create(manifest(PAPER_CONFIG))
    changed = apiserver.merge_patch(
        *TE, "default", "paper-kraken-crypto-global", {"spec": {"suspend": True}}
    )
    assert changed["spec"]["suspend"] is True
    assert changed["metadata"]["generation"] == 2
