"""Validation: integrity, schema, then the gates over a replay of the whole policy on unseen data."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from krakenops.core.artifacts import ArtifactError, ArtifactStore, Candidate
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig, GateThresholds
from krakenops.core.gates import paired_gates
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.records import (
    ApprovedPointer,
    GateCheck,
    Policy,
    PolicyFigures,
    RegistryEvent,
    RegistryRecord,
    ValidationReport,
)
from krakenops.trader.model import load_candidate_model
from krakenops.trader.replay.backtest import BacktestResult
from krakenops.trainer.gates import DAY_SECONDS, evaluate_gates, performance
from krakenops.trainer.paired import (
    Contender,
    buy_and_hold,
    policy_figures,
    replay,
)

__all__ = ["MIN_OOS_DAYS", "Replay", "validate_model"]

# Fewer unseen days than this say too little about a model to trust it with money.
MIN_OOS_DAYS = 30.0


@dataclass(frozen=True)
class Replay:
    """The out-of-sample replays behind a report, for whoever wants more than the gates."""

    start: int
    result: BacktestResult  # the challenger's
    others: dict[Policy, BacktestResult] = field(default_factory=dict)  # champion, rules-only


@dataclass
class _Findings:
    """What the checks found so far: the report's `checks`, `gates` and `failures`."""

    checks: dict[str, float | bool] = field(default_factory=dict)
    gates: list[GateCheck] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    data_range: tuple[datetime, datetime] | None = None  # the unseen bars replayed
    seed: int | None = None  # the simulator seed of every replay
    policies: list[PolicyFigures] = field(default_factory=list)

    def check(self, name: str, value: float | bool, threshold: float | bool, passed: bool) -> None:
        self.checks[name] = value
        self.gates.append(GateCheck(name=name, value=value, threshold=threshold, passed=passed))


def validate_model(
    config: EnvironmentConfig,
    store: ArtifactStore,
    model_id: str,
    bars: Mapping[str, Bars],
    *,
    thresholds: GateThresholds,
    clock: Clock,
    approved: bool = False,
    expected_sha256: str | None = None,
) -> tuple[ValidationReport, Replay | None]:
    """Validate a candidate and write its report; every unmet condition is listed in `failures`.

    `expected_sha256` (the approved pointer's digest) fails integrity when the candidate's files
    are whole but not the ones that were approved. Raises ArtifactError only when there is no
    such candidate (nothing to report on).
    """
    if not (store.candidates / model_id).is_dir():
        raise ArtifactError(f"no candidate {model_id} under {store.candidates}")
    now = clock.now()
    found = _Findings()
    sha256: str | None = None
    replay: Replay | None = None
    try:
        candidate = store.open_candidate(model_id, expected_sha256=expected_sha256)
    except ArtifactError as error:
        found.check("integrity", False, True, False)
        found.failures.append(f"integrity: {error}")
    else:
        sha256 = candidate.sha256
        found.check("integrity", True, True, True)
        try:
            model = load_candidate_model(candidate)
        except ArtifactError as error:
            found.check("schema", False, True, False)
            found.failures.append(f"schema: {error}")
        else:
            found.check("schema", True, True, True)
            # Only bars that had closed by now: a replay at a past instant must not see its future.
            closed = int(now.timestamp()) - BAR_SECONDS + 1
            seen = {symbol: b.between(None, closed) for symbol, b in bars.items()}
            pointer = store.read_pointer()
            contenders = (
                Contender(Policy.CHALLENGER, model, candidate.model_id, candidate.sha256),
                _champion(store, pointer, found),
                Contender(Policy.RULES_ONLY),
            )
            replay = _replay(
                config, candidate, contenders, seen, thresholds=thresholds, found=found
            )
            for check, why in paired_gates(found.policies, thresholds, champion=pointer):
                found.gates.append(check)
                if why:
                    found.failures.append(why)
    path = (
        store.approved_validation_path(model_id, now)
        if approved
        else store.validation_path(model_id)
    )
    report = ValidationReport(
        model_id=model_id,
        passed=not found.failures,
        checks=found.checks,
        failures=found.failures,
        sha256=sha256,
        validated_at=now,
        gates=found.gates,
        report_path=str(path),
        environment=store.env_id,
        data_start=found.data_range[0] if found.data_range else None,
        data_end=found.data_range[1] if found.data_range else None,
        seed=found.seed,
        policies=found.policies,
    )
    store.write_validation(report, path)
    store.append_registry(
        RegistryRecord(
            timestamp=clock.now(),
            model_id=model_id,
            event=RegistryEvent.VALIDATED,
            env=store.env_id,
            details={
                "passed": report.passed,
                "sha256": sha256,
                "report": str(path),
                "approved_model": approved,
                "failures": "; ".join(found.failures),
            },
        )
    )
    return report, replay


def _champion(
    store: ArtifactStore, pointer: ApprovedPointer | None, found: _Findings
) -> Contender | None:
    """The environment's approved model to replay beside the candidate; rules-only when none.

    One that cannot be loaded is not replayed: the report then compares against nothing, which
    fails `mustBeatApproved` if it is on.
    """
    if pointer is None:
        return Contender(Policy.CHAMPION)
    try:
        approved = store.open_candidate(pointer.model_id, expected_sha256=pointer.sha256)
        model = load_candidate_model(approved)
    except ArtifactError as error:
        found.checks["champion_replayed"] = False
        print(f"champion {pointer.model_id} not replayed: {error}", file=sys.stderr)
        return None
    return Contender(Policy.CHAMPION, model, pointer.model_id, pointer.sha256)


def _replay(
    config: EnvironmentConfig,
    candidate: Candidate,
    contenders: tuple[Contender, Contender | None, Contender],
    bars: Mapping[str, Bars],
    *,
    thresholds: GateThresholds,
    found: _Findings,
) -> Replay | None:
    trained_until = int(candidate.metadata.training_end.timestamp())
    # The first bar that opens at or after the end of training: nothing the model saw is replayed.
    start = -(-trained_until // BAR_SECONDS) * BAR_SECONDS
    usable = {s: b for s, b in bars.items() if len(b) and int(b.time[-1]) >= start}
    last = max((int(b.time[-1]) + BAR_SECONDS for b in usable.values()), default=start)
    days = round((last - start) / DAY_SECONDS, 3)
    found.check("oos_days", days, MIN_OOS_DAYS, days >= MIN_OOS_DAYS)
    if days < MIN_OOS_DAYS:
        found.failures.append(
            f"oos_days {days:.1f} < {MIN_OOS_DAYS:g}: too little data after training_end "
            f"{candidate.metadata.training_end:%Y-%m-%d %H:%M} UTC to judge the model"
        )
        return None
    # Every policy replayed with the same fills: the challenger's seed.
    found.seed = config.spec.paper.seed_for(candidate.sha256)
    config = config.with_seed(found.seed)
    challenger, champion, rules = contenders
    result = replay(config, usable, start, challenger)
    found.data_range = (
        datetime.fromtimestamp(start, UTC),
        datetime.fromtimestamp(last, UTC),
    )
    found.checks["oos_trades"] = float(len(result.signals))
    # Not a gate: how often the daily loss limit stopped the replay is for the reviewer to read.
    found.checks["oos_kill_switch_trips"] = float(result.kill_switch_trips)
    try:
        figures = performance(
            result.times, result.equity, result.starting_equity, result.traded_notional_usd
        )
    except ValueError as error:
        found.failures.append(f"replay: {error}")
        return Replay(start, result)
    others = _compare(
        config,
        usable,
        start,
        (challenger, champion, rules),
        challenged=result,
        gate=thresholds.min_oos_sharpe,
        found=found,
    )
    for gate in evaluate_gates(figures, thresholds):
        value = float(gate.value)
        # A non-finite figure has already failed its gate; the report keeps numbers JSON can hold.
        found.checks[gate.name] = value if math.isfinite(value) else 0.0
        found.gates.append(gate if math.isfinite(value) else gate.model_copy(update={"value": 0.0}))
        if not gate.passed:
            relation = "<" if gate.name == "oos_sharpe" else ">"
            found.failures.append(f"{gate.name} {value:.4g} {relation} {gate.threshold:g}")
    return Replay(start, result, others)


def _compare(
    config: EnvironmentConfig,
    bars: Mapping[str, Bars],
    start: int,
    contenders: tuple[Contender, Contender | None, Contender],
    *,
    challenged: BacktestResult,
    gate: float,
    found: _Findings,
) -> dict[Policy, BacktestResult]:
    """Each policy's figures on the challenger's bars and seed, buy-and-hold beside them."""
    assert found.seed is not None
    seed = found.seed
    results: dict[Policy, BacktestResult] = {}
    for contender in contenders:
        if contender is None:
            continue
        same = (contender.model_id, contender.sha256) == (
            contenders[0].model_id,
            contenders[0].sha256,
        )
        # The approved model validated again is its own champion: one replay serves both.
        result = challenged if same else replay(config, bars, start, contender)
        if contender.policy is not Policy.CHALLENGER:
            results[contender.policy] = result
        found.policies.append(policy_figures(contender, result, gate=gate, seed=seed))
    found.policies.append(
        buy_and_hold(
            config, bars, challenged.times, challenged.starting_equity, gate=gate, seed=seed
        )
    )
    return results
