"""Shadow mode: a candidate trades a paper book beside live, at live's prices, sending nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.atomic import append_jsonl
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.jsonlog import event
from krakenops.core.records import ShadowFill, ShadowRecord
from krakenops.trader.engine import StepReport, TradingEngine, build_engine
from krakenops.trader.market import Bar
from krakenops.trader.model import load_candidate_model
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

__all__ = ["ShadowBook", "shadow_log_path"]

log = logging.getLogger(__name__)


def shadow_log_path(store: ArtifactStore) -> Path:
    """Where the shadow's decisions go: `shadow.jsonl` beside the trader's own logs."""
    return store.shadow_log


class ShadowBook:
    """The shadow candidate's own engine: its pipeline, its risk manager, a paper simulator.

    Nothing here reaches live's venue, portfolio or risk state: the engine is built from the
    environment's settings with a simulator of its own (the `paper` fees and slippage, its seed),
    fed the bars live trades on. Its risk manager keeps its state in memory only.
    """

    def __init__(
        self, store: ArtifactStore, engine: TradingEngine, clock: ManualClock, model_id: str
    ) -> None:
        self.engine, self.clock, self.model_id = engine, clock, model_id
        self.path = shadow_log_path(store)
        self.starting_equity = engine.portfolio.equity()
        self.first_bar: int | None = None  # open time of the first bar it was fed
        self.first_step: int | None = None  # close time of the first step it decided on

    @classmethod
    def open(cls, config: EnvironmentConfig, store: ArtifactStore) -> ShadowBook | None:
        """The environment's shadow candidate, verified and loaded; None when there is none.

        A candidate that cannot be verified or loaded runs no shadow, and says so: live goes on.
        """
        shadow = config.spec.shadow
        if shadow is None:
            return None
        try:
            candidate = store.open_candidate(shadow.model_id)
            model = load_candidate_model(candidate)
        except ArtifactError as error:
            event(
                log,
                logging.ERROR,
                "shadow_refused",
                f"shadow candidate {shadow.model_id} refused, no shadow runs: {error}",
                model_id=shadow.model_id,
            )
            return None
        # Its own clock, set to each step's close as a replay's is: the book's fills are stamped
        # with the bar they were decided on.
        book_clock = ManualClock(datetime.fromtimestamp(0, UTC))
        # Seeded as validation seeds its replay of this model, so a replay can check the book.
        seeded = config.with_seed(config.spec.paper.seed_for(candidate.sha256))
        simulator = PaperKrakenSimulator.from_settings(seeded.spec.paper, book_clock)
        engine = build_engine(seeded, book_clock, simulator, lambda: model, log_events=False)
        return cls(store, engine, book_clock, candidate.model_id)

    def step(self, close: int, bars: Mapping[str, Bar], tradeable: bool) -> StepReport | None:
        """Feed one step of live's bars; decide only on the steps live may trade on."""
        if self.first_bar is None and bars:
            self.first_bar = min(b.time for b in bars.values())
        when = datetime.fromtimestamp(close, UTC)
        self.clock.set(when)
        if not tradeable:
            self.engine.pipeline.warm_up(bars)
            self.engine.portfolio.marks.update({s: b.close for s, b in bars.items()})
            return None
        if self.first_step is None:
            self.first_step = close
        report = self.engine.step(close, bars, when)
        self._record(report)
        return report

    def equity(self) -> float:
        return self.engine.portfolio.equity()

    def _record(self, report: StepReport) -> None:
        assert self.first_step is not None
        record = ShadowRecord(
            time=datetime.fromtimestamp(report.time, UTC),
            model_id=self.model_id,
            paused=report.paused,
            regime=report.regime.value,
            equity_usd=report.equity,
            fills=[
                ShadowFill(
                    symbol=b.fill.symbol,
                    side=b.fill.side.value,
                    quantity=b.fill.quantity,
                    price=b.fill.price,
                    fee_usd=b.fill.fee_usd,
                    strategy=b.strategy,
                    confidence=b.signal.confidence if b.signal else None,
                )
                for b in report.fills
            ],
            denials=[d.reason.value for _, d in report.denials],
            book_started_at=datetime.fromtimestamp(self.first_step, UTC),
            starting_equity_usd=self.starting_equity,
        )
        append_jsonl(self.path, record.model_dump(mode="json"))
