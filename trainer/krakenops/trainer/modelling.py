"""The confidence classifiers and their walk-forward cross-validation, with fixed seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from krakenops.core.config import RiskLimits
from krakenops.trainer.dataset import Dataset
from krakenops.trainer.deadline import Deadline
from krakenops.trainer.gates import PerformanceFigures, performance
from krakenops.trainer.walkforward import walk_forward_folds

__all__ = [
    "MODEL_KINDS",
    "CrossValidation",
    "FoldScore",
    "cross_validate",
    "make_estimator",
    "sized_outcome",
]

# Both score one row on one thread. Histogram gradient boosting was left out: its prediction
# runs OpenMP threads sized to the node, not to the pod's CPU limit, and under contention one
# row took a quarter of a second in the trader's decision step.
MODEL_KINDS = ("logistic", "random_forest")


def make_estimator(kind: str, seed: int) -> Any:
    """A fresh classifier; both kinds consist only of types the trader's loader trusts."""
    if kind == "logistic":
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("classify", LogisticRegression(C=0.5, max_iter=2000, random_state=seed)),
            ]
        )
    if kind == "random_forest":
        # Few, shallow trees with large leaves: the examples number hundreds to thousands.
        return RandomForestClassifier(
            n_estimators=60,
            max_depth=4,
            min_samples_leaf=20,
            max_features="sqrt",
            n_jobs=1,
            random_state=seed,
        )
    raise ValueError(f"unknown model kind {kind!r}; known: {MODEL_KINDS}")


@dataclass(frozen=True)
class FoldScore:
    kind: str
    fold: int
    train_rows: int
    test_rows: int
    log_loss: float
    base_log_loss: float  # always predicting the training base rate: the bar to clear
    brier: float
    auc: float  # NaN when the test fold holds one class only


@dataclass
class CrossValidation:
    """Fold scores of every kind, the chosen kind, and the chosen kind's out-of-fold confidences."""

    scores: list[FoldScore] = field(default_factory=list)
    chosen: str = MODEL_KINDS[0]
    test_rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    confidence: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def mean(self, kind: str, metric: str) -> float:
        values = [getattr(s, metric) for s in self.scores if s.kind == kind]
        finite = [v for v in values if math.isfinite(v)]
        return float(np.mean(finite)) if finite else math.nan


def cross_validate(
    dataset: Dataset, n_folds: int, embargo_seconds: int, seed: int, deadline: Deadline
) -> CrossValidation:
    """Score each kind on purged walk-forward folds; choose the lowest mean log loss."""
    folds = walk_forward_folds(dataset.times, dataset.label_ends, n_folds, embargo_seconds)
    if not folds:
        raise ValueError(f"{len(dataset)} examples are too few for walk-forward folds")
    result = CrossValidation()
    out_of_fold: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]] = {}
    x, y = dataset.inputs, dataset.labels
    for kind in MODEL_KINDS:
        out_of_fold[kind] = []
        for fold in folds:
            deadline.check(f"fitting {kind} on fold {fold.number}")
            train_y = y[fold.train]
            test_y = y[fold.test]
            if len(np.unique(train_y)) < 2:
                continue
            model = make_estimator(kind, seed).fit(x[fold.train], train_y)
            proba = np.asarray(model.predict_proba(x[fold.test])[:, 1], dtype=np.float64)
            base = np.full(test_y.shape, float(train_y.mean()))
            result.scores.append(
                FoldScore(
                    kind=kind,
                    fold=fold.number,
                    train_rows=int(fold.train.shape[0]),
                    test_rows=int(fold.test.shape[0]),
                    log_loss=float(log_loss(test_y, proba, labels=[0, 1])),
                    base_log_loss=float(log_loss(test_y, base, labels=[0, 1])),
                    brier=float(brier_score_loss(test_y, proba)),
                    auc=float(roc_auc_score(test_y, proba)) if len(set(test_y)) > 1 else math.nan,
                )
            )
            out_of_fold[kind].append((fold.test, proba))
    scored = [k for k in MODEL_KINDS if out_of_fold[k]]
    if not scored:
        raise ValueError("no fold held both outcomes to learn from")
    # Ties go to the first kind, the simpler model.
    result.chosen = min(scored, key=lambda k: result.mean(k, "log_loss"))
    chosen = out_of_fold[result.chosen]
    result.test_rows = np.concatenate([rows for rows, _ in chosen])
    result.confidence = np.concatenate([proba for _, proba in chosen])
    return result


def sized_outcome(
    dataset: Dataset,
    rows: npt.NDArray[np.int64],
    confidence: npt.NDArray[np.float64],
    risk: RiskLimits,
    starting_equity: float,
) -> PerformanceFigures:
    """The test folds' entries re-sized by the model's confidence, as the risk manager would.

    An estimate from the recorded trades, not a replay: validation replays the whole policy.
    """
    scale = risk.min_confidence_multiplier + (
        risk.max_confidence_multiplier - risk.min_confidence_multiplier
    ) * np.clip(confidence, 0.0, 1.0)
    order = np.argsort(dataset.label_ends[rows], kind="stable")
    pnl = dataset.pnl_usd[rows][order] * scale[order]
    returns = np.array([dataset.examples[int(i)].return_pct for i in rows[order]])
    notional = np.where(
        np.abs(returns) > 1e-12, np.abs(pnl / np.where(returns == 0, 1, returns)), 0
    )
    equity = starting_equity + np.cumsum(pnl)
    times = dataset.label_ends[rows][order]
    # An entry and its exit each trade the position's notional once.
    return performance(times, equity, starting_equity, float(2 * notional.sum()))
