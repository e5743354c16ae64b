"""The decision pipeline: confidence from the model, sizing by risk and allocation, exits first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from krakenops.core.config import RiskLimits
from krakenops.trader.execution.orders import Side
from krakenops.trader.model import MODEL_INPUT_NAMES
from krakenops.trader.pipeline import RULES_ONLY_CONFIDENCE, DecisionPipeline
from krakenops.trader.portfolio import Portfolio, Position
from krakenops.trader.regime import Regime, RegimeEngine
from krakenops.trader.strategies import MeanReversion, StrategySelector
from tests.trader.strategies.markets import NOW, Features, view

LIMITS = RiskLimits()


@dataclass
class FixedModel:
    model_id: str
    value: float
    rows: int = 0

    def confidence(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        assert rows.shape[1] == len(MODEL_INPUT_NAMES)
        self.rows += rows.shape[0]
        return np.full(rows.shape[0], self.value)


def pipeline(
    portfolio: Portfolio, model: FixedModel | None = None, selector: StrategySelector | None = None
) -> DecisionPipeline:
    regime = RegimeEngine()
    regime.regime = Regime.NEUTRAL
    return DecisionPipeline(
        ("BTC", "ETH"), LIMITS, portfolio, lambda: model, selector=selector, regime=regime
    )


STRETCHED: Features = {"zscore_48": -3.5}


def test_rules_only_sizes_entries_at_the_middle_multiplier():
    portfolio = Portfolio(10_000.0)
    decision = pipeline(portfolio).decide(NOW, {"ETH": view(**STRETCHED)})
    [proposal] = decision.proposals
    assert proposal.intent.side is Side.BUY and proposal.intent.confidence == RULES_ONLY_CONFIDENCE
    budget = 10_000 * 0.02 * 0.75 * 0.995
    assert proposal.risk_usd == pytest.approx(
        min(budget, 0.5 * 10_000 / 2000 * (2000 - proposal.stop_price))
    )


def test_the_model_scores_every_entry_and_can_veto_it():
    portfolio = Portfolio(10_000.0)
    doubtful = FixedModel("model_x", 0.2)
    decision = pipeline(portfolio, doubtful).decide(NOW, {"ETH": view(**STRETCHED)})
    assert (
        decision.proposals == []
        and decision.skipped == {"low_confidence": 1}
        and doubtful.rows == 1
    )
    sure = pipeline(portfolio, FixedModel("model_y", 1.0)).decide(NOW, {"ETH": view(**STRETCHED)})
    assert sure.proposals[0].intent.confidence == 1.0
    assert sure.inputs[sure.proposals[0].intent.client_order_id].inputs.shape == (
        len(MODEL_INPUT_NAMES),
    )


def test_a_strategy_holds_no_more_than_its_capital_share():
    portfolio = Portfolio(10_000.0)
    decision = pipeline(portfolio).decide(
        NOW, {"ETH": view(close=2000.0, range_24=0.001, **STRETCHED)}
    )
    [proposal] = decision.proposals
    share = decision.selection.allocations[MeanReversion.name]
    assert proposal.intent.quantity * 2000.0 == pytest.approx(share * 10_000.0)


def test_an_exit_is_proposed_before_entries_and_once_per_symbol():
    portfolio = Portfolio(10_000.0)
    portfolio.positions["ETH"] = Position(
        "ETH", "mean_reversion", 1.0, 2000.0, 1950.0, NOW - 3600, 2000.0, 2000.0, 2000.0
    )
    # Mean reversion, asked first, enters stretched BTC and stops ETH out; the allocator would
    # sell half of ETH in the same step.
    both = StrategySelector(table={"NEUTRAL": {"mean_reversion": 0.5, "stable_allocator": 0.5}})
    decision = pipeline(portfolio, selector=both).decide(
        NOW, {"BTC": view("BTC", **STRETCHED), "ETH": view(close=1900.0, **STRETCHED)}
    )
    sale, entry = decision.proposals
    assert (sale.intent.symbol, entry.intent.symbol) == ("ETH", "BTC")
    assert sale.intent.side is Side.SELL and sale.intent.reduce_only and sale.intent.quantity == 1.0
    assert entry.intent.side is Side.BUY and entry.intent.strategy == "mean_reversion"


def test_client_order_ids_follow_from_the_decision():
    first = pipeline(Portfolio(10_000.0)).decide(NOW, {"ETH": view(**STRETCHED)})
    second = pipeline(Portfolio(10_000.0)).decide(NOW, {"ETH": view(**STRETCHED)})
    assert [p.intent.client_order_id for p in first.proposals] == [
        p.intent.client_order_id for p in second.proposals
    ]
