"""One training run: replay for labels, snapshot the dataset, cross-validate, fit, write a candidate."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig, Mode
from krakenops.core.features import WARMUP_BARS
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.records import CandidateMetrics, RegistryEvent, RegistryRecord, new_model_id
from krakenops.trader.model import MODEL_INPUT_NAMES, MODEL_SCHEMA_VERSION, TRUSTED_TYPES
from krakenops.trader.replay.backtest import run_backtest
from krakenops.trainer.candidate import CandidateSpec, save_candidate
from krakenops.trainer.dataset import Dataset, DatasetSnapshot, write_snapshot
from krakenops.trainer.deadline import Deadline, DeadlineExceededError
from krakenops.trainer.examples import history_examples, read_paper_log
from krakenops.trainer.gates import DAY_SECONDS
from krakenops.trainer.modelling import (
    CrossValidation,
    cross_validate,
    make_estimator,
    sized_outcome,
)

__all__ = [
    "NotEnoughDataError",
    "TrainingPlan",
    "TrainingRefusedError",
    "TrainingResult",
    "ensure_may_train",
    "train_candidate",
]


class TrainingRefusedError(RuntimeError):
    """This environment may not train at all (a live one)."""


class NotEnoughDataError(RuntimeError):
    """The history or the examples are too thin to train on; no candidate is written."""


@dataclass(frozen=True)
class TrainingPlan:
    """How a run cuts the history and validates itself; every default is a deliberate choice."""

    # The most recent days are kept out of training so that validation has unseen data to replay.
    holdout_days: int = 90
    n_folds: int = 4
    # A day between a fold's last known label and its test period: regimes persist for hours.
    embargo_hours: int = 24
    seed: int = 20_260_205
    min_examples: int = 100
    min_training_days: int = 60


@dataclass(frozen=True)
class TrainingResult:
    candidate: Candidate
    dataset: DatasetSnapshot
    cv: CrossValidation
    training_start: datetime
    training_end: datetime


def ensure_may_train(config: EnvironmentConfig) -> None:
    """Refuse a live environment: it trades the approved model only and never trains."""
    if config.spec.mode is Mode.LIVE:
        raise TrainingRefusedError(
            f"{config.env_id} is a live environment: live never trains, it trades the approved "
            "model only; train in a paper environment"
        )


def train_candidate(
    config: EnvironmentConfig,
    store: ArtifactStore,
    bars: Mapping[str, Bars],
    *,
    clock: Clock,
    deadline: Deadline,
    plan: TrainingPlan | None = None,
) -> TrainingResult:
    """Train a candidate before `deadline`, or leave nothing but a `training_aborted` record."""
    ensure_may_train(config)
    now = clock.now()
    model_id = new_model_id(now, uuid.uuid4().hex[:6])
    try:
        return _train(
            config,
            store,
            bars,
            clock=clock,
            deadline=deadline,
            plan=plan or TrainingPlan(),
            model_id=model_id,
        )
    except (DeadlineExceededError, NotEnoughDataError) as error:
        store.append_registry(
            RegistryRecord(
                timestamp=clock.now(),
                model_id=model_id,
                event=RegistryEvent.TRAINING_ABORTED,
                env=store.env_id,
                details={"reason": str(error), "kind": type(error).__name__},
            )
        )
        raise


def _train(
    config: EnvironmentConfig,
    store: ArtifactStore,
    bars: Mapping[str, Bars],
    *,
    clock: Clock,
    deadline: Deadline,
    plan: TrainingPlan,
    model_id: str,
) -> TrainingResult:
    now = clock.now()
    usable = {s: b for s, b in bars.items() if len(b)}
    if not usable:
        raise NotEnoughDataError("no market data for any symbol of the universe")
    first = min(int(b.time[0]) for b in usable.values())
    data_end = min(
        max(int(b.time[-1]) for b in usable.values()) + BAR_SECONDS, int(now.timestamp())
    )
    start = first + WARMUP_BARS * BAR_SECONDS
    end = (data_end - plan.holdout_days * DAY_SECONDS) // BAR_SECONDS * BAR_SECONDS
    if end - start < plan.min_training_days * DAY_SECONDS:
        raise NotEnoughDataError(
            f"{(end - start) / DAY_SECONDS:.0f} days of history before the {plan.holdout_days}-day "
            f"holdout; training needs {plan.min_training_days}"
        )
    deadline.check("replaying the rules-only policy for labels")
    replay = run_backtest(config, usable, None, start_time=start, end_time=end)
    examples = history_examples(replay, end)
    paper = read_paper_log(store.logs, len(MODEL_INPUT_NAMES), end)
    dataset = Dataset.from_examples(examples + paper.examples, len(MODEL_INPUT_NAMES))
    positives = int(dataset.labels.sum())
    if len(dataset) < plan.min_examples or positives in (0, len(dataset)):
        raise NotEnoughDataError(
            f"{len(dataset)} labelled entries ({positives} profitable); training needs "
            f"{plan.min_examples} with both outcomes"
        )
    training_start = datetime.fromtimestamp(start, UTC)
    training_end = datetime.fromtimestamp(end, UTC)
    snapshot = write_snapshot(
        store.datasets,
        f"dataset_{now:%Y%m%d}_{model_id.rsplit('_', 1)[-1]}",
        dataset,
        now,
        {
            "model_id": model_id,
            "environment": store.env_id,
            "model_schema_version": MODEL_SCHEMA_VERSION,
            "input_names": list(MODEL_INPUT_NAMES),
            "training_start": training_start.isoformat(),
            "training_end": training_end.isoformat(),
            "symbols": sorted(usable),
            "replay_bar_steps": replay.bar_steps,
            "paper_trades": paper.trades,
            "paper_observations": paper.observations,
            "paper_first_observation": paper.first_observation,
            "paper_last_observation": paper.last_observation,
            "paper_skipped": paper.skipped,
        },
    )
    cv = cross_validate(dataset, plan.n_folds, plan.embargo_hours * 3600, plan.seed, deadline)
    deadline.check("the final fit")
    estimator = make_estimator(cv.chosen, plan.seed).fit(dataset.inputs, dataset.labels)
    estimate = sized_outcome(
        dataset,
        cv.test_rows,
        cv.confidence,
        config.spec.risk,
        config.spec.paper.starting_balance_usd,
    )
    details = {
        "examples": float(len(dataset)),
        "base_rate": float(dataset.labels.mean()),
        "cv_log_loss": cv.mean(cv.chosen, "log_loss"),
        "cv_base_log_loss": cv.mean(cv.chosen, "base_log_loss"),
        "cv_auc": cv.mean(cv.chosen, "auc"),
        "cv_brier": cv.mean(cv.chosen, "brier"),
        "cv_folds": float(len({s.fold for s in cv.scores if s.kind == cv.chosen})),
    }
    metrics = CandidateMetrics(
        oos_sharpe=estimate.oos_sharpe,
        max_drawdown=estimate.max_drawdown,
        tail_loss=estimate.tail_loss,
        annual_turnover=estimate.annual_turnover,
        n_trades=int(cv.test_rows.shape[0]),
        details={k: v for k, v in details.items() if math.isfinite(v)},
    )
    deadline.check("writing the candidate")
    candidate = save_candidate(
        store,
        estimator,
        CandidateSpec(
            model_id=model_id,
            created_at=now,
            environment=store.env_id,
            feature_schema_version=MODEL_SCHEMA_VERSION,
            feature_names=MODEL_INPUT_NAMES,
            training_start=training_start,
            training_end=training_end,
        ),
        metrics,
        TRUSTED_TYPES,
    )
    store.append_registry(
        RegistryRecord(
            timestamp=clock.now(),
            model_id=model_id,
            event=RegistryEvent.CREATED,
            env=store.env_id,
            details={
                "sha256": candidate.sha256,
                "model_kind": cv.chosen,
                "training_start": training_start.isoformat(),
                "training_end": training_end.isoformat(),
                "dataset": snapshot.path.name,
                "dataset_sha256": snapshot.sha256,
                "examples": len(dataset),
                **{
                    k: metrics.details.get(k) for k in ("cv_log_loss", "cv_base_log_loss", "cv_auc")
                },
            },
        )
    )
    return TrainingResult(candidate, snapshot, cv, training_start, training_end)
