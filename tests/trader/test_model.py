"""The model contract: input rows, and loading only verified, trusted, matching models."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from krakenops.core.artifacts import ArtifactStore, Candidate, IntegrityError
from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.execution.orders import Side
from krakenops.trader.model import (
    MODEL_INPUT_NAMES,
    STRATEGY_NAMES,
    ModelRefusedError,
    SklearnConfidenceModel,
    load_candidate_model,
    model_inputs,
)
from tests.trader.models import fitted, save


def test_model_inputs_are_features_then_strategy_one_hot_then_side():
    features = np.arange(len(FEATURE_NAMES), dtype=float)
    row = model_inputs(features, "mean_reversion", Side.SELL)
    assert row.shape == (len(MODEL_INPUT_NAMES),)
    assert list(row[: len(FEATURE_NAMES)]) == list(features)
    one_hot = row[len(FEATURE_NAMES) : -1]
    assert list(one_hot) == [1.0 if n == "mean_reversion" else 0.0 for n in STRATEGY_NAMES]
    assert row[-1] == -1.0
    assert model_inputs(features, "trend_follower", Side.BUY)[-1] == 1.0


def test_a_verified_candidate_loads_and_scores_in_unit_interval(store: ArtifactStore):
    model = load_candidate_model(save(store, "model_20260205_good"))
    rows = np.random.default_rng(1).normal(size=(5, len(MODEL_INPUT_NAMES)))
    scores = model.confidence(rows)
    assert scores.shape == (5,) and ((scores >= 0) & (scores <= 1)).all()
    assert model.model_id == "model_20260205_good"


def replace_model(candidate: Candidate, data: bytes) -> None:
    """What a writer with access to the store can do: other weights and a manifest to match."""
    candidate.model_file.write_bytes(data)
    manifest = candidate.path / "sha256.txt"
    lines = []
    for line in manifest.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name == candidate.metadata.model_file:
            digest = hashlib.sha256(data).hexdigest()
        lines.append(f"{digest}  {name}\n")
    manifest.write_text("".join(lines))


def is_approved(model: SklearnConfidenceModel) -> bool:
    return bool(np.array_equal(model.estimator.coef_, fitted().coef_))


def test_a_model_replaced_after_verification_is_not_what_loads(store: ArtifactStore):
    candidate = save(store, "model_20260205_swapped")
    replace_model(candidate, skops.io.dumps(fitted(seed=7)))
    model = load_candidate_model(candidate)
    assert is_approved(model) and model.sha256 == candidate.sha256


# The manifest, then metadata.json, metrics.json and model.skops in the manifest's order.
@pytest.mark.parametrize("reads_before_swap", [1, 2, 3, 4])
def test_files_swapped_while_opening_never_load_under_the_approved_digest(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch, reads_before_swap: int
):
    approved = save(store, "model_20260205_good")
    other = skops.io.dumps(fitted(seed=7))
    read_bytes = Path.read_bytes
    reads = 0

    def read_then_swap(path: Path) -> bytes:
        nonlocal reads
        data = read_bytes(path)
        if path.parent == approved.path:
            reads += 1
            if reads == reads_before_swap:
                replace_model(approved, other)
        return data

    monkeypatch.setattr(Path, "read_bytes", read_then_swap)
    try:
        model = load_candidate_model(
            store.open_candidate(approved.model_id, expected_sha256=approved.sha256)
        )
    except IntegrityError:
        model = None
    assert reads >= reads_before_swap, "the writer never got its turn"
    assert model is None or is_approved(model)


def test_another_feature_schema_is_refused(store: ArtifactStore):
    with pytest.raises(ModelRefusedError, match="feature schema"):
        load_candidate_model(save(store, "model_20260205_old", schema="model-inputs-v0"))


def test_other_feature_names_are_refused(store: ArtifactStore):
    with pytest.raises(ModelRefusedError, match="feature names"):
        load_candidate_model(save(store, "model_20260205_names", names=FEATURE_NAMES))


def test_a_file_holding_an_untrusted_type_is_refused(store: ArtifactStore):
    estimator = make_pipeline(FunctionTransformer(np.tanh), fitted())
    estimator.fit(np.zeros((4, len(MODEL_INPUT_NAMES))), [0, 1, 0, 1])
    with pytest.raises(ModelRefusedError, match="untrusted types"):
        load_candidate_model(save(store, "model_20260205_code", estimator=estimator))


def test_a_classifier_with_other_classes_is_refused(store: ArtifactStore):
    with pytest.raises(ModelRefusedError, match="classes"):
        load_candidate_model(save(store, "model_20260205_labels", estimator=fitted(labels=(1, 2))))
