"""A pipeline that proposes what the test scripted, and the orders such scripts are made of."""

from __future__ import annotations

from collections.abc import Mapping

from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.market import Bar, KnownFeatures
from krakenops.trader.pipeline import Decision
from krakenops.trader.regime import Regime
from krakenops.trader.risk import Proposal
from krakenops.trader.strategies import Strategy, SymbolView
from krakenops.trader.strategies.selector import Selection


class RegimeAt:
    regime = Regime.RISK_ON
    recovering = False


class ScriptedPipeline:
    """Stands in for the strategies: each step proposes the next list of orders."""

    def __init__(self, steps: list[list[Proposal]]) -> None:
        self.steps, self.regime = steps, RegimeAt()
        self.strategies: dict[str, Strategy] = {}  # none of them hedges

    def update(
        self, bars: Mapping[str, Bar], known: KnownFeatures | None = None
    ) -> dict[str, SymbolView]:
        return {}

    def decide(self, time: int, views: Mapping[str, SymbolView]) -> Decision:
        selection = Selection(Regime.RISK_ON, {"trend_follower": 1.0})
        return Decision(time, Regime.RISK_ON, selection, self.steps.pop(0))


def entry(client_order_id: str, symbol: str, price: float, share: float, equity: float) -> Proposal:
    """An entry at market that risks `share` of equity with its stop 10% under the price."""
    stop = price * 0.9
    quantity = equity * share / (price - stop)
    intent = OrderIntent(
        client_order_id, symbol, Side.BUY, quantity, OrderType.MARKET, price,
        strategy="trend_follower",
    )  # fmt: skip
    return Proposal(intent, stop, client_order_id)


def exit_(
    client_order_id: str, symbol: str, quantity: float, price: float, limit: float | None = None
) -> Proposal:
    """A sale of `quantity` at market, or at `limit` if one is given."""
    order_type = OrderType.MARKET if limit is None else OrderType.LIMIT
    intent = OrderIntent(
        client_order_id, symbol, Side.SELL, quantity, order_type, price, limit,
        strategy="trend_follower", reduce_only=True,
    )  # fmt: skip
    return Proposal(intent)
