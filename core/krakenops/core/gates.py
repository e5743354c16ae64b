"""The validation gates as one rule: a measured value against an environment's thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping

from krakenops.core.config import GateThresholds
from krakenops.core.records import GateCheck, ValidationReport

__all__ = ["GATES", "gate_checks", "unmet_gates"]

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


def unmet_gates(report: ValidationReport, thresholds: GateThresholds) -> list[str]:
    """Each gate of `thresholds` the report's measured values miss, named with its spec field.

    The thresholds the report was made under do not count: whoever moves a pointer holds the
    values to the gates of the environment whose pointer moves. A value the report lacks fails.
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
    return unmet
