"""`krakenops demo`: the model lifecycle on the embedded bars, days of paper trading in seconds.

Paper trading up to a downtime window, a candidate trained in it, validated against the gates,
a promotion attempt, then trading resumes with whatever model the pointer names. The gates are
the configuration's: the demo reports what real data says, it does not tune them to pass.
"""

from __future__ import annotations

import argparse
import shutil
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import read_jsonl
from krakenops.core.clock import ManualClock, utc
from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.core.marketdata import MarketDataError, load_symbol
from krakenops.core.promotion import PromotionRequest, PromotionService
from krakenops.core.records import Action
from krakenops.core.verify import render, verify_startup
from krakenops.trader.chart import ChartMarks, draw, promotion_marks
from krakenops.trader.commands import replay_feed
from krakenops.trader.demo import paper_replay, summarise
from krakenops.trader.loop import TradingLoop
from krakenops.trainer.commands import render_report
from krakenops.trainer.deadline import DeadlineExceededError, training_deadline
from krakenops.trainer.training import NotEnoughDataError, train_candidate
from krakenops.trainer.validation import validate_model

__all__ = ["SimulatedWallClock", "demo_command"]

PROJECT = Path(__file__).resolve().parents[3]
# Five months of paper trading into the 2022 slide, the window on its last night, two weeks after.
PAPER_FROM = datetime(2021, 10, 1, tzinfo=UTC)
WINDOW_DAY = datetime(2022, 3, 1, tzinfo=UTC)
RESUME_FOR = timedelta(days=14)
DEMO_MARKER = ".krakenops-demo"


class SimulatedWallClock:
    """A simulated instant that then runs at wall-clock speed: training's deadline is real time."""

    def __init__(self, start: datetime) -> None:
        self._start = utc(start)
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


def demo_command(argv: list[str]) -> int:
    """Paper trade, train in the window, validate, attempt a promotion, resume trading."""
    parser = argparse.ArgumentParser(prog="krakenops demo", description=demo_command.__doc__)
    parser.add_argument("--config", default=str(PROJECT / "config/paper.kraken.crypto.global.yaml"))
    parser.add_argument("--root", default="build/demo", help="artifact root for the demo's files")
    args = parser.parse_args(argv)
    root = Path(args.root).absolute()
    config = load_config(args.config).with_root(root)
    window = config.spec.downtime.window()
    opens, closes = window.window_at_or_after(WINDOW_DAY)
    # Every run starts from nothing: a fresh paper account, no candidates, no pointer. Only a
    # root the demo made itself is wiped, never one that holds someone's real artifacts.
    marker = root / DEMO_MARKER
    if root.exists() and any(root.iterdir()) and not marker.exists():
        print(
            f"krakenops demo: {root} is not empty and was not made by the demo; pass another --root"
        )
        return 2
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    marker.write_text("made by krakenops demo; wiped on its next run\n")
    result = verify_startup(config, ManualClock(PAPER_FROM))
    print(render(result))
    if not result.passed:
        return 1
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    began = time.monotonic()

    print(
        f"\n1. Paper trading {PAPER_FROM:%Y-%m-%d} .. {opens:%Y-%m-%d %H:%M} UTC on recorded bars"
    )
    loop = _paper_trade(config, store, PAPER_FROM, opens)
    print(summarise(loop, store).replace("\n", "\n   "))

    print(f"\n2. Downtime {opens:%Y-%m-%d %H:%M} .. {closes:%H:%M} UTC: training a candidate")
    if not _window(config, store, opens):
        return 1

    resume_until = closes + RESUME_FOR
    print(f"\n5. Trading resumes {closes:%Y-%m-%d %H:%M} .. {resume_until:%Y-%m-%d %H:%M} UTC")
    trades_before = sum(1 for _ in read_jsonl(store.logs / "trades.jsonl"))
    loop = _paper_trade(config, store, closes, resume_until)
    print(f"   {_resumed(loop, store, trades_before)}")
    chart = root / "equity.png"
    draw(store, chart, ChartMarks(window=(opens, closes), promotions=promotion_marks(store)))
    print(f"   equity chart over both stretches, buy and hold, drawdowns, the window: {chart}")
    print(f"\nLifecycle done in {time.monotonic() - began:.1f} s; files under {root}")
    print(f"  registry: {store.registry_log}")
    for record in store.registry_records():
        print(f"    {record.timestamp:%Y-%m-%d %H:%M:%S} {record.event.value:17} {record.model_id}")
    return 0


def _window(config: EnvironmentConfig, store: ArtifactStore, opens: datetime) -> bool:
    """Train, validate and try to promote inside the window; False if training aborted."""
    clock = SimulatedWallClock(opens + timedelta(minutes=5))
    bars = {}
    for symbol in config.spec.universe.symbols:
        try:
            bars[symbol] = load_symbol(symbol).between(None, int(opens.timestamp()))
        except MarketDataError:
            print(f"   {symbol}: no embedded bars, left out")
    try:
        deadline = training_deadline(config, clock)
        print(f"   deadline {deadline.ends_at:%H:%M:%S} UTC (window end less the margin)")
        trained = train_candidate(config, store, bars, clock=clock, deadline=deadline)
    except (DeadlineExceededError, NotEnoughDataError) as error:
        print(f"   ABORTED: {error}; the approved model stays")
        return False
    candidate, cv = trained.candidate, trained.cv
    details = candidate.metrics.details
    print(
        f"   {candidate.model_id}: {cv.chosen} on {trained.dataset.rows} entries "
        f"({trained.training_start:%Y-%m-%d} .. {trained.training_end:%Y-%m-%d}; "
        f"{_sources(trained.dataset.path)})"
    )
    print(
        f"   walk-forward log loss {details.get('cv_log_loss', float('nan')):.4f} vs "
        f"{details.get('cv_base_log_loss', float('nan')):.4f} for the base rate; "
        f"AUC {details.get('cv_auc', float('nan')):.3f}"
    )
    print(f"   written whole to {candidate.path} (sha256 {candidate.sha256[:12]})")

    print("\n3. Validation: the whole policy with this model, replayed on the unseen days")
    report, _ = validate_model(
        config, store, candidate.model_id, bars, thresholds=config.spec.trainer.gates, clock=clock
    )
    print("   " + render_report(report).replace("\n", "\n   "))
    print("\n4. Promotion attempt (confirm yes-promote)")
    outcome = PromotionService(store, clock, config.spec.trainer.gates).execute(
        PromotionRequest(
            Action.PROMOTE,
            "yes-promote",
            f"demo-{uuid.uuid4().hex[:8]}",
            candidate.model_id,
            "nightly candidate",
        )
    )
    if outcome.applied:
        print(f"   PROMOTED: {outcome.explain()}; the trader loads it on its next loop")
    else:
        print(f"   REFUSED ({', '.join(r.value for r in outcome.refusals)}):")
        for message in outcome.messages:
            print(f"     - {message}")
        print(
            "   the pointer is unchanged: trading goes on with the last approved model (none yet)"
        )
    print(
        f"   training + validation took {clock.now() - opens - timedelta(minutes=5)} of the window"
    )
    return True


def _paper_trade(
    config: EnvironmentConfig, store: ArtifactStore, start: datetime, end: datetime
) -> TradingLoop:
    """Run the real trading loop on a simulated clock; a second run resumes the same account."""
    feed, _ = replay_feed(config, start, end)
    return paper_replay(config, store, ManualClock(start), feed, end)


def _resumed(loop: TradingLoop, store: ArtifactStore, trades_before: int) -> str:
    trades = list(read_jsonl(store.logs / "trades.jsonl"))[trades_before:]
    sides = Counter(t["side"] for t in trades)
    return (
        f"{len(trades)} fills ({sides.get('buy', 0)} buys, {sides.get('sell', 0)} sells); "
        f"equity {loop.portfolio.equity():,.2f} USD; trading with {loop.models.model_id}"
    )


def _sources(path: Path) -> str:
    counts = Counter(row["source"] for row in read_jsonl(path))
    return ", ".join(f"{n} from {source}" for source, n in sorted(counts.items()))
