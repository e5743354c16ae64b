"""The trading engine: one step of pipeline -> risk -> execution client, shared by every mode."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.jsonlog import event
from krakenops.trader.execution.orders import (
    ExecutionClient,
    Fill,
    OrderIntent,
    OrderResult,
    OrderStatus,
    OrderType,
    Side,
)
from krakenops.trader.market import Bar, KnownFeatures
from krakenops.trader.model import ConfidenceModel
from krakenops.trader.pipeline import DecisionPipeline, RegimeSource, SignalInputs
from krakenops.trader.portfolio import ClosedTrade, Portfolio
from krakenops.trader.regime import Regime
from krakenops.trader.resting import RestingEntries
from krakenops.trader.risk import Denial, Proposal, RiskManager
from krakenops.trader.strategies import Strategy, StrategySelector, SymbolView

__all__ = ["BookedFill", "RestingOrder", "StepReport", "TradingEngine", "build_engine"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BookedFill:
    """A fill with what the trader knew when it asked for it."""

    fill: Fill
    strategy: str
    opens: bool
    signal: SignalInputs | None  # the decision behind an entry


@dataclass(slots=True)
class StepReport:
    time: int
    regime: Regime
    active: tuple[str, ...]
    equity: float
    fills: list[BookedFill] = field(default_factory=list)
    closed: list[ClosedTrade] = field(default_factory=list)
    denials: list[tuple[Proposal, Denial]] = field(default_factory=list)
    rejected: list[OrderResult] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    views: Mapping[str, SymbolView] = field(default_factory=dict)  # the markets it decided on
    paused: bool = False  # in the window or its transition: read, not decided


@dataclass(slots=True)
class RestingOrder:
    """An accepted order the venue has not finished, and which of its fills are booked."""

    proposal: Proposal
    booked: set[str]  # trade ids


class TradingEngine:
    """Strategies propose, the risk manager may deny, the execution client fills; nothing else.

    The client is whatever venue was built at start-up (the paper simulator or Kraken): this
    class never asks which.
    """

    def __init__(
        self,
        pipeline: DecisionPipeline,
        risk: RiskManager,
        client: ExecutionClient,
        portfolio: Portfolio,
        *,
        log_decisions: bool = True,
        entries: RestingEntries | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.risk = risk
        # Kept on disk by a trading loop (a replay has no restart to survive).
        self.entries = entries
        self.client = client
        self.portfolio = portfolio
        self.log_decisions = log_decisions
        self._resting: dict[str, RestingOrder] = {}

    @property
    def resting(self) -> bool:
        """Whether an order of this engine rests at the venue, waiting for a bar to fill it."""
        return bool(self._resting)

    def adopt(self, orders: Iterable[OrderResult]) -> list[str]:
        """Rest the orders a restart found open at the venue; return their client order ids.

        What they filled so far is in the book already (booked before the restart, or taken from
        the venue's balances at start-up); their rest counts from now on, as if this engine had
        placed them.
        """
        adopted: list[str] = []
        for order in orders:
            if order.status is not OrderStatus.OPEN or order.client_order_id in self._resting:
                continue
            proposal = self._proposal_of(order)
            booked = {fill.trade_id for fill in order.fills}
            self._resting[order.client_order_id] = RestingOrder(proposal, booked)
            self.risk.commit(proposal, order.filled_quantity)
            adopted.append(order.client_order_id)
        return adopted

    def _proposal_of(self, order: OrderResult) -> Proposal:
        """What an open order from before a restart stood for, as far as the book can tell.

        An entry that began the position of its symbol (its signal id is the order's) fills under
        that position's strategy and stop. Any other entry has no stop known: all it costs counts
        as risk, and without any price known it counts as unbounded (no entry passes until the
        venue finishes it).
        """
        portfolio, symbol = self.portfolio, order.symbol
        price = order.limit_price or order.average_price or portfolio.marks.get(symbol) or math.inf
        if order.side is Side.SELL:
            return Proposal(_intent_of(order, Side.SELL, price))
        recorded = self.entries.get(order.client_order_id) if self.entries else None
        if recorded is not None and 0 < recorded.stop_price < price:
            # Written when the venue accepted it: owner and stop survive a restart before any fill.
            intent = _intent_of(order, Side.BUY, price, recorded.strategy)
            return Proposal(intent, recorded.stop_price, recorded.signal_id)
        position = portfolio.positions.get(symbol)
        if (
            position is None
            or position.signal_id != order.client_order_id
            or not 0 < position.stop_price < price
        ):
            return Proposal(_intent_of(order, Side.BUY, price))
        intent = _intent_of(order, Side.BUY, price, position.strategy)
        return Proposal(intent, position.stop_price, order.client_order_id)

    def step(
        self,
        time: int,
        bars: Mapping[str, Bar],
        when: datetime | None = None,
        known: KnownFeatures | None = None,
    ) -> StepReport:
        """Decide and act on the bars that closed at `time` (Unix seconds; `when` if known).

        A replay that computed the features ahead passes them as `known`.
        """
        # Runs once per bar in a backtest: attributes are bound to locals once.
        pipeline, risk, client = self.pipeline, self.risk, self.client
        report = StepReport(time, pipeline.regime.regime, (), 0.0, [], [], [], [], {}, {})
        self._collect_fills(bars, when or datetime.fromtimestamp(time, UTC), report)
        if not risk.accepting_orders():
            # The window or its transition: the market is still read, nothing is decided.
            report.views = pipeline.warm_up(bars, known)
            report.regime = pipeline.regime.regime
            report.equity = self.portfolio.equity()
            report.paused = True
            return report
        views = pipeline.update(bars, known)
        report.views = views
        risk.roll_day()
        risk.observe_equity()
        decision = pipeline.decide(time, views)
        report.regime, report.active, report.skipped = (
            decision.regime,
            decision.selection.active,
            decision.skipped,
        )
        for proposal in decision.proposals:
            denial = risk.check(proposal)
            if denial is not None:
                report.denials.append((proposal, denial))
                if self.log_decisions:
                    _log_denial(proposal, denial)
                continue
            result = client.submit(proposal.intent)
            risk.record_order(proposal)
            if result.status is OrderStatus.REJECTED:
                report.rejected.append(result)
                if self.log_decisions:
                    event(
                        log,
                        logging.WARNING,
                        "order_rejected_by_venue",
                        f"{proposal.intent.client_order_id} rejected by {self.client.venue}: {result.reason}",
                        client_order_id=proposal.intent.client_order_id,
                        reason=result.reason,
                    )
                continue
            signal = decision.inputs.get(proposal.intent.client_order_id)
            for fill in result.fills:
                self._book(fill, proposal, signal, report)
            if result.status is OrderStatus.OPEN:
                booked = {fill.trade_id for fill in result.fills}
                self._resting[proposal.intent.client_order_id] = RestingOrder(proposal, booked)
                if self.entries is not None and proposal.opens_risk:
                    self.entries.remember(proposal)
                # The next proposal of this step must see what the rest of this one commits.
                risk.commit(proposal, result.filled_quantity)
        if decision.proposals:
            # Equity moves only with marks and fills: without an order it is what was observed.
            risk.observe_equity()
        report.equity = self.portfolio.equity()
        return report

    def _collect_fills(self, bars: Mapping[str, Bar], when: datetime, report: StepReport) -> None:
        """Book what the venue filled since the last step; a finished order rests no more."""
        on_bar = self.client.on_bar
        for symbol, bar in bars.items():
            for fill in on_bar(symbol, when, bar.high, bar.low, bar.close):
                self._book_later(fill, report)
        if self._resting:
            self._follow_resting(report)

    def _book_later(self, fill: Fill, report: StepReport) -> None:
        """Book a fill that came after its order was accepted (or from before a restart)."""
        resting = self._resting.get(fill.client_order_id)
        if resting is None:
            self._book(fill, None, None, report)
        elif fill.trade_id not in resting.booked:
            resting.booked.add(fill.trade_id)
            self._book(fill, resting.proposal, None, report)

    def _follow_resting(self, report: StepReport) -> None:
        """Ask the venue what each resting order has filled and whether it is still open."""
        for client_order_id, resting in list(self._resting.items()):
            result = self.client.query(client_order_id)
            if result is None:
                status, filled = OrderStatus.REJECTED, 0.0
            else:
                status, filled = result.status, result.filled_quantity
                # A fill the venue recorded while answering this query has not come by `on_bar`.
                for fill in result.fills:
                    self._book_later(fill, report)
            if status is OrderStatus.OPEN:
                self.risk.commit(resting.proposal, filled)
            else:
                del self._resting[client_order_id]
                self.risk.release(client_order_id)
                if self.entries is not None:
                    self.entries.forget(client_order_id)

    def _book(
        self, fill: Fill, proposal: Proposal | None, signal: SignalInputs | None, report: StepReport
    ) -> None:
        intent = proposal.intent if proposal is not None else None
        strategy = intent.strategy if intent is not None else ""
        closed = self.portfolio.apply(
            fill,
            strategy=strategy,
            stop_price=proposal.stop_price if proposal is not None else 0.0,
            signal_id=proposal.signal_id if proposal is not None else "",
        )
        opens = proposal is not None and proposal.opens_risk
        report.fills.append(BookedFill(fill, strategy, opens, signal))
        position = self.portfolio.positions.get(fill.symbol)
        owner = self.pipeline.strategies.get(strategy)
        if position is not None and owner is not None and owner.hedges:
            position.hedged_at = report.time
        if closed is not None:
            report.closed.append(closed)
            self.risk.record_closed(closed)
        if self.log_decisions:
            event(
                log,
                logging.INFO,
                "trade",
                f"{fill.side.value} {fill.quantity:.6g} {fill.symbol} @ {fill.price:.2f} ({strategy or 'venue'})",
                symbol=fill.symbol,
                side=fill.side.value,
                quantity=fill.quantity,
                price=fill.price,
                fee_usd=fill.fee_usd,
                strategy=strategy,
                client_order_id=fill.client_order_id,
            )


def _intent_of(order: OrderResult, side: Side, price: float, strategy: str = "") -> OrderIntent:
    """The intent behind an order the venue reports, at `price` for the risk manager."""
    return OrderIntent(
        order.client_order_id,
        order.symbol,
        side,
        order.quantity,
        OrderType.MARKET if order.limit_price is None else OrderType.LIMIT,
        price,
        order.limit_price,
        strategy=strategy,
        reduce_only=side is Side.SELL,
    )


def _log_denial(proposal: Proposal, denial: Denial) -> None:
    intent = proposal.intent
    event(
        log,
        logging.WARNING,
        "risk_rejected",
        f"{intent.side.value} {intent.symbol} ({intent.strategy}) denied: {denial.reason.value}: {denial.detail}",
        reason=denial.reason.value,
        symbol=intent.symbol,
        strategy=intent.strategy,
        client_order_id=intent.client_order_id,
    )


def build_engine(
    config: EnvironmentConfig,
    clock: Clock,
    client: ExecutionClient,
    model: Callable[[], ConfidenceModel | None],
    *,
    symbols: tuple[str, ...] | None = None,
    portfolio: Portfolio | None = None,
    risk_state: Path | None = None,
    entries: RestingEntries | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    selector: StrategySelector | None = None,
    regime: RegimeSource | None = None,
    log_events: bool = True,
) -> TradingEngine:
    """The engine of every mode, trading on `client` for `portfolio` (else a fresh book holding
    the venue's USD) with its risk state at `risk_state` (else in memory). `symbols` default to
    the universe; `strategies`, `selector` and `regime` replace the default policy's. With
    `log_events` False, as in a replay, kill-switch trips are counted and nothing is logged."""
    spec = config.spec
    portfolio = portfolio or Portfolio(client.balances().get("USD", 0.0))
    window = spec.downtime.window()
    risk = RiskManager(spec.risk, window, clock, portfolio, risk_state, log_events=log_events)
    pipeline = DecisionPipeline(
        symbols or spec.universe.symbols,
        spec.risk,
        portfolio,
        model,
        strategies=strategies,
        selector=selector,
        regime=regime,
    )
    return TradingEngine(
        pipeline, risk, client, portfolio, log_decisions=log_events, entries=entries
    )
