"""Start-up verification: the banner a component prints before it starts, every line the result of a real check."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path

from krakenops.core.api import credentials_dir
from krakenops.core.artifacts import ArtifactError, ArtifactStore, Candidate, IsolationError
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig, Mode
from krakenops.core.universe import Universe

__all__ = [
    "PROBE_GROUP",
    "Check",
    "Outcome",
    "Verification",
    "installed_probe",
    "render",
    "verify_startup",
]

RULE = "=" * 80
# A component that can reach the venue of a mode registers a probe factory here under the mode's
# name (`factory(clock) -> probe`); core imports no component.
PROBE_GROUP = "krakenops.probes"
# The trader registers its model loader here (`check(candidate)`, raising ArtifactError), so that
# the banner runs the very checks the trader will run before it trusts a model.
MODEL_CHECK_GROUP = "krakenops.model_checks"
ModelCheck = Callable[[Candidate], object]


class Outcome(StrEnum):
    PASS = "✓"  # noqa: S105 - a check outcome, not a password
    WARN = "!"
    FAIL = "✗"


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    text: str
    details: tuple[str, ...] = ()


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.outcome is not Outcome.FAIL for c in self.checks)

    def add(self, outcome: Outcome, text: str, *details: str) -> None:
        self.checks.append(Check(outcome, text, details))


ConnectivityProbe = Callable[[EnvironmentConfig], Check]


def simulator_probe(config: EnvironmentConfig) -> Check:
    """Paper mode trades against the in-process simulator: there is nothing remote to reach."""
    return Check(Outcome.PASS, "Kraken connectivity: SIMULATOR (paper)")


def credentials_probe(config: EnvironmentConfig) -> Check:
    """Live mode without an exchange client: at least the mounted Secret must hold both keys."""
    folder = credentials_dir()
    missing = [n for n in ("api-key", "api-secret") if not _non_empty(folder / n)]
    if missing:
        return Check(
            Outcome.FAIL, f"Kraken connectivity: credentials missing in {folder}: {missing}"
        )
    return Check(Outcome.WARN, "Kraken connectivity: credentials present (exchange not contacted)")


def default_probe(config: EnvironmentConfig) -> Check:
    probe = simulator_probe if config.spec.mode is Mode.PAPER else credentials_probe
    return probe(config)


def installed_probe(config: EnvironmentConfig, clock: Clock) -> ConnectivityProbe:
    """The probe registered for the config's mode, or the built-in one when none is installed."""
    found = {ep.name: ep for ep in entry_points(group=PROBE_GROUP)}
    entry = found.get(config.spec.mode.value)
    if entry is None:
        return default_probe
    factory: Callable[[Clock], ConnectivityProbe] = entry.load()
    return factory(clock)


def verify_startup(
    config: EnvironmentConfig,
    clock: Clock,
    probe: ConnectivityProbe | None = None,
    model_check: ModelCheck | None = None,
) -> Verification:
    """Run every start-up check in the banner's order; later checks run even after a failure.

    `model_check` stands in for the installed trader's model loader (see MODEL_CHECK_GROUP).
    """
    result = Verification()
    spec = config.spec
    store = ArtifactStore(spec.artifacts, config.env_id)
    result.add(Outcome.PASS, f"Config loaded: {config.env_id}", f"from {config.source}")
    result.add(Outcome.PASS, f"Environment: {spec.mode.value}")

    isolated = True
    try:
        store.verify_isolation()
    except IsolationError as error:
        isolated = False
        result.add(Outcome.FAIL, f"Artifact isolation violated: {error}")
    if isolated:
        writable = _writable(store)
        if writable is None:
            result.add(Outcome.PASS, f"Artifact root: {store.artifacts}")
        else:
            result.add(
                Outcome.FAIL, f"Artifact root: {store.artifacts} is not writable: {writable}"
            )
        markers = ", ".join(spec.artifacts.forbidden_markers) or "none"
        result.add(Outcome.PASS, f"Artifact isolation verified (no {markers} paths)")

    try:
        names = [Universe.resolve(s).rest_pair for s in spec.universe.symbols]
        result.add(
            Outcome.PASS,
            f"Universe: {', '.join(spec.universe.symbols)}",
            f"pairs {', '.join(names)}",
        )
    except KeyError as error:
        result.add(Outcome.FAIL, f"Universe: {error}")

    window = spec.downtime.window()
    status = window.status(clock.now())
    result.add(Outcome.PASS, f"Downtime window: {window.label()}")
    result.add(
        Outcome.PASS,
        f"Trading scheduled: {window.trading_label()} (active), {window.label()} "
        f"({'training' if spec.mode is Mode.PAPER else 'validation'})",
        f"now {status.phase.value}, next transition {status.next_transition:%Y-%m-%d %H:%M} UTC",
    )
    ml_mode = "TRAINING_ENABLED (paper)" if spec.mode is Mode.PAPER else "INFERENCE_ONLY (live)"
    result.add(Outcome.PASS, f"ML mode: {ml_mode}")
    result.checks.append(_approved_model(store, model_check or installed_model_check()))
    result.checks.append((probe or default_probe)(config))
    return result


def _writable(store: ArtifactStore) -> str | None:
    try:
        store.ensure_layout()
        with tempfile.NamedTemporaryFile(dir=store.artifacts, prefix=".probe-"):
            pass
    except OSError as error:
        return error.strerror or str(error)
    return None


def installed_model_check() -> ModelCheck | None:
    """The trader's own model loader when installed: the banner then refuses what it refuses."""
    for entry in entry_points(group=MODEL_CHECK_GROUP, name="trader"):
        check: ModelCheck = entry.load()
        return check
    return None


def _approved_model(store: ArtifactStore, check: ModelCheck | None) -> Check:
    label = f"Approved model: {store.pointer}"
    # The store reports damaged files (not UTF-8, not JSON, unreadable) as ArtifactError: they
    # mean rules-only, as in the trader's loop, never a start-up that fails.
    try:
        pointer = store.read_pointer()
    except ArtifactError as error:
        return Check(Outcome.WARN, label, (f"→ Status: UNREADABLE ({error}); rules-only fallback",))
    if pointer is None:
        return Check(
            Outcome.PASS,
            label,
            ("→ Status: NOT FOUND (will use rules-only fallback until promoted)",),
        )
    try:
        candidate = store.open_candidate(pointer.model_id, expected_sha256=pointer.sha256)
        if check is not None:
            check(candidate)
    except ArtifactError as error:
        return Check(Outcome.WARN, label, (f"→ Status: REFUSED ({error}); rules-only fallback",))
    if check is None:  # no trader here (the operator's image): say what was not checked
        verified = "sha256 verified; schema and skops types not checked here"
    else:
        verified = "sha256, schema and skops types verified"
    return Check(Outcome.PASS, label, (f"→ Status: {pointer.model_id} ({verified})",))


def render(result: Verification) -> str:
    lines = [RULE, "CRYPTO TRADING SYSTEM STARTUP VERIFICATION", RULE]
    for check in result.checks:
        lines.append(f"{check.outcome.value} {check.text}")
        lines.extend(f"  {detail}" for detail in check.details)
    if result.passed:
        lines.append("✓ All checks passed. Ready for trading.")
    else:
        failed = sum(c.outcome is Outcome.FAIL for c in result.checks)
        lines.append(f"✗ {failed} check(s) failed. Not starting.")
    lines.append(RULE)
    return "\n".join(lines)


def _non_empty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
