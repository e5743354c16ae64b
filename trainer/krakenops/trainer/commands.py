"""`krakenops train` and `krakenops validate`: the trainer Job's and the validation Job's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.clock import SystemClock
from krakenops.core.commands import model_id_argument, parse_config_args
from krakenops.core.config import EnvironmentConfig, GateThresholds
from krakenops.core.marketdata import Bars, MarketDataError, default_data_dir, load_symbol
from krakenops.core.records import Policy, PolicyFigures, ShadowReport, ValidationReport
from krakenops.core.termination import exit_on_sigterm
from krakenops.trainer.deadline import DeadlineExceededError, OutsideWindowError, training_deadline
from krakenops.trainer.shadowreport import shadow_report
from krakenops.trainer.training import (
    NotEnoughDataError,
    TrainingPlan,
    TrainingRefusedError,
    ensure_may_train,
    train_candidate,
)
from krakenops.trainer.validation import validate_model

__all__ = ["load_market", "render_report", "train_command", "validate_command"]

# Each column of the side-by-side table: its heading and how one replay's figures fill it.
_COLUMNS: tuple[tuple[str, Callable[[PolicyFigures], str]], ...] = (
    ("Sharpe", lambda p: f"{p.oos_sharpe:.2f}"),
    ("90% interval", lambda p: f"[{p.sharpe.low:.2f}, {p.sharpe.high:.2f}]"),
    ("PSR", lambda p: f"{p.sharpe.confidence:.2f}"),
    ("days", lambda p: f"{p.sharpe.days}"),
    ("drawdown", lambda p: f"{p.max_drawdown:.1%}"),
    ("tail", lambda p: f"{p.tail_loss:.1%}"),
    ("turnover", lambda p: f"{p.annual_turnover:.1f}x"),
    ("return", lambda p: f"{p.total_return:+.1%}"),
    ("trades", lambda p: f"{p.trades}"),
)

_GATE_FLAGS = (
    ("--min-oos-sharpe", "min_oos_sharpe", "lowest out-of-sample annualised Sharpe"),
    ("--max-drawdown", "max_drawdown", "largest peak-to-trough drawdown, a fraction"),
    ("--max-tail-loss", "max_tail_loss", "largest 99th-percentile daily loss, a fraction"),
    ("--max-turnover", "max_turnover", "largest annual turnover, traded notional / equity"),
    (
        "--min-sharpe-confidence",
        "min_sharpe_confidence",
        "lowest probability that the true Sharpe exceeds the Sharpe gate, 0..1",
    ),
)


def load_market(config: EnvironmentConfig, data: str | None) -> dict[str, Bars]:
    """Hourly bars of every configured symbol that has them; a symbol without data is named."""
    folder = Path(data) if data else default_data_dir()
    bars: dict[str, Bars] = {}
    for symbol in config.spec.universe.symbols:
        try:
            bars[symbol] = load_symbol(symbol, folder)
        except MarketDataError as error:
            print(f"market data: {symbol} left out: {error}", file=sys.stderr)
    if not bars:
        raise MarketDataError(
            f"no market data for any of {config.spec.universe.symbols} in {folder}"
        )
    return bars


def _store(config: EnvironmentConfig) -> ArtifactStore:
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.verify_isolation()
    store.ensure_layout()
    # A Job past its deadline gets SIGTERM: it leaves nothing half-written, and neither will
    # one killed outright once the next run has swept.
    exit_on_sigterm()
    for path in store.sweep_stale():
        print(f"removed stale {path}", file=sys.stderr)
    return store


def train_command(argv: list[str]) -> int:
    """Train a candidate in this downtime window; exit 1 if the run aborts, 2 if it may not run."""
    parser = argparse.ArgumentParser(prog="krakenops train", description=train_command.__doc__)
    parser.add_argument("--config", required=True, help="TradingEnvironment YAML file")
    parser.add_argument("--root", help="artifact root to use instead of the one in the file")
    parser.add_argument("--data", help="folder of Kraken OHLCVT files (default: the market data)")
    parser.add_argument(
        "--holdout-days",
        type=int,
        default=TrainingPlan.holdout_days,
        help="recent days kept unseen",
    )
    args, config = parse_config_args(parser, argv)
    prog = parser.prog
    clock = SystemClock()
    try:
        ensure_may_train(config)
        store = _store(config)
        deadline = training_deadline(config, clock)
        bars = load_market(config, args.data)
        result = train_candidate(
            config,
            store,
            bars,
            clock=clock,
            deadline=deadline,
            plan=TrainingPlan(holdout_days=args.holdout_days),
        )
    except (TrainingRefusedError, OutsideWindowError, MarketDataError, ArtifactError) as error:
        print(f"{prog}: refused: {error}", file=sys.stderr)
        return 2
    except (DeadlineExceededError, NotEnoughDataError) as error:
        print(
            f"{prog}: ABORTED, no candidate written, the approved model stays: {error}",
            file=sys.stderr,
        )
        return 1
    candidate = result.candidate
    m = candidate.metrics
    print(f"{prog}: candidate {candidate.model_id} written to {candidate.path}")
    print(
        f"  sha256 {candidate.sha256}; dataset {result.dataset.path} ({result.dataset.rows} rows)"
    )
    print(
        f"  trained on {result.training_start:%Y-%m-%d} .. {result.training_end:%Y-%m-%d}; "
        f"model {result.cv.chosen}; cv log loss {m.details.get('cv_log_loss', float('nan')):.4f} "
        f"vs base rate {m.details.get('cv_base_log_loss', float('nan')):.4f}"
    )
    print(
        f"  trainer's estimate: Sharpe={m.oos_sharpe:.2f}, DD={m.max_drawdown:.0%}, "
        f"turnover={m.annual_turnover:.1f}x; next: krakenops validate --model-id {candidate.model_id}"
    )
    return 0


def validate_command(argv: list[str]) -> int:
    """Validate a candidate (or the approved model); exit 0 passed, 1 failed, 2 bad input."""
    parser = argparse.ArgumentParser(
        prog="krakenops validate", description=validate_command.__doc__
    )
    parser.add_argument("--config", required=True, help="TradingEnvironment YAML file")
    parser.add_argument("--root", help="artifact root to use instead of the one in the file")
    parser.add_argument("--data", help="folder of Kraken OHLCVT files (default: the market data)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model-id", type=model_id_argument, help="the candidate to validate")
    which.add_argument(
        "--approved", action="store_true", help="re-validate this environment's approved model"
    )
    for flag, field, text in _GATE_FLAGS:
        parser.add_argument(flag, type=float, dest=field, help=f"{text} (default: from config)")
    parser.add_argument(
        "--must-beat-approved",
        action="store_true",
        default=None,
        help="the candidate's Sharpe and drawdown no worse than the approved model's "
        "(default: from config)",
    )
    args, config = parse_config_args(parser, argv)
    prog = parser.prog
    fields = [f for _, f, _ in _GATE_FLAGS] + ["must_beat_approved"]
    overrides = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    try:
        thresholds = GateThresholds.model_validate(
            config.spec.trainer.gates.model_dump() | overrides
        )
    except ValueError as error:
        print(f"{prog}: bad threshold: {error}", file=sys.stderr)
        return 2
    clock = SystemClock()
    try:
        store = _store(config)
        model_id, expected = args.model_id, None
        if args.approved:
            pointer = store.read_pointer()
            if pointer is None:
                print(f"{prog}: {config.env_id} has no approved model; it trades rules-only")
                return _report_shadow(config, store, args.data, clock, prog=prog, code=0)
            model_id, expected = pointer.model_id, pointer.sha256
        bars = load_market(config, args.data)
        report, _ = validate_model(
            config,
            store,
            model_id,
            bars,
            thresholds=thresholds,
            clock=clock,
            approved=args.approved,
            expected_sha256=expected,
        )
    except (ArtifactError, MarketDataError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    print(render_report(report))
    code = 0 if report.passed else 1
    return (
        _report_shadow(config, store, args.data, clock, prog=prog, code=code)
        if args.approved
        else code
    )


def _report_shadow(
    config: EnvironmentConfig,
    store: ArtifactStore,
    data: str | None,
    clock: SystemClock,
    *,
    prog: str,
    code: int,
) -> int:
    """The downtime Job's shadow report, when the environment runs a shadow candidate; a report
    that cannot be written makes the Job fail (2) rather than leave an old one standing unsaid."""
    if config.spec.shadow is None:
        return code
    try:
        report = shadow_report(config, store, load_market(config, data), clock=clock)
    except (ArtifactError, MarketDataError) as error:
        print(f"{prog}: shadow report not written: {error}", file=sys.stderr)
        return 2
    if report is None:
        print(f"{prog}: {config.spec.shadow.model_id} has decided nothing in shadow yet")
        return code
    print(render_shadow(report))
    return code


def render_shadow(report: ShadowReport) -> str:
    """The shadow book against the champion over the same steps, as a reviewer reads it."""
    lines = [
        f"shadow {report.model_id}: {report.days_in_shadow:.1f} days, {report.steps} steps "
        f"({report.shadow_start:%Y-%m-%d %H:%M} .. {report.shadow_end:%Y-%m-%d %H:%M} UTC)"
    ]
    books = [("shadow", report.shadow)]
    if report.champion is not None:
        source = (report.champion_source or "").replace("_", " ")
        books.append((f"champion ({report.champion.model_id or 'rules-only'}, {source})",
                      report.champion))  # fmt: skip
    for name, book in books:
        lines.append(
            f"  {name}: PnL {book.pnl_usd:+.2f} USD ({book.total_return:+.2%}), Sharpe "
            f"{book.sharpe:.2f} over {book.sharpe_days} days, drawdown {book.max_drawdown:.1%}, "
            f"{book.fills} fills"
        )
    lines.extend(f"  note: {note}" for note in report.notes)
    lines.append(f"  report: {report.report_path}")
    return "\n".join(lines)


def render_policies(report: ValidationReport) -> list[str]:
    """Challenger, champion, rules-only and buy-and-hold side by side, then the differences."""
    if not report.policies:
        return []
    names = {p.policy: _label(p) for p in report.policies}
    width = max(len(n) for n in names.values())
    head = " ".join(f"{h:>{max(len(h), 8)}}" for h, _ in _COLUMNS)
    lines = [f"  same unseen bars, simulator seed {report.seed}; PSR against the Sharpe gate:"]
    lines.append(f"    {'':<{width}} {head}")
    for p in report.policies:
        row = " ".join(f"{fill(p):>{max(len(h), 8)}}" for h, fill in _COLUMNS)
        lines.append(f"    {names[p.policy]:<{width}} {row}")
    challenger, champion = report.figures(Policy.CHALLENGER), report.figures(Policy.CHAMPION)
    if challenger and champion:
        lines.append(
            f"  challenger - champion: Sharpe {challenger.oos_sharpe - champion.oos_sharpe:+.2f}, "
            f"drawdown {challenger.max_drawdown - champion.max_drawdown:+.1%}, "
            f"return {challenger.total_return - champion.total_return:+.1%}"
        )
    return lines


def _label(figures: PolicyFigures) -> str:
    if figures.model_id:
        return f"{figures.policy.value} ({figures.model_id})"
    # With no approved model the environment trades rules-only: that is the champion.
    return (
        f"{figures.policy.value} (rules-only)"
        if figures.policy is Policy.CHAMPION
        else figures.policy.value
    )


def render_report(report: ValidationReport) -> str:
    """The report as a human reads it: each gate's value against its threshold, then the verdict."""
    lines = [f"validation of {report.model_id} (sha256 {(report.sha256 or '-')[:12]})"]
    for gate in report.gates:
        mark = "PASS" if gate.passed else "FAIL"
        if isinstance(gate.value, bool):
            lines.append(f"  {mark} {gate.name}")
        else:
            lines.append(f"  {mark} {gate.name} = {gate.value:.4g} (threshold {gate.threshold})")
    trades, trips = report.checks.get("oos_trades"), report.checks.get("oos_kill_switch_trips")
    if trades is not None and trips is not None:
        # Not gates: what the replay did, for the reviewer to weigh.
        lines.append(f"  replay: {trades:.0f} trades, {trips:.0f} kill-switch trips")
    lines.extend(render_policies(report))
    verdict = "PASSED" if report.passed else "FAILED: " + "; ".join(report.failures)
    lines.append(f"  {verdict}")
    lines.append(f"  report: {report.report_path}")
    return "\n".join(lines)
