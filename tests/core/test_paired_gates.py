"""The optional gates: the challenger held to the champion on the same bars, and to a confidence."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.confidence import probabilistic_sharpe
from krakenops.core.config import ArtifactSettings, GateThresholds
from krakenops.core.gates import paired_gates, unmet_gates
from krakenops.core.promotion import PromotionRequest, PromotionService, Refusal
from krakenops.core.records import (
    Action,
    ApprovedPointer,
    Policy,
    PolicyFigures,
    SharpeSample,
    ValidationReport,
)
from tests import factories

SHA_A, SHA_B = "a" * 64, "b" * 64
SAMPLES = st.builds(
    SharpeSample,
    days=st.integers(0, 400),
    skew=st.floats(-3, 3),
    kurtosis=st.floats(1, 30),
    low=st.floats(-10, 10),
    high=st.floats(-10, 10),
    confidence=st.floats(0, 1),
)
FIGURES = st.builds(
    PolicyFigures,
    policy=st.just(Policy.CHALLENGER),
    model_id=st.just("model_x"),
    sha256=st.just(SHA_A),
    oos_sharpe=st.floats(-5, 5),
    max_drawdown=st.floats(0, 1),
    tail_loss=st.floats(0, 0.3),
    annual_turnover=st.floats(0, 50),
    total_return=st.floats(-1, 3),
    trades=st.integers(0, 500),
    sharpe=SAMPLES,
)


def approved(model_id: str = "model_champ", sha256: str = SHA_B) -> ApprovedPointer:
    return ApprovedPointer(
        model_id=model_id,
        sha256=sha256,
        promoted_at=factories.WHEN,
        promoted_by="live_kraken_crypto_global",
        candidate_path=f"/data/models/candidates/{model_id}",
        promotion="mp-0",
    )


def as_champion(figures: PolicyFigures, pointer: ApprovedPointer | None) -> PolicyFigures:
    """The same replay, as the champion's: the approved model's id, or rules-only without one."""
    return figures.model_copy(
        update={
            "policy": Policy.CHAMPION,
            "model_id": pointer.model_id if pointer else None,
            "sha256": pointer.sha256 if pointer else None,
        }
    )


@given(
    challenger=FIGURES,
    champion=st.one_of(st.none(), FIGURES),
    pointer=st.one_of(st.none(), st.just(approved())),
)
def test_gates_left_at_their_defaults_add_no_check_and_refuse_nothing(
    challenger, champion, pointer
):
    policies = [challenger] + ([as_champion(champion, pointer)] if champion else [])
    assert paired_gates(policies, GateThresholds(), champion=pointer) == []
    report = factories.report("model_x", SHA_A).model_copy(update={"policies": policies})
    assert unmet_gates(report, GateThresholds(), champion=pointer) == []


@given(figures=FIGURES, pointer=st.one_of(st.none(), st.just(approved())))
def test_a_challenger_identical_to_the_champion_ties_exactly_and_passes(figures, pointer):
    policies = [figures, as_champion(figures, pointer)]
    checks = paired_gates(policies, GateThresholds(must_beat_approved=True), champion=pointer)
    assert [(c.name, c.value, c.passed, why) for c, why in checks] == [
        ("beats_approved_sharpe", 0.0, True, ""),
        ("beats_approved_drawdown", 0.0, True, ""),
    ]


@given(challenger=FIGURES, champion=FIGURES)
def test_must_beat_approved_holds_exactly_when_sharpe_and_drawdown_are_no_worse(
    challenger, champion
):
    pointer = approved()
    policies = [challenger, as_champion(champion, pointer)]
    checks = paired_gates(policies, GateThresholds(must_beat_approved=True), champion=pointer)
    held = all(c.passed for c, _ in checks)
    assert held == (
        challenger.oos_sharpe >= champion.oos_sharpe
        and challenger.max_drawdown <= champion.max_drawdown
    )


@given(figures=FIGURES)
def test_a_report_against_another_champion_than_the_approved_model_now_fails_closed(figures):
    thresholds = GateThresholds(must_beat_approved=True)
    was = as_champion(figures, approved("model_old", SHA_A))
    for now in (approved(), None):
        (check, why), *_ = paired_gates([figures, was], thresholds, champion=now)
        assert not check.passed
        assert "compares against model_old" in why
    (check, why), *_ = paired_gates([figures], thresholds, champion=None)
    assert not check.passed and "compares against nothing" in why


@given(figures=FIGURES, floor=st.floats(0, 1), gate=st.floats(-1, 2))
def test_the_confidence_gate_is_recomputed_against_the_moving_environments_sharpe_gate(
    figures, floor, gate
):
    thresholds = GateThresholds(min_oos_sharpe=gate, min_sharpe_confidence=floor)
    [(check, why)] = paired_gates([figures], thresholds, champion=None)
    s = figures.sharpe
    odds = probabilistic_sharpe(figures.oos_sharpe, s.days, s.skew, s.kurtosis, gate)
    assert (check.value, check.passed, why == "") == (odds, odds >= floor, odds >= floor)


def test_a_promotion_held_to_must_beat_approved_is_refused_when_the_champion_did_better(
    tmp_path: Path,
):
    store = ArtifactStore(ArtifactSettings(root=tmp_path), "live_kraken_crypto_global")
    store.ensure_layout()
    champ = factories.candidate(store, "model_20260101_champ", b"champion")
    store.write_pointer(factories.pointer(champ, promotion="mp-0", env_id=store.env_id))
    challenger = factories.candidate(store, "model_20260205_chall", b"challenger")
    figures = PolicyFigures(
        policy=Policy.CHALLENGER,
        model_id=challenger.model_id,
        sha256=challenger.sha256,
        oos_sharpe=0.9,
        max_drawdown=0.1,
        tail_loss=0.03,
        annual_turnover=1.5,
        total_return=0.02,
        trades=12,
        sharpe=SharpeSample(days=90, skew=0, kurtosis=3, low=-2, high=4, confidence=0.6),
    )
    better = figures.model_copy(
        update={
            "policy": Policy.CHAMPION,
            "model_id": champ.model_id,
            "sha256": champ.sha256,
            "oos_sharpe": 1.4,
        }
    )
    report: ValidationReport = factories.report(challenger.model_id, challenger.sha256)
    store.write_validation(report.model_copy(update={"policies": [figures, better]}))
    request = PromotionRequest(Action.PROMOTE, "yes-promote", "mp-1", challenger.model_id)
    strict = PromotionService(
        store, ManualClock(factories.WHEN), GateThresholds(must_beat_approved=True)
    )
    outcome = strict.execute(request)
    assert outcome.refusals == (Refusal.GATES_UNMET,)
    assert (
        "beats_approved_sharpe: Sharpe worse than model_20260101_champ's by 0.5"
        in (outcome.messages[0])
    )
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == champ.model_id
    # The same report under the default gates moves the pointer: the gate is off unless asked for.
    lenient = PromotionService(store, ManualClock(factories.WHEN), GateThresholds())
    assert lenient.execute(request).applied
