"""The decision pipeline: bars -> features -> regime -> strategies -> model -> sized proposals."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from krakenops.core.config import RiskLimits
from krakenops.core.features import FeatureState
from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.market import Bar, KnownFeatures
from krakenops.trader.model import ConfidenceModel, model_inputs
from krakenops.trader.portfolio import Portfolio
from krakenops.trader.regime import MarketState, Regime, RegimeEngine, market_state
from krakenops.trader.risk import CASH_MARGIN, Proposal, entry_quantity
from krakenops.trader.strategies import (
    Selection,
    Signal,
    SignalKind,
    Step,
    Strategy,
    StrategySelector,
    SymbolView,
    default_strategies,
)

__all__ = [
    "Decision",
    "DecisionPipeline",
    "PipelineSettings",
    "RegimeSource",
    "SignalInputs",
]

# With no approved model every signal gets this confidence: mid-way, so rules-only trades are
# sized between the smallest and the largest multiplier rather than at full size.
RULES_ONLY_CONFIDENCE = 0.5
SIZE_HAIRCUT = 0.995


@dataclass(frozen=True)
class PipelineSettings:
    min_confidence: float = 0.45  # a model that expects the trade to lose more often vetoes it
    min_notional_usd: float = 10.0  # Kraken's minimum order is around this; smaller is noise


@dataclass(frozen=True, slots=True)
class SignalInputs:
    """What a proposal was decided on: the model input row and the confidence it got."""

    signal: Signal
    inputs: npt.NDArray[np.float64]
    confidence: float


@dataclass(slots=True)
class Decision:
    """One step's output before risk: proposals in the order they should be tried."""

    time: int
    regime: Regime
    selection: Selection
    proposals: list[Proposal] = field(default_factory=list)
    inputs: dict[str, SignalInputs] = field(default_factory=dict)  # by client_order_id
    skipped: dict[str, int] = field(default_factory=dict)  # signals dropped before risk, by cause


class RegimeSource(Protocol):
    """The regime engine as the pipeline reads it: fed one market reading a step, unless it
    knows its answers already."""

    # False for a source that knows its answers already (a replay's): no reading is taken.
    reads_market: bool

    @property
    def regime(self) -> Regime: ...

    @property
    def recovering(self) -> bool: ...

    @property
    def changes(self) -> int: ...

    def update(self, state: MarketState) -> Regime: ...


class DecisionPipeline:
    """Holds the per-symbol features and the regime; turns each step's bars into proposals."""

    def __init__(
        self,
        symbols: tuple[str, ...],
        limits: RiskLimits,
        portfolio: Portfolio,
        model: Callable[[], ConfidenceModel | None],
        *,
        settings: PipelineSettings | None = None,
        strategies: Mapping[str, Strategy] | None = None,
        selector: StrategySelector | None = None,
        regime: RegimeSource | None = None,
    ) -> None:
        self.symbols = symbols
        self.limits = limits
        self.portfolio = portfolio
        self.model = model
        self.settings = settings or PipelineSettings()
        self.strategies = dict(strategies or default_strategies())
        self.selector = selector or StrategySelector(
            eligible={name: s.regimes for name, s in self.strategies.items()}
        )
        self.regime: RegimeSource = regime or RegimeEngine()
        self.features = {s: FeatureState() for s in symbols}

    def update(
        self, bars: Mapping[str, Bar], known: KnownFeatures | None = None
    ) -> dict[str, SymbolView]:
        """Fold in this step's bars (or take their `known` features); views of warm symbols."""
        if known is not None:
            return self._known(bars, known)
        views: dict[str, SymbolView] = {}
        states, mark = self.features, self.portfolio.mark
        for symbol, bar in bars.items():
            state = states.get(symbol)
            if state is None:
                continue
            close = bar.close
            features = state.fold(bar.high, bar.low, close, bar.volume)
            mark(symbol, close)
            if state.warm:
                views[symbol] = SymbolView(symbol, bar.close_time, close, features, True)
        return views

    def _known(self, bars: Mapping[str, Bar], known: KnownFeatures) -> dict[str, SymbolView]:
        views: dict[str, SymbolView] = {}
        mark = self.portfolio.mark
        for symbol, bar in bars.items():
            if symbol not in self.features:
                continue
            mark(symbol, bar.close)
            features, warm = known[symbol]
            if warm:
                views[symbol] = SymbolView(symbol, bar.close_time, bar.close, features, True)
        return views

    def warm_up(
        self, bars: Mapping[str, Bar], known: KnownFeatures | None = None
    ) -> dict[str, SymbolView]:
        """Fold in bars without deciding (history, downtime): features and regime still move."""
        views = self.update(bars, known)
        if views and self.regime.reads_market:
            self.regime.update(market_state([v.features for v in views.values()]))
        return views

    def decide(self, time: int, views: Mapping[str, SymbolView]) -> Decision:
        regime_engine = self.regime
        if views and regime_engine.reads_market:
            regime_engine.update(market_state([v.features for v in views.values()]))
        regime, recovering = regime_engine.regime, regime_engine.recovering
        selection = self.selector.select(regime, recovering)
        step = Step(time, regime, recovering, views, self.portfolio)
        decision = Decision(time, regime, selection, [], {}, {})
        if self.portfolio.positions:
            self._exits(step, decision)
        signals: list[Signal] = []
        strategies = self.strategies
        for name in selection.active:
            signals += strategies[name].entries(step)
        if not signals:
            return decision  # most bars: nothing to reduce, nothing to enter
        entries = [s for s in signals if s.kind is SignalKind.ENTER]
        for signal in signals:
            if signal.kind is not SignalKind.ENTER:
                self._reduce(step, signal, decision)
        if entries:
            self._enter(step, entries, selection, decision)
        return decision

    def _exits(self, step: Step, decision: Decision) -> None:
        for symbol, position in list(self.portfolio.positions.items()):
            market = step.markets.get(symbol)
            if market is None:
                continue
            owner = self.strategies.get(position.strategy)
            if owner is None:
                if position.quantity * market.close < self.settings.min_notional_usd:
                    continue  # dust the venue would refuse to sell: keep counting, stop asking
                # No rule opened it (a fill found at the venue after a restart, or a strategy
                # since retired): none would ever close it, so it is sold now.
                signal: Signal | None = Signal(
                    position.strategy, symbol, SignalKind.EXIT, reason="no rule owns it"
                )
            else:
                signal = owner.exit(position, market, step)
            if signal is not None:
                self._reduce(step, signal, decision)

    def _reduce(self, step: Step, signal: Signal, decision: Decision) -> None:
        symbol = signal.symbol
        position = self.portfolio.positions.get(symbol)
        market = step.markets.get(symbol)
        if position is None or market is None:
            return
        for proposal in decision.proposals:
            if proposal.intent.symbol == symbol:
                return  # one sale per symbol per step: the first rule to ask decides
        quantity = position.quantity
        if signal.kind is SignalKind.REDUCE:
            part = quantity * signal.fraction
            # Selling a fraction that leaves dust behind is selling everything.
            if (quantity - part) * market.close >= self.settings.min_notional_usd:
                quantity = part
        intent = _intent(decision, signal, quantity, market.close, 1.0, reduce_only=True)
        decision.proposals.append(Proposal(intent, signal_id=position.signal_id))

    def _enter(
        self, step: Step, entries: list[Signal], selection: Selection, decision: Decision
    ) -> None:
        model = self.model()
        # Rules only, a row is needed just for the record of each entry that is proposed.
        rows: npt.NDArray[np.float64] | None = None
        confidences: list[float] | None = None
        if model is not None:
            rows = np.stack([_inputs(step, s) for s in entries])
            confidences = model.confidence(rows).tolist()
        portfolio = self.portfolio
        equity = portfolio.equity()
        cash = portfolio.cash_usd
        taken: set[str] = set(portfolio.positions)
        exposure = dict.fromkeys(selection.active, 0.0)
        for position in portfolio.positions.values():
            if position.strategy in exposure:
                exposure[position.strategy] += portfolio.exposure(position.symbol)
        for index, signal in enumerate(entries):
            confidence = RULES_ONLY_CONFIDENCE if confidences is None else confidences[index]
            if signal.symbol in taken:
                continue
            if model is not None and confidence < self.settings.min_confidence:
                _count(decision.skipped, "low_confidence")
                continue
            price = step.markets[signal.symbol].close
            # A hair under budget: fills before this one move equity by their fees.
            quantity = SIZE_HAIRCUT * entry_quantity(
                self.limits, equity, price, signal.stop_price, confidence
            )
            room = selection.allocations[signal.strategy] * equity - exposure[signal.strategy]
            quantity = min(quantity, room / price, cash / (price * (1 + CASH_MARGIN) ** 2))
            if not math.isfinite(quantity) or quantity * price < self.settings.min_notional_usd:
                _count(decision.skipped, "below_min_notional")
                continue
            intent = _intent(decision, signal, quantity, price, confidence, reduce_only=False)
            decision.proposals.append(Proposal(intent, signal.stop_price, intent.client_order_id))
            row = _inputs(step, signal) if rows is None else rows[index]
            decision.inputs[intent.client_order_id] = SignalInputs(signal, row, confidence)
            taken.add(signal.symbol)
            exposure[signal.strategy] += quantity * price
            cash -= quantity * price * (1 + CASH_MARGIN)


def _intent(
    decision: Decision,
    signal: Signal,
    quantity: float,
    price: float,
    confidence: float,
    *,
    reduce_only: bool,
) -> OrderIntent:
    # Deterministic from the decision, so a step decided twice asks the venue for the same order.
    number = len(decision.proposals)
    return OrderIntent(
        client_order_id=f"ko-{decision.time}-{signal.symbol}-{signal.kind.value}-{number}",
        symbol=signal.symbol,
        side=signal.side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        reference_price=price,
        strategy=signal.strategy,
        confidence=confidence,
        reduce_only=reduce_only,
    )


def _inputs(step: Step, signal: Signal) -> npt.NDArray[np.float64]:
    return model_inputs(step.markets[signal.symbol].features, signal.strategy, Side.BUY)


def _count(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1
