"""Start-up verification: the banner, with a failing check stopping start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from krakenops.core.api import CREDENTIALS_DIR
from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, GateThresholds
from krakenops.core.promotion import PromotionRequest, PromotionService
from krakenops.core.records import Action
from krakenops.core.verify import (
    Check,
    Outcome,
    Verification,
    credentials_probe,
    render,
    verify_startup,
)
from tests import factories
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG


def test_paper_banner_passes_on_a_fresh_root(paper_config: EnvironmentConfig, clock: ManualClock):
    result = verify_startup(paper_config, clock)
    banner = render(result)
    assert result.passed
    for line in (
        "CRYPTO TRADING SYSTEM STARTUP VERIFICATION",
        "✓ Config loaded: paper_kraken_crypto_global",
        "✓ Environment: paper",
        "✓ Artifact isolation verified (no swing paths)",
        "✓ Universe: BTC, ETH, SOL",
        "✓ Downtime window: 03:00-05:00 UTC",
        "✓ Trading scheduled: 05:00-03:00 UTC (active), 03:00-05:00 UTC (training)",
        "✓ ML mode: TRAINING_ENABLED (paper)",
        "→ Status: NOT FOUND (will use rules-only fallback until promoted)",
        "✓ Kraken connectivity: SIMULATOR (paper)",
        "✓ All checks passed. Ready for trading.",
    ):
        assert line in banner


def test_swing_root_fails_verification(
    tmp_path: Path, paper_config: EnvironmentConfig, clock: ManualClock
):
    result = verify_startup(paper_config.with_root(tmp_path / "swing"), clock)
    assert not result.passed
    assert "✗ Artifact isolation violated" in render(result)


def promoted(store: ArtifactStore, clock: ManualClock) -> Candidate:
    """A validated candidate that the environment's pointer names."""
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256))
    PromotionService(store, clock, GateThresholds()).execute(
        PromotionRequest(Action.PROMOTE, "yes-promote", "mp-1", written.model_id)
    )
    return written


def accept_any_model(candidate: Candidate) -> None:
    """A loader that trusts whatever passed its sha256, to test that check alone."""


def test_the_banner_refuses_a_model_the_trader_would_refuse(
    paper_config: EnvironmentConfig, store: ArtifactStore, clock: ManualClock
):
    promoted(store, clock)  # whole and matching its sha256, but no skops file the trader loads
    check = model_check(verify_startup(paper_config, clock))
    assert check.outcome is Outcome.WARN
    assert "REFUSED" in check.details[0] and "sha256 verified" not in check.details[0]


def model_check(result: Verification) -> Check:
    return next(c for c in result.checks if c.text.startswith("Approved model"))


def test_approved_model_is_checked_against_its_sha256(
    paper_config: EnvironmentConfig, store: ArtifactStore, clock: ManualClock
):
    written = promoted(store, clock)
    result = verify_startup(paper_config, clock, model_check=accept_any_model)
    assert "model_20260205_abc123 (sha256, schema and skops types verified)" in render(result)
    written.model_file.write_bytes(b"tampered")
    check = model_check(verify_startup(paper_config, clock, model_check=accept_any_model))
    assert check.outcome is Outcome.WARN
    assert "REFUSED" in check.details[0] and "rules-only" in check.details[0]


def test_a_manifest_that_is_not_text_warns_and_starts_rules_only(
    paper_config: EnvironmentConfig, store: ArtifactStore, clock: ManualClock
):
    written = promoted(store, clock)
    (written.path / "sha256.txt").write_bytes(b"\xff\xfe not utf-8")
    result = verify_startup(paper_config, clock)
    assert result.passed
    check = model_check(result)
    assert check.outcome is Outcome.WARN
    assert "REFUSED" in check.details[0] and "rules-only" in check.details[0]


def test_live_without_mounted_credentials_fails(
    live_config: EnvironmentConfig,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("KRAKENOPS_CREDENTIALS_DIR", str(tmp_path / "absent"))
    result = verify_startup(live_config, clock)
    assert not result.passed
    assert "credentials missing" in render(result)
    assert "ML mode: INFERENCE_ONLY (live)" in render(result)


def test_an_empty_credentials_variable_means_the_secrets_mount(
    live_config: EnvironmentConfig, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KRAKENOPS_CREDENTIALS_DIR", "")
    probed = credentials_probe(live_config)
    assert f"missing in {CREDENTIALS_DIR}:" in probed.text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "krakenops.core.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_verify_exit_codes(tmp_path: Path):
    ok = run_cli("verify", "--config", str(PAPER_CONFIG), "--root", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr
    assert "Ready for trading" in ok.stdout
    bad = run_cli("verify", "--config", str(PAPER_CONFIG), "--root", str(tmp_path / "swing"))
    assert bad.returncode == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(LIVE_CONFIG.read_text().replace("maxDailyLoss: 0.02", "maxDailyLoss: lots"))
    refused = run_cli("verify", "--config", str(broken))
    assert refused.returncode == 2
    assert "spec.risk.maxDailyLoss" in refused.stderr and str(broken) in refused.stderr
