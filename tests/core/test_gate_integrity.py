"""A pointer moves only if the moving environment's gates hold for the candidate's current sha256."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.clock import ManualClock
from krakenops.core.config import ArtifactSettings, GateThresholds
from krakenops.core.gates import gate_checks, unmet_gates
from krakenops.core.promotion import PromotionRequest, PromotionService, Refusal
from krakenops.core.records import Action, ValidationReport
from tests import factories

ENVIRONMENTS = ("paper_kraken_crypto_global", "live_kraken_crypto_global")
VALUES = st.fixed_dictionaries(
    {
        "oos_sharpe": st.floats(-3, 3),
        "max_drawdown": st.floats(0, 1),
        "tail_loss": st.floats(0, 0.2),
        "annual_turnover": st.floats(0, 20),
    }
)
THRESHOLDS = st.builds(
    GateThresholds,
    min_oos_sharpe=st.floats(-1, 2),
    max_drawdown=st.floats(0.01, 1),
    max_tail_loss=st.floats(0.01, 1),
    # The loosened flag of the report that was promoted to live: `--max-turnover 1000000`.
    max_turnover=st.sampled_from([0.5, 2.0, 10.0, 1e6]),
)


def made_under(
    candidate: Candidate, values: dict[str, float], thresholds: GateThresholds, sha: str
):
    """The report `krakenops validate` writes for these measured values under these thresholds."""
    checks = gate_checks(values, thresholds)
    failures = [f"{c.name} {c.value} vs {c.threshold}" for c in checks if not c.passed]
    return ValidationReport(
        model_id=candidate.model_id,
        passed=not failures,
        checks={"integrity": True, **values},
        failures=failures,
        sha256=sha,
        gates=checks,
    )


class Shared:
    """One artifact root shared by both environments, with one candidate."""

    def __init__(self, root: Path) -> None:
        settings_ = ArtifactSettings(root=root)
        self.stores = {env: ArtifactStore(settings_, env) for env in ENVIRONMENTS}
        for store in self.stores.values():
            store.ensure_layout()
        self.candidate = factories.candidate(self.stores[ENVIRONMENTS[0]], "model_20260205_gated")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    with factories.fast_root(tmp_path_factory, "shared") as root:
        yield Shared(root)


@factories.on_disk(300)
@given(
    values=VALUES,
    report_thresholds=THRESHOLDS,
    env_gates=st.fixed_dictionaries(dict.fromkeys(ENVIRONMENTS, THRESHOLDS)),
    moving=st.sampled_from(ENVIRONMENTS),
    stale_sha=st.booleans(),
)
def test_the_pointer_moves_only_if_the_moving_environments_gates_hold(
    shared: Shared, values, report_thresholds, env_gates, moving, stale_sha
):
    store, candidate = shared.stores[moving], shared.candidate
    store.pointer.unlink(missing_ok=True)
    sha = "b" * 64 if stale_sha else candidate.sha256
    report = made_under(candidate, values, report_thresholds, sha)
    store.write_validation(report)
    service = PromotionService(
        store, ManualClock(datetime(2026, 2, 5, tzinfo=UTC)), env_gates[moving]
    )
    request = PromotionRequest(
        Action.PROMOTE, "yes-promote", f"mp-{uuid.uuid4().hex}", candidate.model_id
    )
    outcome = service.execute(request)
    held = not unmet_gates(report, env_gates[moving], champion=None)
    expected = report.passed and held and not stale_sha
    assert outcome.applied == expected
    pointer = store.read_pointer()
    assert (pointer is not None and pointer.model_id == candidate.model_id) == expected
    if report.passed and not held:
        assert Refusal.GATES_UNMET in outcome.refusals


def test_a_report_made_under_a_loosened_turnover_does_not_promote_to_live(shared: Shared):
    store, candidate = shared.stores["live_kraken_crypto_global"], shared.candidate
    store.pointer.unlink(missing_ok=True)
    values = {"oos_sharpe": 1.0, "max_drawdown": 0.1, "tail_loss": 0.02, "annual_turnover": 7.5}
    loose = GateThresholds(max_turnover=1_000_000)
    store.write_validation(made_under(candidate, values, loose, candidate.sha256))
    service = PromotionService(store, ManualClock(factories.WHEN), GateThresholds())
    outcome = service.execute(
        PromotionRequest(Action.PROMOTE, "yes-promote", "mp-loose", candidate.model_id)
    )
    assert outcome.refusals == (Refusal.GATES_UNMET,)
    assert "annual_turnover 7.5 > 2 (spec.trainer.gates.maxTurnover 2)" in outcome.explain()
    assert store.read_pointer() is None


def test_a_report_for_another_model_is_refused(shared: Shared):
    store, candidate = shared.stores["live_kraken_crypto_global"], shared.candidate
    store.pointer.unlink(missing_ok=True)
    copied = factories.report("model_20260101_other", candidate.sha256)
    store.validation_path(candidate.model_id).write_text(copied.model_dump_json())
    service = PromotionService(store, ManualClock(factories.WHEN), GateThresholds())
    outcome = service.execute(
        PromotionRequest(Action.PROMOTE, "yes-promote", "mp-copied", candidate.model_id)
    )
    assert outcome.refusals == (Refusal.REPORT_MISMATCH,)
    assert "is about model_20260101_other" in outcome.explain()


def test_every_unmet_gate_is_named():
    report = ValidationReport(
        model_id="model_x",
        passed=True,
        checks={"oos_sharpe": 0.1, "max_drawdown": 0.5, "annual_turnover": 7.5},
        failures=[],
    )
    assert unmet_gates(report, GateThresholds(), champion=None) == [
        "oos_sharpe 0.1 < 0.5 (spec.trainer.gates.minOosSharpe 0.5)",
        "max_drawdown 0.5 > 0.15 (spec.trainer.gates.maxDrawdown 0.15)",
        "tail_loss was not measured (spec.trainer.gates.maxTailLoss 0.05)",
        "annual_turnover 7.5 > 2 (spec.trainer.gates.maxTurnover 2)",
    ]
