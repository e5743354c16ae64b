"""Candidates are saved with skops, described completely, and written whole or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import numpy as np
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from krakenops.core.artifacts import ArtifactError, ArtifactStore, IntegrityError
from krakenops.core.records import CandidateMetrics
from krakenops.trainer.candidate import CandidateSpec, UntrustedModelError, save_candidate

SPEC = CandidateSpec(
    model_id="model_20260205_abc123",
    created_at=datetime(2026, 2, 5, 4, 15, tzinfo=UTC),
    environment="paper_kraken_crypto_global",
    feature_schema_version="test-schema",
    feature_names=("a", "b", "c"),
    training_start=datetime(2021, 1, 1, tzinfo=UTC),
    training_end=datetime(2022, 1, 1, tzinfo=UTC),
)
METRICS = CandidateMetrics(oos_sharpe=0.7, max_drawdown=0.1, tail_loss=0.02, annual_turnover=1.0)


def fitted(estimator):
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(200, 3))
    return estimator.fit(rows, (rows[:, 0] > 0).astype(int))


def test_a_candidate_holds_a_skops_model_its_metadata_metrics_and_manifest(store: ArtifactStore):
    model = fitted(make_pipeline(StandardScaler(), LogisticRegression()))
    written = save_candidate(store, model, SPEC, METRICS, allowed_types=())
    assert sorted(p.name for p in written.path.iterdir()) == [
        "metadata.json",
        "metrics.json",
        "model.skops",
        "sha256.txt",
    ]
    meta = written.metadata
    assert meta.feature_schema_version == "test-schema"
    assert meta.feature_names == ("a", "b", "c")
    assert {"scikit-learn", "skops", "numpy", "python"} <= set(meta.library_versions)
    assert meta.trusted_types == ()
    loaded = skops.io.load(written.model_file, trusted=[])
    rows = np.zeros((2, 3))
    assert (loaded.predict_proba(rows) == model.predict_proba(rows)).all()
    assert store.verify_candidate(SPEC.model_id) == written.sha256


def test_types_skops_does_not_trust_by_default_are_listed_and_must_be_allowed(
    store: ArtifactStore,
):
    model = fitted(HistGradientBoostingClassifier(max_iter=5, random_state=0))
    with pytest.raises(UntrustedModelError, match="TreePredictor"):
        save_candidate(store, model, SPEC, METRICS, allowed_types=())
    assert store.candidate_ids() == []
    allowed = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    written = save_candidate(store, model, SPEC, METRICS, allowed_types=allowed)
    assert written.metadata.trusted_types == tuple(sorted(allowed))


def test_a_failure_mid_write_leaves_no_candidate_and_no_staging_files(store: ArtifactStore):
    model = fitted(make_pipeline(StandardScaler(), LogisticRegression()))
    real_fsync = __import__("os").fsync
    calls = {"n": 0}

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    with (
        mock.patch("krakenops.core.artifacts.os.fsync", failing_fsync),
        pytest.raises(OSError, match="No space"),
    ):
        save_candidate(store, model, SPEC, METRICS, allowed_types=())
    assert store.candidate_ids() == []
    assert list(store.candidates.iterdir()) == []
    # Nothing half-written can be promoted or opened.
    with pytest.raises(ArtifactError, match=r"no sha256\.txt"):
        store.open_candidate(SPEC.model_id)


def test_a_tampered_model_file_is_refused_when_opened(store: ArtifactStore):
    model = fitted(make_pipeline(StandardScaler(), LogisticRegression()))
    written = save_candidate(store, model, SPEC, METRICS, allowed_types=())
    data = bytearray(written.model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    written.model_file.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"model.skops does not match its sha256"):
        store.open_candidate(SPEC.model_id)
