"""Tiny fitted classifiers saved as candidates, for the model and hot-reload tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import skops.io
from sklearn.linear_model import LogisticRegression

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.records import CandidateMetadata, CandidateMetrics
from krakenops.trader.model import MODEL_INPUT_NAMES, MODEL_SCHEMA_VERSION, TRUSTED_TYPES

WHEN = datetime(2026, 2, 5, 4, 15, tzinfo=UTC)


def fitted(seed: int = 0, labels: tuple[int, int] = (0, 1)) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, len(MODEL_INPUT_NAMES)))
    y = np.where(x[:, 0] + 0.3 * rng.normal(size=200) > 0, labels[1], labels[0])
    return LogisticRegression(max_iter=200).fit(x, y)


def save(
    store: ArtifactStore,
    model_id: str,
    estimator: Any = None,
    schema: str = MODEL_SCHEMA_VERSION,
    names: tuple[str, ...] = MODEL_INPUT_NAMES,
) -> Candidate:
    metadata = CandidateMetadata(
        model_id=model_id,
        created_at=WHEN,
        environment="paper_kraken_crypto_global",
        feature_schema_version=schema,
        feature_names=names,
        training_start=datetime(2021, 1, 1, tzinfo=UTC),
        training_end=datetime(2022, 1, 1, tzinfo=UTC),
        library_versions={"scikit-learn": "test"},
        trusted_types=TRUSTED_TYPES,
    )
    metrics = CandidateMetrics(
        oos_sharpe=0.8, max_drawdown=0.1, tail_loss=0.03, annual_turnover=1.2
    )
    data = skops.io.dumps(estimator if estimator is not None else fitted())
    return store.write_candidate(metadata, metrics, {"model.skops": data})
