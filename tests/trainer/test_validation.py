"""Validation: integrity, schema, and the gates over a replay of the policy on unseen bars."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import GateThresholds
from krakenops.core.records import Policy, RegistryEvent
from krakenops.trader.model import MODEL_INPUT_NAMES, load_candidate_model
from krakenops.trainer.approval import promote_command
from krakenops.trainer.candidate import CandidateSpec, save_candidate
from krakenops.trainer.commands import validate_command
from krakenops.trainer.gates import performance
from krakenops.trainer.validation import MIN_OOS_DAYS, validate_model
from tests import factories
from tests.conftest import PAPER_CONFIG
from tests.trainer.conftest import TRAINED_AT, Trained, store_at

LENIENT = ["--min-oos-sharpe", "-1000", "--max-drawdown", "1", "--max-tail-loss", "1"]
LENIENT += ["--max-turnover", "100000"]


def at_root(store: ArtifactStore, *extra: str) -> list[str]:
    return ["--config", str(PAPER_CONFIG), "--root", str(store.settings.root), *extra]


def with_lenient_gates(store: ArtifactStore, tmp_path: Path, *extra: str) -> list[str]:
    """Arguments naming the paper environment with gates as lenient as LENIENT's flags."""
    lenient = tmp_path / "lenient.yaml"
    manifest = yaml.safe_load(PAPER_CONFIG.read_text())
    manifest["spec"]["trainer"]["gates"] = {
        "minOosSharpe": -1000,
        "maxDrawdown": 1,
        "maxTailLoss": 1,
        "maxTurnover": 100000,
    }
    lenient.write_text(yaml.safe_dump(manifest))
    return ["--config", str(lenient), "--root", str(store.settings.root), *extra]


def args(store: ArtifactStore, *extra: str) -> list[str]:
    root = store.settings.root
    return [
        "--config",
        str(PAPER_CONFIG),
        "--root",
        str(root),
        "--data",
        str(root / "market"),
        *extra,
    ]


def test_validation_replays_only_bars_after_training_end(trained: Trained, copied):
    store, model_id = copied
    clock = ManualClock(TRAINED_AT + timedelta(days=1))
    report, replay = validate_model(
        trained.config,
        store,
        model_id,
        trained.bars,
        thresholds=GateThresholds(),
        clock=clock,
    )
    assert replay is not None
    end = trained.result.training_end.timestamp()
    assert replay.start >= end
    assert replay.result.times[0] > end
    assert all(s.time > end for s in replay.result.signals)
    figures = performance(
        replay.result.times,
        replay.result.equity,
        replay.result.starting_equity,
        replay.result.traded_notional_usd,
    )
    assert report.checks["oos_sharpe"] == pytest.approx(figures.oos_sharpe)
    assert report.checks["annual_turnover"] == pytest.approx(figures.annual_turnover)
    assert report.checks["oos_days"] >= MIN_OOS_DAYS
    assert report.checks["oos_kill_switch_trips"] == replay.result.kill_switch_trips
    failed = {g.name for g in report.gates if not g.passed}
    assert report.passed is (not failed)
    assert {f.split(" ")[0] for f in report.failures} == failed
    assert report.sha256 == store.verify_candidate(model_id)
    saved = json.loads(store.validation_path(model_id).read_text())
    assert saved["model_id"] == model_id and set(saved["checks"]) >= {
        "integrity",
        "oos_sharpe",
        "max_drawdown",
        "tail_loss",
        "annual_turnover",
        "oos_kill_switch_trips",
    }


def test_the_command_reports_each_gate_and_exits_by_the_verdict(
    copied, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    code = validate_command(args(store, "--model-id", model_id))
    out = capsys.readouterr().out
    report = store.read_validation(model_id)
    assert report is not None
    assert code == (0 if report.passed else 1)
    for gate in ("integrity", "schema", "oos_sharpe", "max_drawdown", "tail_loss", "turnover"):
        assert gate in out
    trips = report.checks["oos_kill_switch_trips"]
    assert f"{report.checks['oos_trades']:.0f} trades, {trips:.0f} kill-switch trips" in out
    assert str(store.validation_path(model_id)) in out


def test_a_malformed_model_id_is_bad_input_and_no_report_is_written(
    store: ArtifactStore, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exited:
        validate_command(at_root(store, "--model-id", "../approved/model_x"))
    assert exited.value.code == 2
    assert "'../approved/model_x' is not a model id" in capsys.readouterr().err
    assert not any(store.validations.rglob("*.json"))


def test_a_report_passed_under_lenient_flags_promotes_only_under_gates_as_lenient(
    copied, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    assert validate_command(args(store, "--model-id", model_id, *LENIENT)) == 0
    report = store.read_validation(model_id)
    assert report is not None and report.passed
    assert {g.name: g.threshold for g in report.gates}["oos_sharpe"] == -1000
    promote = ["--env", "paper_kraken_crypto_global", "--model-id", model_id]
    promote += ["--reason", "gates passed", "--confirm", "yes-promote"]
    # The flags loosened the report, not the environment: its own gates still hold.
    assert promote_command(at_root(store, *promote)) == 1
    assert "(GatesUnmet)" in capsys.readouterr().err
    assert store.read_pointer() is None
    assert promote_command(with_lenient_gates(store, tmp_path, *promote)) == 0
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == model_id
    assert pointer.sha256 == report.sha256


def test_a_tampered_candidate_fails_integrity_and_cannot_be_promoted(
    copied, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    model_file = store.candidates / model_id / "model.skops"
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    assert validate_command(args(store, "--model-id", model_id, *LENIENT)) == 1
    report = store.read_validation(model_id)
    assert report is not None
    assert report.checks == {"integrity": False}
    assert report.sha256 is None
    assert "model.skops does not match its sha256" in report.failures[0]
    promote = ["--env", "paper_kraken_crypto_global", "--model-id", model_id, "--confirm"]
    assert promote_command(at_root(store, *promote, "yes-promote")) == 1
    assert "CandidateTampered" in capsys.readouterr().err
    assert store.read_pointer() is None


def test_a_model_of_another_schema_fails_the_schema_check(trained: Trained, tmp_path: Path):
    _, store = store_at(tmp_path / "data")
    original = trained.result.candidate
    estimator = load_candidate_model(original).estimator
    spec = CandidateSpec(
        model_id="model_20210601_oldschema",
        created_at=TRAINED_AT,
        environment=store.env_id,
        feature_schema_version="model-inputs-v0",
        feature_names=MODEL_INPUT_NAMES,
        training_start=original.metadata.training_start,
        training_end=original.metadata.training_end,
    )
    save_candidate(store, estimator, spec, original.metrics, original.metadata.trusted_types)
    report, replay = validate_model(
        trained.config,
        store,
        spec.model_id,
        trained.bars,
        thresholds=GateThresholds(),
        clock=ManualClock(TRAINED_AT),
    )
    assert replay is None and not report.passed
    assert report.checks == {"integrity": True, "schema": False}
    assert "feature schema 'model-inputs-v0'" in report.failures[0]


def test_too_few_unseen_days_fail_validation(trained: Trained, tmp_path: Path):
    _, store = store_at(tmp_path / "data")
    original = trained.result.candidate
    last_close = max(int(b.time[-1]) for b in trained.bars.values()) + 3600
    spec = CandidateSpec(
        model_id="model_20210601_late",
        created_at=TRAINED_AT,
        environment=store.env_id,
        feature_schema_version=original.metadata.feature_schema_version,
        feature_names=MODEL_INPUT_NAMES,
        training_start=original.metadata.training_start,
        training_end=datetime.fromtimestamp(last_close, UTC) - timedelta(days=10),
    )
    estimator = load_candidate_model(original).estimator
    save_candidate(store, estimator, spec, original.metrics, original.metadata.trusted_types)
    report, _ = validate_model(
        trained.config,
        store,
        spec.model_id,
        trained.bars,
        thresholds=GateThresholds(),
        clock=ManualClock(TRAINED_AT),
    )
    assert not report.passed
    assert report.checks["oos_days"] == pytest.approx(10.0)
    assert report.failures[0].startswith("oos_days 10.0 < 30")


def test_the_approved_model_is_revalidated_beside_its_candidate_report(
    copied, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    assert validate_command(args(store, "--model-id", model_id, *LENIENT)) == 0
    promote = ["--env", "paper_kraken_crypto_global", "--model-id", model_id]
    promote += ["--confirm", "yes-promote"]
    assert promote_command(with_lenient_gates(store, tmp_path, *promote)) == 0
    before = store.validation_path(model_id).read_bytes()
    capsys.readouterr()
    code = validate_command(args(store, "--approved"))
    report_line = next(line for line in capsys.readouterr().out.splitlines() if "report:" in line)
    written = Path(report_line.split("report: ")[1])
    assert written.parent == store.validations / "approved" / store.env_id
    assert json.loads(written.read_text())["model_id"] == model_id
    assert code in (0, 1)
    assert store.validation_path(model_id).read_bytes() == before
    validated = [r for r in store.registry_records() if r.event is RegistryEvent.VALIDATED]
    assert validated[-1].details["approved_model"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model-id", "model_20210601_absent"], "no candidate model_20210601_absent"),
        (["--model-id", "model_x", "--max-drawdown", "2"], "bad threshold"),
    ],
)
def test_bad_input_exits_2(copied, capsys: pytest.CaptureFixture[str], extra, message):
    store, _ = copied
    assert validate_command(args(store, *extra)) == 2
    assert message in capsys.readouterr().err


def test_an_environment_without_an_approved_model_has_nothing_to_validate(
    copied, capsys: pytest.CaptureFixture[str]
):
    store, _ = copied
    assert validate_command(args(store, "--approved")) == 0
    assert "trades rules-only" in capsys.readouterr().out


def test_an_approved_model_replaced_by_other_whole_files_fails_integrity(
    trained: Trained, copied, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    assert validate_command(args(store, "--model-id", model_id, *LENIENT)) == 0
    promote = ["--env", "paper_kraken_crypto_global", "--model-id", model_id]
    promote += ["--confirm", "yes-promote"]
    assert promote_command(with_lenient_gates(store, tmp_path, *promote)) == 0
    # Someone rewrites the candidate with a consistent manifest: whole, but not what was approved.
    original = trained.result.candidate
    shutil.rmtree(store.candidates / model_id)
    estimator = load_candidate_model(original).estimator
    spec = CandidateSpec(
        model_id=model_id,
        created_at=TRAINED_AT,
        environment=store.env_id,
        feature_schema_version=original.metadata.feature_schema_version,
        feature_names=MODEL_INPUT_NAMES,
        training_start=original.metadata.training_start,
        training_end=original.metadata.training_end - timedelta(days=1),
    )
    save_candidate(store, estimator, spec, original.metrics, original.metadata.trusted_types)
    assert validate_command(args(store, "--approved", *LENIENT)) == 1
    assert "differs from the expected" in capsys.readouterr().out


def test_the_report_replays_each_policy_on_the_same_bars_and_seed_and_like_ties_exactly(
    trained: Trained, copied
):
    store, model_id = copied
    clock = ManualClock(TRAINED_AT + timedelta(days=1))
    report, replay = validate_model(
        trained.config, store, model_id, trained.bars, thresholds=GateThresholds(), clock=clock
    )
    assert replay is not None and report.seed is not None
    assert [p.policy for p in report.policies] == list(Policy)
    challenger = report.figures(Policy.CHALLENGER)
    assert challenger is not None and challenger.model_id == model_id
    assert challenger.oos_sharpe == report.checks["oos_sharpe"]
    assert challenger.sharpe.days == len(np.unique(replay.result.times // 86_400))
    # No approved model: the champion is rules-only, and the same rules on the same seed tie.
    champion, rules = report.figures(Policy.CHAMPION), report.figures(Policy.RULES_ONLY)
    assert champion is not None and champion.model_id is None
    assert champion.model_copy(update={"policy": Policy.RULES_ONLY}) == rules
    assert set(replay.others) == {Policy.CHAMPION, Policy.RULES_ONLY}


def test_the_approved_model_validated_again_is_its_own_champion(trained: Trained, copied):
    store, model_id = copied
    candidate = store.open_candidate(model_id)
    store.write_pointer(factories.pointer(candidate, promotion="mp-0", env_id=store.env_id))
    clock = ManualClock(TRAINED_AT + timedelta(days=1))
    report, _ = validate_model(
        trained.config,
        store,
        model_id,
        trained.bars,
        thresholds=GateThresholds(must_beat_approved=True),
        clock=clock,
        approved=True,
        expected_sha256=candidate.sha256,
    )
    challenger, champion = report.figures(Policy.CHALLENGER), report.figures(Policy.CHAMPION)
    assert champion is not None and champion.model_id == model_id
    assert champion.model_copy(update={"policy": Policy.CHALLENGER}) == challenger
    ties = {g.name: (g.value, g.passed) for g in report.gates if g.name.startswith("beats")}
    assert ties == {"beats_approved_sharpe": (0.0, True), "beats_approved_drawdown": (0.0, True)}
