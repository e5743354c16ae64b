"""The validation gates as one rule: a measured value against an environment's thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from krakenops.core.confidence import probabilistic_sharpe
from krakenops.core.config import GateThresholds
from krakenops.core.records import (
    ApprovedPointer,
    GateCheck,
    Policy,
    PolicyFigures,
    ValidationReport,
    figures_of,
)

__all__ = ["GATES", "gate_checks", "paired_gates", "unmet_gates"]

# (measured value's name, threshold field, its spec name, whether the value must reach it)
GATES: tuple[tuple[str, str, str, bool], ...] = (
    ("oos_sharpe", "min_oos_sharpe", "minOosSharpe", True),
    ("max_drawdown", "max_drawdown", "maxDrawdown", False),
    ("tail_loss", "max_tail_loss", "maxTailLoss", False),
    ("annual_turnover", "max_turnover", "maxTurnover", False),
)


def gate_checks(values: Mapping[str, float], thresholds: GateThresholds) -> list[GateCheck]:
    """One check per gate; a value that is not a finite number fails its gate."""
    checks = []
    for name, field, _, at_least in GATES:
        value, threshold = values[name], getattr(thresholds, field)
        passed = math.isfinite(value) and (value >= threshold if at_least else value <= threshold)
        checks.append(GateCheck(name=name, value=value, threshold=threshold, passed=passed))
    return checks


def unmet_gates(
    report: ValidationReport, thresholds: GateThresholds, *, champion: ApprovedPointer | None
) -> list[str]:
    """Each gate of `thresholds` the report's measured values miss, named with its spec field.

    The thresholds the report was made under do not count: whoever moves a pointer holds the
    values to the gates of the environment whose pointer moves, and `champion` is that
    environment's approved model now (None: it trades rules-only). A value the report lacks fails.
    """
    measured: dict[str, float | bool] = dict(report.checks)
    measured.update({g.name: g.value for g in report.gates})
    unmet = []
    for name, field, spec_name, at_least in GATES:
        threshold = getattr(thresholds, field)
        where = f"spec.trainer.gates.{spec_name} {threshold:g}"
        value = measured.get(name)
        # A bool is an int to Python; a gate's value is a measured number, never a verdict.
        if value is None or isinstance(value, bool) or not math.isfinite(value):
            unmet.append(f"{name} was not measured ({where})")
            continue
        if not (value >= threshold if at_least else value <= threshold):
            relation = "<" if at_least else ">"
            unmet.append(f"{name} {value:.4g} {relation} {threshold:g} ({where})")
    paired = paired_gates(report.policies, thresholds, champion=champion)
    unmet.extend(why for _, why in paired if why)
    return unmet


def paired_gates(
    policies: Sequence[PolicyFigures],
    thresholds: GateThresholds,
    *,
    champion: ApprovedPointer | None,
) -> list[tuple[GateCheck, str]]:
    """The optional gates that are on, each check with why it failed ('' when it held).

    `minSharpeConfidence`: the probabilistic Sharpe ratio of the challenger's daily returns
    against `minOosSharpe`, recomputed from the sample the report keeps. `mustBeatApproved`:
    the challenger's Sharpe and drawdown no worse than the champion's on the same bars, where
    the champion replayed must be `champion` as it is now.
    """
    results: list[tuple[GateCheck, str]] = []
    challenger = figures_of(policies, Policy.CHALLENGER)
    floor = thresholds.min_sharpe_confidence
    if floor is not None:
        where = f"spec.trainer.gates.minSharpeConfidence {floor:g}"
        if challenger is None:
            check = GateCheck(name="sharpe_confidence", value=0.0, threshold=floor, passed=False)
            results.append((check, f"sharpe_confidence was not measured ({where})"))
        else:
            sample = challenger.sharpe
            odds = probabilistic_sharpe(
                challenger.oos_sharpe,
                sample.days,
                sample.skew,
                sample.kurtosis,
                thresholds.min_oos_sharpe,
            )
            passed = odds >= floor
            why = (
                ""
                if passed
                else (
                    f"sharpe_confidence {odds:.3f} < {floor:g} that the Sharpe exceeds "
                    f"{thresholds.min_oos_sharpe:g} on {sample.days} days ({where})"
                )
            )
            check = GateCheck(name="sharpe_confidence", value=odds, threshold=floor, passed=passed)
            results.append((check, why))
    if thresholds.must_beat_approved:
        results.extend(_beats_approved(policies, challenger, champion))
    return results


def _beats_approved(
    policies: Sequence[PolicyFigures],
    challenger: PolicyFigures | None,
    champion: ApprovedPointer | None,
) -> list[tuple[GateCheck, str]]:
    where = "spec.trainer.gates.mustBeatApproved"
    replayed = figures_of(policies, Policy.CHAMPION)
    now = (champion.model_id, champion.sha256) if champion else (None, None)
    if replayed is None or challenger is None or (replayed.model_id, replayed.sha256) != now:
        shown = "nothing" if replayed is None else (replayed.model_id or "rules-only")
        check = GateCheck(name="beats_approved", value=False, threshold=True, passed=False)
        why = (
            f"beats_approved: the report compares against {shown}, the approved model is "
            f"{now[0] or 'rules-only'} ({where})"
        )
        return [(check, why)]
    sharpe = challenger.oos_sharpe - replayed.oos_sharpe
    drawdown = replayed.max_drawdown - challenger.max_drawdown
    named = replayed.model_id or "rules-only"
    results = []
    for name, margin, text in (
        ("beats_approved_sharpe", sharpe, "Sharpe"),
        ("beats_approved_drawdown", drawdown, "drawdown"),
    ):
        passed = math.isfinite(margin) and margin >= 0
        why = (
            "" if passed else f"{name}: {text} worse than {named}'s by {abs(margin):.4g} ({where})"
        )
        results.append((GateCheck(name=name, value=margin, threshold=0.0, passed=passed), why))
    return results
