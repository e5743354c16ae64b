"""The promotion service: the pointer moves if and only if every condition holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.clock import ManualClock
from krakenops.core.config import GateThresholds
from krakenops.core.promotion import (
    PromotionOutcome,
    PromotionRequest,
    PromotionService,
    Refusal,
    decide,
)
from krakenops.core.records import Action, ValidationReport
from tests import factories

SHA_A, SHA_B = "a" * 64, "b" * 64


GATE_VALUES = {
    "oos_sharpe": st.sampled_from([-1.0, 0.49, 0.5, 0.8, 3.0]),
    "max_drawdown": st.sampled_from([0.0, 0.1, 0.15, 0.2, 0.9]),
    "tail_loss": st.sampled_from([0.01, 0.05, 0.06]),
    "annual_turnover": st.sampled_from([0.5, 2.0, 7.5, 1e6]),
}
THRESHOLDS = st.builds(
    GateThresholds,
    min_oos_sharpe=st.sampled_from([-1.0, 0.5, 1.0]),
    max_drawdown=st.sampled_from([0.1, 0.15, 1.0]),
    max_tail_loss=st.sampled_from([0.05, 1.0]),
    max_turnover=st.sampled_from([2.0, 1e6]),
)


def meets(values: dict[str, float], gates: GateThresholds) -> bool:
    return (
        values["oos_sharpe"] >= gates.min_oos_sharpe
        and values["max_drawdown"] <= gates.max_drawdown
        and values["tail_loss"] <= gates.max_tail_loss
        and values["annual_turnover"] <= gates.max_turnover
    )


@settings(max_examples=3000)
@given(
    action=st.sampled_from(Action),
    confirm=st.sampled_from([None, "", "yes-promote", "yes-rollback", "yes", "YES-PROMOTE"]),
    has_report=st.booleans(),
    passed=st.booleans(),
    failures=st.lists(st.just("oos_sharpe"), max_size=1),
    report_sha=st.sampled_from([None, SHA_A, SHA_B]),
    candidate_sha=st.sampled_from([None, SHA_A]),
    report_model=st.sampled_from(["model_x", "model_y"]),
    values=st.fixed_dictionaries(GATE_VALUES),
    measured=st.sets(st.sampled_from(sorted(GATE_VALUES))),
    gates=THRESHOLDS,
)
def test_decide_allows_exactly_when_all_conditions_hold(
    action,
    confirm,
    has_report,
    passed,
    failures,
    report_sha,
    candidate_sha,
    report_model,
    values,
    measured,
    gates,
):
    report = (
        ValidationReport(
            model_id=report_model,
            passed=passed,
            checks={k: v for k, v in values.items() if k in measured},
            failures=failures,
            sha256=report_sha,
        )
        if has_report
        else None
    )
    allowed = not decide(
        action, confirm, report, candidate_sha, gates=gates, champion=None, model_id="model_x"
    )
    confirmed = confirm == f"yes-{action.value}"
    if action is Action.PROMOTE:
        valid = report is not None and passed and not failures
        # The moving environment's gates hold for every value, and every value was measured.
        held = measured == set(GATE_VALUES) and meets(values, gates)
        intact = candidate_sha is not None and report_sha == candidate_sha
        assert allowed == (confirmed and valid and held and intact and report_model == "model_x")
    else:
        assert allowed == confirmed


def promote(
    service: PromotionService, model_id: str, request_id: str, confirm: str = "yes-promote"
):
    return service.execute(PromotionRequest(Action.PROMOTE, confirm, request_id, model_id, "test"))


def validated_pair(store: ArtifactStore) -> tuple[Candidate, Candidate]:
    """Two candidates, each with a passing validation for its own sha256."""
    first = factories.candidate(store, "model_20260205_first")
    second = factories.candidate(store, "model_20260205_second", payload=b"other")
    for written in (first, second):
        store.write_validation(factories.report(written.model_id, written.sha256))
    return first, second


def test_promotion_writes_pointer_keeps_previous_and_audits(
    store: ArtifactStore, clock: ManualClock
):
    service = PromotionService(store, clock, GateThresholds())
    first, second = validated_pair(store)
    assert promote(service, first.model_id, "mp-1").applied
    outcome = promote(service, second.model_id, "mp-2")
    assert outcome.applied
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == second.model_id
    assert pointer.sha256 == second.sha256 and pointer.promotion == "mp-2"
    previous = store.read_previous_pointer()
    assert previous is not None and previous.model_id == first.model_id
    audit = list(store.audit_records())
    assert [(r.action, r.to_model, r.from_model) for r in audit] == [
        (Action.PROMOTE, first.model_id, None),
        (Action.PROMOTE, second.model_id, first.model_id),
    ]


def test_promotion_refused_when_sha256_differs(store: ArtifactStore, clock: ManualClock):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, "c" * 64))
    outcome = promote(PromotionService(store, clock, GateThresholds()), written.model_id, "mp-1")
    assert not outcome.applied
    assert outcome.refusals == (Refusal.SHA256_MISMATCH,)
    assert store.read_pointer() is None


def test_promotion_refused_when_candidate_was_tampered(store: ArtifactStore, clock: ManualClock):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256))
    written.model_file.write_bytes(b"tampered")
    outcome = promote(PromotionService(store, clock, GateThresholds()), written.model_id, "mp-1")
    assert Refusal.CANDIDATE_TAMPERED in outcome.refusals
    assert "does not match its sha256" in outcome.explain()
    assert store.read_pointer() is None


def test_promotion_refusals_name_every_unmet_condition(store: ArtifactStore, clock: ManualClock):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256, passed=False))
    outcome = promote(
        PromotionService(store, clock, GateThresholds()), written.model_id, "mp-1", confirm="yes"
    )
    assert set(outcome.refusals) == {
        Refusal.CONFIRMATION_MISMATCH,
        Refusal.VALIDATION_FAILED,
        Refusal.GATES_UNMET,
    }
    assert "needs 'yes-promote'" in outcome.explain()
    assert "oos_sharpe" in outcome.explain()
    refused = [r for r in store.registry_records() if r.event == "refused"]
    assert refused and refused[-1].details["promotion"] == "mp-1"


def test_missing_candidate_and_missing_report_are_refused(store: ArtifactStore, clock: ManualClock):
    service = PromotionService(store, clock, GateThresholds())
    assert promote(service, "model_20260205_absent", "mp-1").refusals == (
        Refusal.CANDIDATE_MISSING,
    )
    written = factories.candidate(store, "model_20260205_abc123")
    assert promote(service, written.model_id, "mp-2").refusals == (Refusal.VALIDATION_MISSING,)


def test_retrying_an_applied_request_changes_nothing(store: ArtifactStore, clock: ManualClock):
    service = PromotionService(store, clock, GateThresholds())
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256))
    promote(service, written.model_id, "mp-1")
    again = promote(service, written.model_id, "mp-1")
    assert again.applied and again.already_applied
    assert len(list(store.audit_records())) == 1


def test_rollback_restores_previous_and_needs_its_own_confirmation(
    store: ArtifactStore, clock: ManualClock
):
    service = PromotionService(store, clock, GateThresholds())
    first, second = validated_pair(store)
    promote(service, first.model_id, "mp-1")
    promote(service, second.model_id, "mp-2")
    refused = service.execute(PromotionRequest(Action.ROLLBACK, "yes-promote", "rb-0"))
    assert refused.refusals == (Refusal.CONFIRMATION_MISMATCH,)
    outcome = service.execute(
        PromotionRequest(Action.ROLLBACK, "yes-rollback", "rb-1", reason="bad fills")
    )
    assert outcome.applied
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == first.model_id
    assert store.read_previous_pointer() is None
    last = list(store.audit_records())[-1]
    assert (last.action, last.from_model, last.to_model) == (
        Action.ROLLBACK,
        second.model_id,
        first.model_id,
    )
    again = service.execute(PromotionRequest(Action.ROLLBACK, "yes-rollback", "rb-2"))
    assert again.refusals == (Refusal.NO_PREVIOUS_MODEL,)


def test_rollback_to_a_tampered_model_is_refused(store: ArtifactStore, clock: ManualClock):
    service = PromotionService(store, clock, GateThresholds())
    first, second = validated_pair(store)
    promote(service, first.model_id, "mp-1")
    promote(service, second.model_id, "mp-2")
    first.model_file.write_bytes(b"tampered")
    outcome = service.execute(PromotionRequest(Action.ROLLBACK, "yes-rollback", "rb-1"))
    assert outcome.refusals == (Refusal.CANDIDATE_TAMPERED,)
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == second.model_id


def test_a_malformed_model_id_is_refused_and_the_refusal_recorded(
    store: ArtifactStore, clock: ManualClock
):
    # A name that would reach outside the candidates folder, were it taken for a path.
    outcome = promote(PromotionService(store, clock, GateThresholds()), "../pointer", "mp-1")
    assert outcome.refusals == (Refusal.CANDIDATE_MISSING,)
    assert "'../pointer' is not a model id" in outcome.explain()
    assert store.read_pointer() is None
    refused = list(store.registry_records())[-1]
    assert refused.event == "refused" and refused.model_id is None
    assert refused.details["requested_model_id"] == "../pointer"


def rollback(service: PromotionService, request_id: str) -> PromotionOutcome:
    return service.execute(PromotionRequest(Action.ROLLBACK, "yes-rollback", request_id))


def three_validated(store: ArtifactStore) -> tuple[str, str, str]:
    first, second = validated_pair(store)
    third = factories.candidate(store, "model_20260205_third", payload=b"third")
    store.write_validation(factories.report(third.model_id, third.sha256))
    return first.model_id, second.model_id, third.model_id


def a_then_b(store: ArtifactStore, clock: ManualClock) -> tuple[PromotionService, str, str, str]:
    """A service whose environment promoted a, then b; c is validated and waiting."""
    service = PromotionService(store, clock, GateThresholds())
    a, b, c = three_validated(store)
    promote(service, a, "mp-a")
    promote(service, b, "mp-b")
    return service, a, b, c


def pointed(store: ArtifactStore) -> tuple[str | None, str | None]:
    """The model in force and the one a rollback would restore, as the files on disk say."""
    pointer, previous = store.read_pointer(), store.read_previous_pointer()
    return (pointer.model_id if pointer else None, previous.model_id if previous else None)


def test_a_retry_changes_nothing_though_later_requests_moved_the_pointer(
    store: ArtifactStore, clock: ManualClock
):
    service, a, b, c = a_then_b(store, clock)
    rollback(service, "rb-1")
    promote(service, c, "mp-c")
    assert pointed(store) == (c, a)

    # A restarted operator handles requests whose status it never wrote, in any order.
    for retried in (rollback(service, "rb-1"), promote(service, b, "mp-b")):
        assert retried.applied and retried.already_applied
        assert retried.pointer is not None and retried.pointer.model_id == c
    assert pointed(store) == (c, a)
    assert [r.promotion for r in store.audit_records()] == ["mp-a", "mp-b", "rb-1", "mp-c"]
    again = rollback(service, "rb-1").change
    assert again is not None and (again.from_model, again.to_model) == (b, a)


def test_a_crash_after_the_pointer_write_loses_neither_the_audit_line_nor_the_rollback_target(
    store: ArtifactStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
):
    service, a, b, c = a_then_b(store, clock)

    def killed(self: ArtifactStore, pointer: object) -> None:
        raise KeyboardInterrupt("killed after the pointer was written")

    with monkeypatch.context() as patched:
        patched.setattr(ArtifactStore, "write_previous_pointer", killed)
        with pytest.raises(KeyboardInterrupt):
            promote(service, c, "mp-c")
    assert pointed(store) == (c, a), "the previous file still mirrors the pointer before"
    assert [r.promotion for r in store.audit_records()] == ["mp-a", "mp-b"]
    crashed_at = clock.now()

    clock.advance(timedelta(hours=1))
    outcome = rollback(service, "rb-1")
    assert outcome.applied
    assert pointed(store) == (b, None), "the rollback restores the model the pointer replaced"
    audit = [(r.promotion, r.from_model, r.to_model) for r in store.audit_records()]
    assert audit == [("mp-a", None, a), ("mp-b", a, b), ("mp-c", b, c), ("rb-1", c, b)]
    settled = next(r for r in store.audit_records() if r.promotion == "mp-c")
    assert settled.timestamp == crashed_at, "the line says when the pointer moved"


def test_promoting_the_approved_model_again_keeps_the_rollback_target(
    store: ArtifactStore, clock: ManualClock
):
    service, a, b, _ = a_then_b(store, clock)
    assert promote(service, b, "mp-b-again").applied
    assert pointed(store) == (b, a)
    rollback(service, "rb-1")
    assert pointed(store) == (a, None)


def test_a_pointer_written_before_pointers_kept_their_previous_rolls_back_to_the_previous_file(
    store: ArtifactStore, clock: ManualClock
):
    first, second = validated_pair(store)
    store.write_pointer(factories.pointer(second, promotion="older-release"))
    store.write_previous_pointer(factories.pointer(first, promotion="older-release-before"))
    outcome = rollback(PromotionService(store, clock, GateThresholds()), "rb-1")
    assert outcome.applied
    assert pointed(store) == (first.model_id, None)


def test_a_crash_between_the_audit_line_and_the_registry_line_is_settled_by_the_next_request(
    store: ArtifactStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
):
    service = PromotionService(store, clock, GateThresholds())
    first, _ = validated_pair(store)
    append_registry = store.append_registry

    def killed(record: object) -> None:
        raise SystemExit("killed after the audit line")

    monkeypatch.setattr(store, "append_registry", killed)
    with pytest.raises(SystemExit):
        promote(service, first.model_id, "mp-1")
    monkeypatch.setattr(store, "append_registry", append_registry)
    assert [r.promotion for r in store.audit_records()] == ["mp-1"]
    # Any later request, even one refused, first finishes what the crash cut short.
    promote(service, first.model_id, "mp-2", confirm="no")
    promoted = [r for r in store.registry_records() if r.event == "promoted"]
    assert [(r.model_id, r.details["promotion"]) for r in promoted] == [(first.model_id, "mp-1")]
    promote(service, first.model_id, "mp-3", confirm="no")
    assert len([r for r in store.registry_records() if r.event == "promoted"]) == 1
