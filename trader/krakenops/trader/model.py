"""The confidence model: its input schema, and loading an approved candidate without running code."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from krakenops.core.artifacts import Candidate, IntegrityError
from krakenops.core.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION
from krakenops.trader.execution.orders import Side

__all__ = [
    "MODEL_INPUT_NAMES",
    "MODEL_SCHEMA_VERSION",
    "STRATEGY_NAMES",
    "TRUSTED_TYPES",
    "ConfidenceModel",
    "ModelRefusedError",
    "SklearnConfidenceModel",
    "load_candidate_model",
    "model_inputs",
]

STRATEGY_NAMES: tuple[str, ...] = (
    "trend_follower",
    "volatility_swing",
    "mean_reversion",
    "defensive_hedge",
    "stable_allocator",
    "recovery_reentry",
)
MODEL_INPUT_NAMES: tuple[str, ...] = (
    *FEATURE_NAMES,
    *(f"strategy_{name}" for name in STRATEGY_NAMES),
    "side",
)
# Derived from the inputs, so that any change to them yields a new version and old models are refused.
MODEL_SCHEMA_VERSION = (
    f"model-inputs-v1+{FEATURE_SCHEMA_VERSION}+"
    + hashlib.sha256(",".join(MODEL_INPUT_NAMES).encode()).hexdigest()[:12]
)

# Every type a model file may hold; skops constructs nothing else, and a file naming anything
# else is refused before skops sees it. Linear models, scalers, pipelines and tree ensembles.
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int32",
    "numpy.int64",
    "numpy.uint64",
    "numpy.ndarray",
    "numpy.random._generator.Generator",
    "numpy.random.mtrand.RandomState",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.dummy.DummyClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._tree.Tree",
)

_STRATEGY_OFFSET = len(FEATURE_NAMES)
_SIDE = len(MODEL_INPUT_NAMES) - 1
_STRATEGY_INDEX = {name: _STRATEGY_OFFSET + i for i, name in enumerate(STRATEGY_NAMES)}


class ModelRefusedError(IntegrityError):
    """A candidate's model cannot be trusted or does not fit this trader; the message says why."""


def model_inputs(
    features: Sequence[float] | npt.NDArray[np.float64], strategy: str, side: Side
) -> npt.NDArray[np.float64]:
    """One model input row: the features, the strategy one-hot, then the side (+1 buy, -1 sell).

    A strategy STRATEGY_NAMES does not name (one added since) has no column of its own: its
    rows carry no strategy, until its name joins the schema and models are trained with it.
    """
    row = np.zeros(len(MODEL_INPUT_NAMES))
    row[:_STRATEGY_OFFSET] = features
    column = _STRATEGY_INDEX.get(strategy)
    if column is not None:
        row[column] = 1.0
    row[_SIDE] = 1.0 if side is Side.BUY else -1.0
    return row


class ConfidenceModel(Protocol):
    """What the trader asks of a model: for each input row, the probability the trade pays."""

    @property
    def model_id(self) -> str:
        """The candidate's id, e.g. model_20260205_abc123 (any `model_id` attribute satisfies it)."""
        ...

    def confidence(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class SklearnConfidenceModel:
    """A fitted scikit-learn classifier over MODEL_INPUT_NAMES with classes [0, 1]."""

    model_id: str
    sha256: str
    estimator: Any

    def confidence(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        proba = np.asarray(self.estimator.predict_proba(np.atleast_2d(rows)), dtype=np.float64)
        # A broken estimator must not size trades: anything outside [0, 1] becomes no confidence.
        positive = proba[:, 1]
        return np.where(np.isfinite(positive), np.clip(positive, 0.0, 1.0), 0.0)


def load_candidate_model(candidate: Candidate) -> SklearnConfidenceModel:
    """Load a verified candidate's model from its verified bytes; refuse another schema or type."""
    metadata = candidate.metadata
    if metadata.feature_schema_version != MODEL_SCHEMA_VERSION:
        raise ModelRefusedError(
            f"{candidate.model_id}: feature schema {metadata.feature_schema_version!r} is not "
            f"this trader's {MODEL_SCHEMA_VERSION!r}"
        )
    if tuple(metadata.feature_names) != MODEL_INPUT_NAMES:
        raise ModelRefusedError(
            f"{candidate.model_id}: feature names differ from MODEL_INPUT_NAMES"
        )
    # The bytes the store verified, not the file: it could change between verification and load.
    data = candidate.model_bytes
    foreign = sorted(_types_in(data, candidate.model_id) - set(TRUSTED_TYPES))
    if foreign:
        raise ModelRefusedError(
            f"{candidate.model_id}: untrusted types in the model file: {foreign}"
        )
    import skops.io

    try:
        estimator = skops.io.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as error:  # skops raises many types; every one means "do not trade on this"
        raise ModelRefusedError(
            f"{candidate.model_id}: the model file does not load: {error}"
        ) from None
    classes = getattr(estimator, "classes_", None)
    if not hasattr(estimator, "predict_proba") or classes is None or list(classes) != [0, 1]:
        raise ModelRefusedError(
            f"{candidate.model_id}: not a fitted binary classifier with classes [0, 1]"
        )
    model = SklearnConfidenceModel(candidate.model_id, candidate.sha256, estimator)
    try:
        probe = model.confidence(np.zeros((1, len(MODEL_INPUT_NAMES))))
    except Exception as error:  # a model that cannot score one row is not a model to trade on
        raise ModelRefusedError(
            f"{candidate.model_id}: the model cannot score a row: {error}"
        ) from None
    if probe.shape != (1,):
        raise ModelRefusedError(
            f"{candidate.model_id}: the model returns {probe.shape} for one row"
        )
    return model


def _types_in(data: bytes, model_id: str) -> set[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelRefusedError(f"{model_id}: not a skops file: {error}") from None
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__')}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
