"""Builders of valid records and candidates for tests, so each test states only what it varies."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.records import (
    ApprovedPointer,
    CandidateMetadata,
    CandidateMetrics,
    ShadowBookFigures,
    ShadowReport,
    ShadowSource,
    ValidationReport,
)

WHEN = datetime(2026, 2, 5, 4, 15, tzinfo=UTC)


def metadata(model_id: str) -> CandidateMetadata:
    return CandidateMetadata(
        model_id=model_id,
        created_at=WHEN,
        environment="paper_kraken_crypto_global",
        feature_schema_version="test-1",
        feature_names=("ret_1", "vol_24"),
        training_start=datetime(2021, 1, 1, tzinfo=UTC),
        training_end=datetime(2022, 1, 1, tzinfo=UTC),
        library_versions={"scikit-learn": "test"},
        trusted_types=(),
    )


def metrics() -> CandidateMetrics:
    return CandidateMetrics(oos_sharpe=0.8, max_drawdown=0.1, tail_loss=0.03, annual_turnover=1.2)


def candidate(store: ArtifactStore, model_id: str, payload: bytes = b"weights") -> Candidate:
    return store.write_candidate(metadata(model_id), metrics(), {"model.skops": payload})


# Measured values within the default gates (spec.trainer.gates) besides the Sharpe.
WITHIN_DEFAULT_GATES = {"max_drawdown": 0.1, "tail_loss": 0.03, "annual_turnover": 1.5}


def report(model_id: str, sha256: str | None, *, passed: bool = True) -> ValidationReport:
    failures = [] if passed else ["oos_sharpe 0.1 < 0.5"]
    return ValidationReport(
        model_id=model_id,
        passed=passed,
        checks={"integrity": True, "oos_sharpe": 0.8 if passed else 0.1} | WITHIN_DEFAULT_GATES,
        failures=failures,
        sha256=sha256,
        validated_at=WHEN,
    )


def shadow_report(store: ArtifactStore, model_id: str) -> ShadowReport:
    """Five days of `model_id` in shadow beside a rules-only live book, read from live's records."""
    book = {"starting_equity_usd": 10_000.0, "sharpe_days": 5, "fills": 4}
    return ShadowReport(
        model_id=model_id,
        environment=store.env_id,
        written_at=WHEN,
        shadow_start=datetime(2026, 1, 31, 5, tzinfo=UTC),
        shadow_end=datetime(2026, 2, 5, 1, tzinfo=UTC),
        days_in_shadow=4.875,
        steps=98,
        restarts=0,
        shadow=ShadowBookFigures(
            model_id=model_id,
            final_equity_usd=10_150.0,
            pnl_usd=150.0,
            total_return=0.015,
            sharpe=1.9,
            max_drawdown=0.02,
            **book,
        ),
        champion=ShadowBookFigures(
            final_equity_usd=9_950.0,
            pnl_usd=-50.0,
            total_return=-0.005,
            sharpe=-0.7,
            max_drawdown=0.03,
            **book,
        ),
        champion_source=ShadowSource.LIVE_RECORDS,
    )


def pointer(written: Candidate, *, promotion: str, env_id: str = "") -> ApprovedPointer:
    """A pointer to `written` as releases before pointers kept their previous wrote them."""
    return ApprovedPointer(
        model_id=written.model_id,
        sha256=written.sha256,
        promoted_at=WHEN,
        promoted_by=env_id,
        candidate_path=str(written.path),
        promotion=promotion,
    )


@contextlib.contextmanager
def fast_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A root for many generated cases: each fsyncs, and on a memory filesystem that costs nothing."""
    shm = Path("/dev/shm")
    if shm.is_dir():
        with tempfile.TemporaryDirectory(dir=shm) as root:
            yield Path(root)
    else:
        yield tmp_path_factory.mktemp(name)


def on_disk(max_examples: int) -> settings:
    """Hypothesis settings for cases that write files in a module-wide root (see fast_root)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
