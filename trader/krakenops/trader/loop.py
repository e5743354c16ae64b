"""The trading loop: poll bars, decide outside the window, act, write everything down, sleep."""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.jsonlog import event
from krakenops.core.marketdata import BAR_SECONDS
from krakenops.core.window import WindowPhase, WindowStatus
from krakenops.trader.engine import StepReport, build_engine
from krakenops.trader.execution.orders import VENUE_REJECTED
from krakenops.trader.execution.registry import Venue
from krakenops.trader.feeds import MarketFeed
from krakenops.trader.holding import BuyAndHold
from krakenops.trader.journal import Journal
from krakenops.trader.market import HourBars
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.modelwatch import ModelWatch
from krakenops.trader.portfolio import ClosedTrade
from krakenops.trader.resting import RestingEntries
from krakenops.trader.restore import open_book
from krakenops.trader.shadow import ShadowBook

__all__ = ["TradingLoop"]

log = logging.getLogger(__name__)


class TradingLoop:
    """One trader process: it never places an order in the window or its transition."""

    def __init__(
        self,
        config: EnvironmentConfig,
        clock: Clock,
        feed: MarketFeed,
        venue: Venue,
        store: ArtifactStore,
        *,
        metrics: TraderMetrics | None = None,
        realtime: bool = False,
        interval_seconds: float | None = None,
    ) -> None:
        spec = config.spec
        self.config, self.clock, self.feed, self.venue, self.store = (
            config,
            clock,
            feed,
            venue,
            store,
        )
        self.window = spec.downtime.window()
        self.interval = interval_seconds or spec.trader.loop_interval_seconds
        self.metrics = metrics or TraderMetrics(config.env_id)
        self.journal = Journal(store)
        self._stop = threading.Event()
        # On the wall clock a stop request must cut the wait short; a simulated clock just jumps.
        self._sleep: Callable[[float], object] = self._stop.wait if realtime else clock.sleep
        self.rejections: dict[str, int] = {}
        saved = self.journal.load_positions()
        portfolio, book = open_book(saved, venue.client, spec.universe.symbols, clock)
        self.portfolio = portfolio
        self.models = ModelWatch(store)
        entries = RestingEntries(self.journal.risk_state_path.with_name("resting_entries.json"))
        self.engine = build_engine(
            config,
            clock,
            venue.client,
            self.models.current,
            portfolio=portfolio,
            risk_state=self.journal.risk_state_path,
            entries=entries,
        )
        self.risk = self.engine.risk
        for trade in book.closed:
            self._count_closed_at_venue(trade)
        if book.changes:
            # Counted once: a start that dies before the book is next saved must not find these
            # round trips again and count them a second time.
            self.journal.save_positions(portfolio)
        self._adopt_open_orders()
        self.started = int(clock.now().timestamp())
        self.iterations = 0
        self._regime_changes = 0
        self._refusals = 0
        self._hold = BuyAndHold(portfolio.equity())
        # Built last, from the environment's settings alone: it shares nothing with the above.
        self.shadow = ShadowBook.open(config, store)
        self._peak_equity = portfolio.equity()

    def _adopt_open_orders(self) -> None:
        """Orders the last run left open at the venue count against the limits from the start."""
        adopted = self.engine.adopt(self.venue.client.open_orders())
        if adopted:
            event(
                log,
                logging.INFO,
                "orders_adopted",
                f"{len(adopted)} order(s) open at {self.venue.client.venue} from before the start: "
                + ", ".join(adopted),
                client_order_ids=adopted,
            )

    def _count_closed_at_venue(self, trade: ClosedTrade) -> None:
        """A round trip the venue finished while the trader was down counts like any other."""
        event(
            log,
            logging.WARNING,
            "trade_closed_at_venue",
            f"{trade.symbol} ({trade.strategy or 'venue'}) closed at the venue while the trader "
            f"was down: PnL {trade.pnl_usd:+.2f} USD",
            symbol=trade.symbol,
            strategy=trade.strategy,
            pnl_usd=trade.pnl_usd,
            closed_at=trade.closed_at,
        )
        # The counters of an earlier UTC day were reset at its midnight; so is what it lost.
        if datetime.fromtimestamp(trade.closed_at, UTC).date().isoformat() == self.risk.state.day:
            self.risk.record_closed(trade)

    def stop(self) -> None:
        """Ask the loop to finish its iteration and return (the SIGTERM handler calls this)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, until: datetime | None = None) -> None:
        """Iterate until stopped, past `until`, or out of recorded bars; state is saved on the way out."""
        try:
            while not self._stop.is_set():
                self.iterate()
                if self._stop.is_set() or (until is not None and self.clock.now() >= until):
                    break
                if getattr(self.feed, "exhausted", False):
                    break
                self._sleep(self.interval)
        finally:
            self.close()

    def iterate(self) -> None:
        began = _time.perf_counter()
        now = self.clock.now()
        phase = self.window.status(now).phase
        self.models.check()
        steps = self.feed.poll(now)
        for index, step in enumerate(steps):
            newest = index == len(steps) - 1
            self._step(step, phase, newest and self._fresh(step, now))
        self.iterations += 1
        self._export(self.window.status(now), _time.perf_counter() - began)

    def close(self) -> None:
        self.journal.save_positions(self.portfolio)
        self.venue.close()
        self.journal.close()
        event(
            log,
            logging.INFO,
            "trader_stopped",
            "trader stopped; state saved",
            iterations=self.iterations,
        )

    def _fresh(self, step: HourBars, now: datetime) -> bool:
        # Only a bar that closed since the loop started, and only the newest one, is traded; a
        # backlog after a pause or a restart is history.
        close = step[0] + BAR_SECONDS
        return close > self.started and close + BAR_SECONDS >= now.timestamp()

    def _step(self, step: HourBars, phase: WindowPhase, tradeable: bool) -> None:
        t, bars = step
        close = t + BAR_SECONDS
        self._hold.mark(bars)
        pipeline = self.engine.pipeline
        if tradeable:
            # The engine checks the window itself, and the risk manager checks it again per order.
            report = self.engine.step(close, bars)
            self._record(report)
            regime, active, views = report.regime, report.active, report.views
        else:
            # The window, its transition, or history: features and regime move, nothing is decided.
            views = pipeline.warm_up(bars)
            regime = pipeline.regime.regime
            active = pipeline.selector.select(regime, pipeline.regime.recovering).active
        if self.shadow is not None:
            self.shadow.step(close, bars, tradeable)
        if close > self.started:
            self.journal.observe(
                close,
                views,
                regime=regime.value,
                active=active,
                equity=self.portfolio.equity(),
                phase=phase.value,
                model_id=self.models.model_id,
            )

    def _record(self, report: StepReport) -> None:
        m = self.metrics
        for booked in report.fills:
            self.journal.trade(booked, self.config.env_id)
            m.count_order(booked.fill.side.value, "filled")
        if report.fills:
            # Money moved: the book and the venue account go to disk before anything else happens.
            self.journal.save_positions(self.portfolio)
            self.venue.save()
        reasons = [d.reason.value for _, d in report.denials]
        reasons += [VENUE_REJECTED] * len(report.rejected)
        for reason in reasons:
            self._reject(reason, 1)
        for cause, n in report.skipped.items():
            self._reject(cause, n)

    def _reject(self, reason: str, n: int) -> None:
        self.metrics.count_rejection(reason, n)
        self.rejections[reason] = self.rejections.get(reason, 0) + n

    def _export(self, window: WindowStatus, seconds: float) -> None:
        m, portfolio, state = self.metrics, self.portfolio, self.risk.state
        pipeline = self.engine.pipeline
        equity = portfolio.equity()
        m.equity.set(equity)
        m.hold_equity.set(self._hold.equity())
        self._peak_equity = max(self._peak_equity, equity)
        m.drawdown.set(1.0 - equity / self._peak_equity if self._peak_equity > 0 else 0.0)
        m.pnl.set(equity - portfolio.starting_equity_usd)
        m.daily_pnl.set(equity - state.day_start_equity if state.day_start_equity else 0.0)
        m.set_positions({s: portfolio.exposure(s) for s in portfolio.positions})
        # As the risk manager counts it: open entries' unfilled rest is risk already taken.
        heat = portfolio.open_risk() + self.risk.committed_risk()
        m.heat.set(heat / equity if equity > 0 else 0.0)
        m.kill_switch.set(1.0 if state.kill_switch else 0.0)
        m.trades_today.set(state.trades_today)
        m.set_regime(pipeline.regime.regime)
        m.regime_changes.inc(pipeline.regime.changes - self._regime_changes)
        self._regime_changes = pipeline.regime.changes
        m.set_active(
            pipeline.selector.select(pipeline.regime.regime, pipeline.regime.recovering).active
        )
        m.set_model(self.models.model_id)
        m.model_refusals.inc(self.models.refusals - self._refusals)
        self._refusals = self.models.refusals
        m.model_refused.set(1.0 if self.models.refused else 0.0)
        m.set_phase(window.phase)
        m.next_transition.set(window.next_transition.timestamp())
        m.loop_interval.set(self.interval)
        m.last_decision.set(self.clock.now().timestamp())
        m.loop_latency.observe(seconds)
        if self.shadow is not None:
            labels = {"env": self.config.env_id, "model": self.shadow.model_id}
            m.shadow_equity.labels(**labels).set(self.shadow.equity())
            m.shadow_pnl.labels(**labels).set(self.shadow.equity() - self.shadow.starting_equity)
