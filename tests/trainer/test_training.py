"""Training: labels from a rules-only replay, purged folds, a skops candidate the trader loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import skops.io

from krakenops.core.clock import ManualClock
from krakenops.core.config import load_config
from krakenops.core.records import ApprovedPointer, RegistryEvent
from krakenops.trader.model import MODEL_INPUT_NAMES, MODEL_SCHEMA_VERSION, load_candidate_model
from krakenops.trainer.commands import train_command
from krakenops.trainer.dataset import load_snapshot
from krakenops.trainer.deadline import Deadline, DeadlineExceededError, training_deadline
from krakenops.trainer.modelling import make_estimator
from krakenops.trainer.training import (
    NotEnoughDataError,
    TrainingPlan,
    TrainingRefusedError,
    train_candidate,
)
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG
from tests.trainer.conftest import LAST, PLAN, TRAINED_AT, Trained, market, store_at


def test_training_writes_a_candidate_the_trader_loads(trained: Trained):
    candidate = trained.result.candidate
    meta = candidate.metadata
    assert meta.feature_schema_version == MODEL_SCHEMA_VERSION
    assert meta.feature_names == MODEL_INPUT_NAMES
    assert meta.environment == "paper_kraken_crypto_global"
    # The bars end before the clock: the holdout is counted back from the last bar's close.
    assert meta.training_end == datetime.fromtimestamp(LAST, UTC) - timedelta(days=60)
    assert set(meta.trusted_types) == set(skops.io.get_untrusted_types(file=candidate.model_file))
    model = load_candidate_model(candidate)
    confidence = model.confidence(np.zeros((3, len(MODEL_INPUT_NAMES))))
    assert confidence.shape == (3,) and ((confidence >= 0) & (confidence <= 1)).all()
    assert candidate.metrics.n_trades > 0
    assert candidate.metrics.details["examples"] >= 100
    created = [r for r in trained.store.registry_records() if r.event is RegistryEvent.CREATED]
    assert [r.model_id for r in created] == [candidate.model_id]
    assert created[0].details["sha256"] == candidate.sha256


def test_training_is_repeatable_with_its_fixed_seed(trained: Trained):
    dataset = load_snapshot(trained.result.dataset.manifest_path, len(MODEL_INPUT_NAMES))
    kind = trained.result.cv.chosen
    refit = make_estimator(kind, PLAN.seed).fit(dataset.inputs, dataset.labels)
    saved = load_candidate_model(trained.result.candidate).estimator
    probe = np.random.default_rng(3).normal(size=(50, len(MODEL_INPUT_NAMES)))
    assert np.array_equal(refit.predict_proba(probe), saved.predict_proba(probe))


def test_no_training_example_was_decided_or_settled_after_training_end(trained: Trained):
    end = int(trained.result.training_end.timestamp())
    dataset = load_snapshot(trained.result.dataset.manifest_path, len(MODEL_INPUT_NAMES))
    assert len(dataset) == trained.result.dataset.rows
    assert (dataset.times < end).all()
    assert (dataset.label_ends < end).all()
    assert (dataset.label_ends >= dataset.times).all()


def test_the_dataset_snapshot_is_refused_when_its_rows_change(trained: Trained, tmp_path: Path):
    snapshot = trained.result.dataset
    copy = tmp_path / snapshot.manifest_path.name
    copy.write_bytes(snapshot.manifest_path.read_bytes())
    (tmp_path / snapshot.path.name).write_bytes(snapshot.path.read_bytes()[:-200])
    with pytest.raises(ValueError, match="does not match the sha256"):
        load_snapshot(copy, len(MODEL_INPUT_NAMES))


class Countdown(Deadline):
    """A deadline that passes after `allowed` checks, wherever in the run that falls."""

    allowed: int  # set past the frozen dataclass's guard: the count must go down as it checks

    def __init__(self, clock: ManualClock, ends_at, allowed: int) -> None:
        super().__init__(clock, ends_at)
        object.__setattr__(self, "allowed", allowed)

    def check(self, step: str) -> None:
        if self.allowed == 0:
            assert isinstance(self.clock, ManualClock)
            self.clock.set(self.ends_at)
        object.__setattr__(self, "allowed", self.allowed - 1)
        super().check(step)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_training_aborts_at_the_deadline_and_leaves_no_candidate(
    trained: Trained, tmp_path: Path, where: str
):
    allowed = {"first": 0, "middle": len(trained.steps) // 2, "last": len(trained.steps) - 1}[where]
    config, store = store_at(tmp_path / "data")
    approved = ApprovedPointer(
        model_id="model_20210101_before",
        sha256="a" * 64,
        promoted_at=TRAINED_AT - timedelta(days=30),
        promoted_by=store.env_id,
        candidate_path=str(store.candidates / "model_20210101_before"),
        promotion="earlier",
    )
    store.write_pointer(approved)
    clock = ManualClock(TRAINED_AT)
    deadline = Countdown(clock, training_deadline(config, clock).ends_at, allowed)
    with pytest.raises(DeadlineExceededError, match=f"before {trained.steps[allowed]}"):
        train_candidate(config, store, trained.bars, clock=clock, deadline=deadline, plan=PLAN)
    assert store.candidate_ids() == []
    assert list(store.candidates.iterdir()) == []
    assert store.read_pointer() == approved
    records = list(store.registry_records())
    assert [r.event for r in records] == [RegistryEvent.TRAINING_ABORTED]
    assert "deadline" in str(records[0].details["reason"])


def test_the_last_step_before_writing_is_a_deadline_check(trained: Trained):
    assert trained.steps[0] == "replaying the rules-only policy for labels"
    assert trained.steps[-1] == "writing the candidate"
    assert any(step.startswith("fitting random_forest") for step in trained.steps)


def test_a_live_environment_refuses_to_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    live = load_config(LIVE_CONFIG).with_root(tmp_path / "data")
    _, store = store_at(tmp_path / "data")
    clock = ManualClock(TRAINED_AT)
    with pytest.raises(TrainingRefusedError, match="live never trains"):
        train_candidate(
            live, store, {}, clock=clock, deadline=Deadline(clock, TRAINED_AT + timedelta(hours=1))
        )
    code = train_command(["--config", str(LIVE_CONFIG), "--root", str(tmp_path / "data")])
    assert code == 2
    assert "refused: live_kraken_crypto_global is a live environment" in capsys.readouterr().err
    assert list(store.registry_records()) == []


def test_training_outside_the_window_is_refused_by_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    # The window is moved to the hours that are furthest from now, so "now" is always trading.
    hour = (datetime.now(UTC).hour + 12) % 24
    config = tmp_path / "paper.yaml"
    text = PAPER_CONFIG.read_text().replace('start: "03:00"', f'start: "{hour:02d}:00"')
    config.write_text(text.replace('end: "05:00"', f'end: "{(hour + 1) % 24:02d}:00"'))
    assert train_command(["--config", str(config), "--root", str(tmp_path / "data")]) == 2
    assert "only in the downtime window" in capsys.readouterr().err


def test_too_little_history_aborts_with_a_record_and_no_candidate(tmp_path: Path):
    config, store = store_at(tmp_path / "data")
    clock = ManualClock(TRAINED_AT)
    short = {s: b.slice(len(b) - 24 * 100, len(b)) for s, b in market().items()}
    with pytest.raises(NotEnoughDataError, match="days of history"):
        train_candidate(
            config,
            store,
            short,
            clock=clock,
            deadline=training_deadline(config, clock),
            plan=TrainingPlan(holdout_days=60),
        )
    assert store.candidate_ids() == []
    assert [r.event for r in store.registry_records()] == [RegistryEvent.TRAINING_ABORTED]


def test_the_demo_never_wipes_a_root_it_did_not_make(tmp_path: Path, capsys):
    from krakenops.trainer.demo import demo_command

    precious = tmp_path / "data" / "artifacts" / "approved_model.json"
    precious.parent.mkdir(parents=True)
    precious.write_text("{}")
    assert demo_command(["--root", str(tmp_path / "data")]) == 2
    assert "was not made by the demo" in capsys.readouterr().out
    assert precious.read_text() == "{}"
