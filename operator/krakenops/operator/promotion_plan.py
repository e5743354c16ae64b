"""The promotion plan: from what a ModelPromotion step found to its status and Events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.config import GateThresholds
from krakenops.core.gates import unmet_gates
from krakenops.core.promotion import PromotionOutcome
from krakenops.core.records import Action, Policy, ValidationReport
from krakenops.operator.conditions import Condition, merge_conditions, timestamp
from krakenops.operator.constants import ConditionType, EventReason, Reason
from krakenops.operator.events import Notice
from krakenops.operator.resources import ModelPromotion, ObjectMeta
from krakenops.operator.specs import TERMINAL_PHASES, ModelPromotionSpec, PromotionPhase
from krakenops.operator.status import PromotionStatus

__all__ = [
    "PromotionReport",
    "StillValidating",
    "parse_promotion",
    "passing_for",
    "report_outcome",
    "request_id",
    "validation_status",
]


class StillValidating(Exception):  # noqa: N818 - a state to wait in, not a failure
    """The validation Job runs; look again later."""


@dataclass
class PromotionReport:
    """The status to write and the Events to post, filled as the promotion advances."""

    phase: PromotionPhase | None = None
    # What the step found out: the validation report, the model it moved, the refusals.
    found: PromotionStatus = field(default_factory=PromotionStatus)
    conditions: list[Condition] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    environment_notices: list[Notice] = field(default_factory=list)
    environment: dict[str, Any] | None = None
    outcome: str | None = None

    def set(self, phase: PromotionPhase, reason: Reason, message: str) -> None:
        self.phase = phase
        done = phase in TERMINAL_PHASES or phase is PromotionPhase.AWAITING_CONFIRMATION
        stalled = phase is PromotionPhase.FAILED
        self.conditions = [
            Condition(
                ConditionType.READY,
                phase in (PromotionPhase.PROMOTED, PromotionPhase.ROLLED_BACK),
                reason,
                message,
            ),
            Condition(ConditionType.RECONCILING, not done, reason, message),
            Condition(ConditionType.STALLED, stalled, reason, message),
        ]

    def fail(self, error: BaseException, previous: PromotionPhase | None) -> None:
        """The phase stays where the step got to, Stalled says why, and Kopf retries; an outcome
        reached before the error (the pointer written) stands, and is counted once."""
        message = f"{type(error).__name__}: {error}"
        self.phase = self.phase or previous or PromotionPhase.PENDING
        reason = Reason.RECONCILE_FAILED
        self.conditions = [
            Condition(ConditionType.READY, False, reason, message),
            Condition(ConditionType.RECONCILING, False, reason, message),
            Condition(ConditionType.STALLED, True, reason, message),
        ]

    def final_status(self, body: Mapping[str, Any], now: datetime) -> PromotionStatus:
        """The status to write: what this step found, over the phase and conditions it ends in."""
        assert self.phase is not None
        previous = body.get("status") or {}
        generation = (body.get("metadata") or {}).get("generation")
        status = self.found.model_copy()
        status.phase = self.phase
        status.observed_generation = generation
        status.started_at = previous.get("startedAt") or timestamp(now)
        status.conditions = merge_conditions(
            self.conditions, previous.get("conditions"), generation, now
        )
        return status


def request_id(body: Mapping[str, Any]) -> str:
    """The pointer and the audit log name the exact object; a retry of it is recognised by this."""
    return ObjectMeta.model_validate(body["metadata"]).request_id


def parse_promotion(body: Mapping[str, Any], report: PromotionReport) -> ModelPromotion | None:
    """The typed resource, or None: a finished one is left alone, one that does not parse fails
    (the API server's schema refuses such a spec, so this is a last line)."""
    if (body.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return None
    try:
        promotion = ModelPromotion.model_validate(body)
    except ValidationError as error:
        report.set(PromotionPhase.FAILED, Reason.REJECTED, f"invalid spec: {error}")
        report.outcome = PromotionPhase.FAILED.value
        return None
    return promotion


def passing_for(
    store: ArtifactStore, report: ValidationReport | None, sha: str, gates: GateThresholds
) -> bool:
    """Whether `report` lets this environment promote the candidate of digest `sha`: one made
    under looser thresholds, or another environment's, is validated again under these gates."""
    return (
        report is not None
        and report.passed
        and not report.failures
        and report.sha256 == sha
        and not unmet_gates(report, gates, champion=store.read_pointer())
    )


def validation_status(
    store: ArtifactStore, report: ValidationReport, *, reused: bool
) -> dict[str, Any]:
    """The report as status.validation: each check with its value and threshold."""
    if report.gates:
        checks = [
            {
                "name": g.name,
                "value": float(g.value),
                "threshold": _number(g.threshold),
                "passed": g.passed,
            }
            for g in report.gates
        ]
    else:
        checks = [
            {"name": k, "value": float(v), "threshold": None, "passed": None}
            for k, v in report.checks.items()
        ]
    return {
        "passed": report.passed,
        "sha256": report.sha256,
        "validatedAt": timestamp(report.validated_at) if report.validated_at else None,
        "checks": checks,
        "failures": list(report.failures),
        "report": str(store.validation_path(report.model_id)),
        "reused": reused,
    } | _comparison(report)


def _number(value: float | bool | None) -> float | None:
    return None if value is None else float(value)


def report_outcome(
    spec: ModelPromotionSpec, outcome: PromotionOutcome, report: PromotionReport
) -> None:
    change = outcome.change
    if outcome.applied and outcome.pointer is not None and change is not None:
        # What this request changed; a retry of it reports the same, whatever came since.
        previous = change.from_model
        report.found.model = change.to_model
        report.found.sha256 = change.sha256
        report.found.previous_model = previous
        report.found.completed_at = timestamp(change.timestamp)
        if spec.action is Action.PROMOTE:
            phase, reason, event = PromotionPhase.PROMOTED, Reason.PROMOTED, EventReason.PROMOTED
        else:
            phase, reason, event = (
                PromotionPhase.ROLLED_BACK,
                Reason.ROLLED_BACK,
                EventReason.ROLLED_BACK,
            )
        message = (
            f"{spec.environment} now trades {change.to_model} (was {previous or 'none'})"
            if outcome.pointer.promotion == change.promotion
            else f"{spec.environment} took {change.to_model} (was {previous or 'none'}); "
            f"{outcome.pointer.model_id} has been approved since"
        )
        report.set(phase, reason, message)
        report.notices.append(Notice(event, message))
        report.environment_notices.append(Notice(event, message))
        report.outcome = phase.value
        return
    refusals = [r.value for r in outcome.refusals]
    message = outcome.explain()
    report.found.refusals = refusals
    report.set(PromotionPhase.REJECTED, Reason.REJECTED, message)
    report.notices.append(Notice(EventReason.REJECTED, message, warning=True))
    report.outcome = PromotionPhase.REJECTED.value


def _comparison(report: ValidationReport) -> dict[str, Any]:
    """The paired replays as status fields: `kubectl get mp` shows challenger and champion."""
    challenger = report.figures(Policy.CHALLENGER)
    champion = report.figures(Policy.CHAMPION)
    rules, held = report.figures(Policy.RULES_ONLY), report.figures(Policy.BUY_AND_HOLD)
    if challenger is None:
        return {}
    return {
        "challengerSharpe": challenger.oos_sharpe,
        "championSharpe": champion.oos_sharpe if champion else None,
        "champion": (champion.model_id or "rules-only") if champion else None,
        "rulesOnlySharpe": rules.oos_sharpe if rules else None,
        "buyAndHoldSharpe": held.oos_sharpe if held else None,
        "sharpeDays": challenger.sharpe.days,
        "sharpeConfidence": challenger.sharpe.confidence,
        "sharpeInterval": [challenger.sharpe.low, challenger.sharpe.high],
    }
