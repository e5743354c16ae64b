"""The model contract: input rows, and loading only verified, trusted, matching models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.model import (
    MODEL_INPUT_NAMES,
    STRATEGY_NAMES,
    ModelRefusedError,
    load_candidate_model,
    model_inputs,
)
from krakenops.trader.orders import Side
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


def test_a_model_file_changed_after_verification_is_refused(store: ArtifactStore):
    candidate = save(store, "model_20260205_swapped")
    candidate.model_file.write_bytes(candidate.model_file.read_bytes() + b"\0")
    with pytest.raises(ModelRefusedError, match="sha256"):
        load_candidate_model(candidate)


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
