"""The trading engine: one step of pipeline -> risk -> execution client, shared by every mode."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from krakenops.core.jsonlog import event
from krakenops.trader.orders import ExecutionClient, Fill, OrderResult, OrderStatus
from krakenops.trader.pipeline import Bar, DecisionPipeline, KnownFeatures, SignalInputs
from krakenops.trader.portfolio import ClosedTrade, Portfolio
from krakenops.trader.regime import Regime
from krakenops.trader.risk import Denial, Proposal, RiskManager
from krakenops.trader.strategies import SymbolView

__all__ = ["BookedFill", "StepReport", "TradingEngine"]

log = logging.getLogger(__name__)

VENUE_REJECTED = "venue_rejected"


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
    ) -> None:
        self.pipeline = pipeline
        self.risk = risk
        self.client = client
        self.portfolio = portfolio
        self.log_decisions = log_decisions
        self._resting: dict[str, Proposal] = {}

    @property
    def resting(self) -> bool:
        """Whether an order of this engine rests at the venue, waiting for a bar to fill it."""
        return bool(self._resting)

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
        if when is None:
            when = datetime.fromtimestamp(time, UTC)
        on_bar = client.on_bar
        for symbol, bar in bars.items():
            for fill in on_bar(symbol, when, bar.high, bar.low, bar.close):
                self._book(fill, self._resting.pop(fill.client_order_id, None), None, report)
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
            if result.status is OrderStatus.OPEN:
                self._resting[proposal.intent.client_order_id] = proposal
            signal = decision.inputs.get(proposal.intent.client_order_id)
            for fill in result.fills:
                self._book(fill, proposal, signal, report)
        if decision.proposals:
            # Equity moves only with marks and fills: without an order it is what was observed.
            risk.observe_equity()
        report.equity = self.portfolio.equity()
        return report

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
        if position is not None and strategy == "defensive_hedge":
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
